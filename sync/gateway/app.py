"""The reference gateway's HTTP API: idempotent submission and lookup of applications."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from sync.gateway.store import TOKYO, GatewayStore, ReceiveOutcome
from sync.protocol import (
    API_PREFIX,
    IDEMPOTENCY_KEY_HEADER,
    REPLAYED_HEADER,
    SUPPORTED_SCHEMA_VERSIONS,
    ApiError,
    ApplicationPayload,
    EnvelopeMetadata,
    ErrorCode,
    ErrorEnvelope,
    Link,
    Links,
    Receipt,
    SuccessEnvelope,
)

Clock = Callable[[], datetime]

# Staff-facing texts. They describe the rule that failed and never quote the submitted value.
_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.REQUIRED: "必須項目が入力されていません。",
    ErrorCode.CHARACTER_TYPE: "値の形式（文字種・型）が正しくありません。",
    ErrorCode.LENGTH: "文字数・桁数・件数が許容範囲外です。",
    ErrorCode.CROSS_FIELD: "項目間の整合性が取れていません。",
    ErrorCode.UNSUPPORTED_SCHEMA_VERSION: "対応していないスキーマバージョンです。",
    ErrorCode.IDEMPOTENCY_CONFLICT: "同じ申請IDで内容の異なる申請が既に受け付けられています。",
}

_LENGTH_ERRORS = frozenset({"string_too_short", "string_too_long", "too_short", "too_long"})

_BAD_REQUEST = "リクエストの内容に誤りがあります。errors を確認してください。"
_KEY_REUSED = "この申請IDは別の内容で使用済みです。新しい申請IDで送信してください。"
_NOT_FOUND = "指定されたリソースはありません。"
_NOT_PROCESSED = "要求を処理できません。"

_STATUS_TITLES: dict[int, str] = {
    400: "入力エラー",
    404: "見つかりません",
    405: "許可されていない操作です",
    409: "申請IDの重複",
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _json(model: SuccessEnvelope | ErrorEnvelope) -> str:
    return model.model_dump_json(by_alias=True)


def _links(href: str) -> Links:
    return Links(self_=Link(href=href))


def _error_response(
    status: int,
    href: str,
    detail: str,
    errors: Sequence[ApiError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    envelope = ErrorEnvelope(
        title=_STATUS_TITLES.get(status, "エラー"),
        detail=detail,
        links=_links(href),
        errors=list(errors),
    )
    return Response(
        content=_json(envelope),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def _api_error(code: ErrorCode, field: str | None) -> ApiError:
    return ApiError(code=code.value, message=_MESSAGES[code], field=field)


def _json_pointer(parts: Sequence[int | str]) -> str | None:
    if not parts:
        return None
    # RFC 6901 escaping, so an item id containing "/" or "~" cannot break the pointer.
    tokens = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return "/" + "/".join(tokens)


def _code_for(error: dict[str, Any]) -> ErrorCode:
    kind = str(error.get("type", ""))
    if kind == "missing":
        return ErrorCode.REQUIRED
    if kind in _LENGTH_ERRORS:
        # An empty required value (min length 1) is reported as missing, as the standard does.
        if kind.endswith("too_short") and error.get("ctx", {}).get("min_length") == 1:
            return ErrorCode.REQUIRED
        return ErrorCode.LENGTH
    return ErrorCode.CHARACTER_TYPE


def _validation_errors(errors: Sequence[Any]) -> list[ApiError]:
    result: list[ApiError] = []
    for error in errors:
        loc: list[int | str] = list(error.get("loc", ()))
        if loc and loc[-1] == "[key]":
            # pydantic marks a bad dict key with a "[key]" step; the pointer names the key.
            loc.pop()
        where = loc[0] if loc else "body"
        # Header, query and path parameters are named as they are, not as JSON pointers.
        name = str(loc[1]) if len(loc) > 1 else None
        field = _json_pointer(loc[1:]) if where == "body" else name
        result.append(_api_error(_code_for(error), field))
    return result


def _missing_key(request: Request) -> bool:
    return not request.headers.get(IDEMPOTENCY_KEY_HEADER, "").strip()


def create_app(db_url: str, *, clock: Clock | None = None) -> FastAPI:
    """Build the gateway application on a database.

    Args:
        db_url: SQLAlchemy URL of the gateway database (created if missing).
        clock: Source of server time (aware); tests pass a fixed clock.

    Returns:
        The FastAPI application. Its store is ``app.state.store`` and is closed on shutdown.
    """
    store = GatewayStore(db_url)
    now = clock or _utc_now

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    # No interactive docs: this serves devices on a closed network, not browsers.
    app = FastAPI(title="Madoguchi gateway", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.store = store
    applications_path = f"{API_PREFIX}/applications"

    @app.exception_handler(RequestValidationError)
    async def _on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        # The standard answers bad input with 400 and E000x codes, not FastAPI's 422, and the
        # default body would echo the submitted values (personal data) back and into logs.
        errors = _validation_errors(exc.errors())
        submitting = request.method == "POST" and request.url.path == applications_path
        if submitting and _missing_key(request):
            errors.insert(0, _api_error(ErrorCode.REQUIRED, IDEMPOTENCY_KEY_HEADER))
        return _error_response(400, request.url.path, _BAD_REQUEST, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = _NOT_FOUND if exc.status_code == 404 else _NOT_PROCESSED
        return _error_response(exc.status_code, request.url.path, detail, headers=exc.headers)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(applications_path, status_code=201)
    def submit_application(
        payload: ApplicationPayload,
        request: Request,
        idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_KEY_HEADER)] = None,
    ) -> Response:
        path = request.url.path
        bad_request = _BAD_REQUEST
        if not idempotency_key or not idempotency_key.strip():
            return _error_response(
                400, path, bad_request, [_api_error(ErrorCode.REQUIRED, IDEMPOTENCY_KEY_HEADER)]
            )
        if payload.metadata.schema_version not in SUPPORTED_SCHEMA_VERSIONS:
            error = _api_error(ErrorCode.UNSUPPORTED_SCHEMA_VERSION, "/metadata/schemaVersion")
            return _error_response(400, path, bad_request, [error])
        if idempotency_key.strip() != payload.metadata.application_id:
            error = _api_error(ErrorCode.CROSS_FIELD, "/metadata/applicationId")
            return _error_response(400, path, bad_request, [error])

        location = f"{applications_path}/{payload.metadata.application_id}"

        def respond(receipt: Receipt) -> tuple[int, str]:
            envelope = SuccessEnvelope(
                metadata=EnvelopeMetadata(title="受付完了", detail="申請を受け付けました。"),
                links=_links(location),
                result=[receipt.model_dump(mode="json", by_alias=True)],
            )
            return 201, _json(envelope)

        received = store.receive(payload, received_at=now(), respond=respond)
        if received.outcome is ReceiveOutcome.CONFLICT:
            error = _api_error(ErrorCode.IDEMPOTENCY_CONFLICT, "/metadata/applicationId")
            return _error_response(409, path, _KEY_REUSED, [error])
        headers = {"Location": location}
        if received.outcome is ReceiveOutcome.REPLAYED:
            headers[REPLAYED_HEADER] = "true"
        return Response(
            content=received.response_json,
            status_code=received.response_status,
            media_type="application/json",
            headers=headers,
        )

    @app.get(f"{applications_path}/{{application_id}}")
    def get_application(application_id: str, request: Request) -> Response:
        stored = store.find(application_id)
        if stored is None:
            return _error_response(404, request.url.path, "指定された申請は見つかりません。")
        receipt = Receipt(
            application_id=stored.application_id,
            uketsuke_bango=stored.uketsuke_bango,
            received_at=stored.received_at.astimezone(TOKYO),
            status=stored.status,
        )
        envelope = SuccessEnvelope(
            metadata=EnvelopeMetadata(title="申請状況", detail="申請の受付状況です。"),
            links=_links(request.url.path),
            result=[receipt.model_dump(mode="json", by_alias=True)],
        )
        return Response(content=_json(envelope), media_type="application/json")

    return app
