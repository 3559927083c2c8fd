"""Back-office routes for 申請管理: pull received applications, report review results."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from sync.gateway import lifecycle
from sync.gateway.auth import Caller, requires
from sync.gateway.context import GatewayContext
from sync.gateway.documentation import OutboundEnvelope, StatusEnvelope, answers
from sync.gateway.envelope import api_error, error, success
from sync.gateway.lifecycle import Outcome
from sync.protocol import (
    API_PREFIX,
    FEED_PAGE_LIMIT,
    ApplicationId,
    ApplicationStatusCode,
    ErrorCode,
    Scope,
    StatusReport,
)

OUTBOUND_PATH = f"{API_PREFIX}/outbound"

_NOT_FOUND = "指定された申請は見つかりません。"
_NOT_ALLOWED = ("この状態変更はできません。最新の状態と版を照会してから、"
                "改めて報告してください。")


def build_router(context: GatewayContext) -> APIRouter:
    """``GET /outbound`` and ``POST /applications/{id}/status`` (back office only)."""
    router = APIRouter(tags=["backoffice"])

    @router.get(OUTBOUND_PATH, summary="受付済み申請の取得（申請管理）",
                responses=answers({200: OutboundEnvelope}, 400, 401, 403))
    def outbound(
        caller: Annotated[Caller, requires(Scope.OUTBOUND_READ)],
        status: ApplicationStatusCode | None = None,
        # le: the range of the seq column (PostgreSQL INTEGER); beyond it was a 500 (schemathesis).
        since: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
        limit: Annotated[int, Query(ge=1, le=FEED_PAGE_LIMIT)] = FEED_PAGE_LIMIT,
    ) -> Response:
        items = lifecycle.outbound(
            context, tenant_code=caller.tenant_code, status=status, since=since, limit=limit
        )

        def href(position: int) -> str:
            query = {"since": str(position), "limit": str(limit)}
            if status is not None:
                query["status"] = status.value
            return f"{OUTBOUND_PATH}?{urlencode(query)}"

        return success(
            [item.model_dump(mode="json", by_alias=True) for item in items],
            href=href(since),
            title="受付済み申請",
            detail=f"{len(items)}件の申請があります。" if items else "該当する申請はありません。",
            next_href=href(items[-1].seq) if len(items) == limit else None,
        )

    @router.post(f"{API_PREFIX}/applications/{{application_id}}/status",
                 summary="審査状況の報告（申請管理）",
                 responses=answers({200: StatusEnvelope}, 400, 401, 403, 404, 409))
    def report_status(
        application_id: ApplicationId,  # a malformed id was a 500 on PostgreSQL (NUL)
        report: StatusReport,
        request: Request,
        caller: Annotated[Caller, requires(Scope.STATUS_WRITE)],
    ) -> Response:
        path = request.url.path
        change = lifecycle.report_status(
            context,
            tenant_code=caller.tenant_code,
            application_id=application_id,
            report=report,
            actor=caller.device_id,
        )
        if change.outcome is Outcome.NOT_FOUND or change.status is None:
            return error(404, href=path, detail=_NOT_FOUND)
        if change.outcome is Outcome.NOT_ALLOWED:
            return error(409, href=path, detail=_NOT_ALLOWED,
                         errors=[api_error(ErrorCode.STATUS_CHANGE_NOT_ALLOWED, "/status")])
        detail = ("状態を更新しました。" if change.outcome is Outcome.CHANGED
                  else "この報告は既に反映されています。")
        return success([change.status.model_dump(mode="json", by_alias=True)], href=path,
                       title="状態報告", detail=detail)

    return router
