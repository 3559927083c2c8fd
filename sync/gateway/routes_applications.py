"""Device routes: submit an application, read its status, the status feed, withdraw."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from sync.gateway import lifecycle
from sync.gateway.auth import Caller, requires
from sync.gateway.context import GatewayContext
from sync.gateway.documentation import ReceiptEnvelope, StatusEnvelope, answers
from sync.gateway.envelope import BAD_REQUEST, api_error, error, json_response, success
from sync.gateway.lifecycle import TENANT_WIDE_MODES, Outcome
from sync.gateway.store import GatewayStore, ReceiveOutcome
from sync.protocol import (
    API_PREFIX,
    FEED_PAGE_LIMIT,
    IDEMPOTENCY_KEY_HEADER,
    REPLAYED_HEADER,
    SUPPORTED_SCHEMA_VERSIONS,
    ApplicationId,
    ApplicationPayload,
    ErrorCode,
    Receipt,
    Scope,
    WithdrawRequest,
)

APPLICATIONS_PATH = f"{API_PREFIX}/applications"

_KEY_REUSED = "この申請IDは別の内容で使用済みです。新しい申請IDで送信してください。"
_NOT_FOUND = "指定された申請は見つかりません。"
_NOT_WITHDRAWABLE = "審査結果が出ているため、この申請は取り下げできません。"
_OTHER_TENANT = "この端末の自治体以外の申請は送信できません。"


def own_device_only(caller: Caller) -> str | None:
    """The device filter for reading one application: kiosks and desks see only their own.

    A counter may look up any application of its tenant (the resident standing at it may
    have started at a kiosk); the back office sees the whole tenant.
    """
    return None if caller.mode in TENANT_WIDE_MODES else caller.device_id


def feed_filter(caller: Caller) -> str | None:
    """The device filter of the status feed: each device follows what it submitted itself."""
    return None if caller.mode == "backoffice" else caller.device_id


def _withdraw_filter(caller: Caller) -> str | None:
    # The submitting device, or a counter of the tenant, may withdraw.
    return None if caller.mode == "counter" else caller.device_id


def _submission_problem(
    payload: ApplicationPayload, caller: Caller, key: str | None, path: str
) -> Response | None:
    if not key or not key.strip():
        return error(400, href=path, detail=BAD_REQUEST,
                     errors=[api_error(ErrorCode.REQUIRED, IDEMPOTENCY_KEY_HEADER)])
    metadata = payload.metadata
    if metadata.schema_version not in SUPPORTED_SCHEMA_VERSIONS:
        problem = api_error(ErrorCode.UNSUPPORTED_SCHEMA_VERSION, "/metadata/schemaVersion")
        return error(400, href=path, detail=BAD_REQUEST, errors=[problem])
    if key.strip() != metadata.application_id:
        problem = api_error(ErrorCode.CROSS_FIELD, "/metadata/applicationId")
        return error(400, href=path, detail=BAD_REQUEST, errors=[problem])
    if metadata.shikuchosonkodo != caller.tenant_code:
        return error(403, href=path, detail=_OTHER_TENANT,
                     errors=[api_error(ErrorCode.FORBIDDEN, "/metadata/shikuchosonkodo")])
    if metadata.device_id != caller.device_id:
        problem = api_error(ErrorCode.CROSS_FIELD, "/metadata/deviceId")
        return error(400, href=path, detail=BAD_REQUEST, errors=[problem])
    # A kiosk's credentials cannot send a counter-channel application (which alone may carry
    # a 個人番号): the channel is the registered mode.
    if metadata.channel != caller.mode:
        problem = api_error(ErrorCode.CROSS_FIELD, "/metadata/channel")
        return error(400, href=path, detail=BAD_REQUEST, errors=[problem])
    return None


def build_router(context: GatewayContext) -> APIRouter:
    """The application routes of devices (kiosk, desk, counter) and their status reads."""
    router = APIRouter(tags=["applications"])
    store = GatewayStore(context)

    @router.post(APPLICATIONS_PATH, status_code=201, summary="申請の送信",
                 responses=answers({201: ReceiptEnvelope}, 400, 401, 403, 409))
    def submit_application(
        payload: ApplicationPayload,
        request: Request,
        caller: Annotated[Caller, requires(Scope.APPLICATIONS_WRITE)],
        idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_KEY_HEADER)] = None,
    ) -> Response:
        path = request.url.path
        problem = _submission_problem(payload, caller, idempotency_key, path)
        if problem is not None:
            return problem
        location = f"{APPLICATIONS_PATH}/{payload.metadata.application_id}"

        def respond(receipt: Receipt) -> tuple[int, str]:
            response = success(
                [receipt.model_dump(mode="json", by_alias=True)],
                href=location,
                title="受付完了",
                detail="申請を受け付けました。",
                status=201,
            )
            return 201, bytes(response.body).decode("utf-8")

        received = store.receive(payload, received_at=context.clock(), respond=respond)
        if received.outcome is ReceiveOutcome.CONFLICT:
            problem_entry = api_error(ErrorCode.IDEMPOTENCY_CONFLICT, "/metadata/applicationId")
            return error(409, href=path, detail=_KEY_REUSED, errors=[problem_entry],
                         title="申請IDの重複")
        headers = {"Location": location}
        if received.outcome is ReceiveOutcome.REPLAYED:
            headers[REPLAYED_HEADER] = "true"
        return json_response(received.response_json, received.response_status, headers)

    @router.get(APPLICATIONS_PATH, summary="申請状況の更新フィード",
                responses=answers({200: StatusEnvelope}, 400, 401, 403))
    def status_feed(
        request: Request,
        caller: Annotated[Caller, requires(Scope.APPLICATIONS_READ)],
        # le: the range of the seq column (PostgreSQL INTEGER); beyond it was a 500 (schemathesis).
        cursor: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
        limit: Annotated[int, Query(ge=1, le=FEED_PAGE_LIMIT)] = FEED_PAGE_LIMIT,
        updated_since: Annotated[AwareDatetime | None, Query(alias="updatedSince")] = None,
    ) -> Response:
        statuses = lifecycle.status_feed(
            context,
            tenant_code=caller.tenant_code,
            device_id=feed_filter(caller),
            cursor=cursor,
            limit=limit,
            updated_since=updated_since,
        )
        next_href = None
        if len(statuses) == limit:
            next_href = _page_href(statuses[-1].seq, limit, updated_since)
        return success(
            [status.model_dump(mode="json", by_alias=True) for status in statuses],
            href=_page_href(cursor, limit, updated_since),
            title="申請状況",
            detail="申請状況の更新です。" if statuses else "新しい更新はありません。",
            next_href=next_href,
        )

    @router.get(f"{APPLICATIONS_PATH}/{{application_id}}", summary="申請状況の照会",
                responses=answers({200: StatusEnvelope}, 400, 401, 403, 404))
    def get_application(
        application_id: ApplicationId,  # a malformed id was a 500 on PostgreSQL (NUL)
        request: Request,
        caller: Annotated[Caller, requires(Scope.APPLICATIONS_READ)],
    ) -> Response:
        status = lifecycle.get_status(
            context,
            tenant_code=caller.tenant_code,
            application_id=application_id,
            device_id=own_device_only(caller),
        )
        if status is None:
            return error(404, href=request.url.path, detail=_NOT_FOUND)
        return success(
            [status.model_dump(mode="json", by_alias=True)],
            href=request.url.path,
            title="申請状況",
            detail="申請の状況と履歴です。",
        )

    @router.post(f"{APPLICATIONS_PATH}/{{application_id}}/withdraw", summary="申請の取下げ",
                 responses=answers({200: StatusEnvelope}, 400, 401, 403, 404, 409))
    def withdraw_application(
        application_id: ApplicationId,  # a malformed id was a 500 on PostgreSQL (NUL)
        request: Request,
        caller: Annotated[Caller, requires(Scope.APPLICATIONS_WRITE)],
        body: Annotated[WithdrawRequest | None, Body()] = None,
    ) -> Response:
        path = request.url.path
        change = lifecycle.withdraw(
            context,
            tenant_code=caller.tenant_code,
            application_id=application_id,
            device_id=_withdraw_filter(caller),
            reason_code=body.reason_code if body else None,
            actor=caller.device_id,
        )
        if change.outcome is Outcome.NOT_FOUND or change.status is None:
            return error(404, href=path, detail=_NOT_FOUND)
        if change.outcome is Outcome.NOT_ALLOWED:
            return error(409, href=path, detail=_NOT_WITHDRAWABLE,
                         errors=[api_error(ErrorCode.STATUS_CHANGE_NOT_ALLOWED, "/status")])
        detail = ("申請を取り下げました。" if change.outcome is Outcome.CHANGED
                  else "この申請は既に取り下げられています。")
        return success([change.status.model_dump(mode="json", by_alias=True)], href=path,
                       title="取下げ", detail=detail)

    return router


def _page_href(cursor: int, limit: int, updated_since: datetime | None) -> str:
    query: dict[str, str] = {"cursor": str(cursor), "limit": str(limit)}
    if updated_since is not None:
        query["updatedSince"] = updated_since.isoformat()
    return f"{APPLICATIONS_PATH}?{urlencode(query)}"
