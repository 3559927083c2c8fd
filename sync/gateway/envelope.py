"""The standard's JSON envelopes, and the one table of Japanese texts per error code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi.responses import Response

from sync.protocol import (
    ApiError,
    EnvelopeMetadata,
    ErrorCode,
    ErrorEnvelope,
    Link,
    Links,
    SuccessEnvelope,
)

# Texts for staff. They name the rule that failed and never quote the submitted value.
MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.REQUIRED: "必須項目が入力されていません。",
    ErrorCode.CHARACTER_TYPE: "値の形式（文字種・型）が正しくありません。",
    ErrorCode.LENGTH: "文字数・桁数・件数が許容範囲外です。",
    ErrorCode.CROSS_FIELD: "項目間の整合性が取れていません。",
    ErrorCode.UNSUPPORTED_SCHEMA_VERSION: "対応していないスキーマバージョンです。",
    ErrorCode.UNKNOWN_PROCEDURE: "手続IDまたは様式の版が登録されていません。",
    ErrorCode.ATTACHMENT_DIGEST_MISMATCH: "添付ファイルのハッシュ値が一致しません。",
    ErrorCode.INVALID_DATE: "日付、または日付と不詳フラグの組合せが正しくありません。",
    ErrorCode.INVALID_CHECK_DIGIT: "検査用数字（チェックデジット）が正しくありません。",
    ErrorCode.PROCEDURE_NOT_OFFERED: "この自治体ではこの手続を受け付けていません。",
    ErrorCode.FORBIDDEN: "この端末にはこの操作の権限がありません。",
    ErrorCode.UNAUTHENTICATED: "アクセストークンがないか、無効または期限切れです。",
    ErrorCode.IDEMPOTENCY_CONFLICT: "同じ申請IDで内容の異なる申請が既に受け付けられています。",
    ErrorCode.STATUS_CHANGE_NOT_ALLOWED: "現在の状態からはこの状態に変更できません。",
}

TITLES: dict[int, str] = {
    400: "入力エラー",
    401: "認証エラー",
    403: "権限エラー",
    404: "見つかりません",
    405: "許可されていない操作です",
    409: "競合",
    413: "サイズ超過",
    500: "サーバーエラー",
    503: "一時的に利用できません",
}

BAD_REQUEST = "リクエストの内容に誤りがあります。errors を確認してください。"
NOT_FOUND = "指定されたリソースはありません。"
NOT_PROCESSED = "要求を処理できません。"
UNAUTHENTICATED = "アクセストークンを取得し直してから再度送信してください。"
FORBIDDEN = "この端末ではこの操作を行えません。"

_LENGTH_ERRORS = frozenset({"string_too_short", "string_too_long", "too_short", "too_long"})


class EnvelopeError(Exception):
    """Raise from a route or dependency to answer with the error envelope.

    The app's exception handler renders it with ``error()``; the message of the exception
    itself carries the status only, never data.
    """

    def __init__(
        self,
        status: int,
        *,
        detail: str,
        errors: Sequence[ApiError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Describe the failure.

        Args:
            status: HTTP status.
            detail: One Japanese sentence for staff.
            errors: The envelope's ``errors`` entries.
            headers: Extra response headers (e.g. ``WWW-Authenticate``).
        """
        super().__init__(f"HTTP {status}")
        self.status = status
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})


def links(href: str, next_href: str | None = None) -> Links:
    """The ``_links`` object: ``self`` and, for a full feed page, ``next``."""
    return Links(self_=Link(href=href), next=Link(href=next_href) if next_href else None)


def success(
    result: list[Any],
    *,
    href: str,
    title: str,
    detail: str,
    status: int = 200,
    next_href: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The standard success envelope as a JSON response.

    Args:
        result: JSON-compatible items (use ``model_dump(mode="json", by_alias=True)``).
        href: The ``_links.self`` path.
        title: Japanese title.
        detail: Japanese detail sentence.
        status: HTTP status.
        next_href: ``_links.next`` when a feed page continues.
        headers: Extra response headers.

    Returns:
        The response.
    """
    envelope = SuccessEnvelope(
        metadata=EnvelopeMetadata(title=title, detail=detail),
        links=links(href, next_href),
        result=result,
    )
    # "next" appears only when there is a next page; the standard envelope has no nulls there.
    exclude = None if next_href else {"links": {"next"}}
    return json_response(envelope.model_dump_json(by_alias=True, exclude=exclude), status,
                         headers)


def error(
    status: int,
    *,
    href: str,
    detail: str,
    errors: Sequence[ApiError] = (),
    headers: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Response:
    """The standard error envelope as a JSON response.

    Args:
        status: HTTP status.
        href: The ``_links.self`` path (the request path).
        detail: One Japanese sentence for staff; never a submitted value.
        errors: Entries with codes, messages and fields.
        headers: Extra response headers.
        title: Japanese title; by default the one for the status.

    Returns:
        The response.
    """
    envelope = ErrorEnvelope(
        title=title or TITLES.get(status, "エラー"),
        detail=detail,
        links=links(href),
        errors=list(errors),
    )
    body = envelope.model_dump_json(by_alias=True, exclude={"links": {"next"}})
    return json_response(body, status, headers)


def json_response(body: str, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    """A response with a ready JSON body (stored bodies are replayed byte for byte)."""
    return Response(content=body, status_code=status, media_type="application/json",
                    headers=dict(headers) if headers else None)


def api_error(code: ErrorCode, field: str | None = None, message: str | None = None) -> ApiError:
    """One ``errors`` entry; the message defaults to the code's Japanese text."""
    return ApiError(code=code.value, message=message or MESSAGES[code], field=field)


def json_pointer(parts: Sequence[int | str]) -> str | None:
    """RFC 6901 pointer to a place in the body; None for the body itself."""
    if not parts:
        return None
    # Escaping, so an item id containing "/" or "~" cannot break the pointer.
    tokens = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return "/" + "/".join(tokens)


def _code_for(problem: Mapping[str, Any]) -> ErrorCode:
    kind = str(problem.get("type", ""))
    if kind == "missing":
        return ErrorCode.REQUIRED
    if kind in _LENGTH_ERRORS:
        # An empty required value (min length 1) is reported as missing, as the standard does.
        if kind.endswith("too_short") and problem.get("ctx", {}).get("min_length") == 1:
            return ErrorCode.REQUIRED
        return ErrorCode.LENGTH
    return ErrorCode.CHARACTER_TYPE


def validation_errors(problems: Sequence[Any]) -> list[ApiError]:
    """Turn pydantic/FastAPI validation errors into E000x entries (values are dropped).

    Args:
        problems: ``RequestValidationError.errors()`` or ``ValidationError.errors()``.

    Returns:
        One entry per problem: a JSON pointer for body fields, the plain name for header,
        query and path parameters.
    """
    result: list[ApiError] = []
    for problem in problems:
        loc: list[int | str] = list(problem.get("loc", ()))
        if loc and loc[-1] == "[key]":
            # pydantic marks a bad dict key with a "[key]" step; the pointer names the key.
            loc.pop()
        where = loc[0] if loc else "body"
        name = str(loc[1]) if len(loc) > 1 else None
        field = json_pointer(loc[1:]) if where == "body" else name
        result.append(api_error(_code_for(problem), field))
    return result
