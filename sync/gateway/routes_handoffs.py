"""Handoff routes: a kiosk or desk pushes a draft's answers; a counter picks them up by code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sync.gateway.auth import Caller, requires
from sync.gateway.context import GatewayContext
from sync.gateway.documentation import HandoffEnvelope, HandoffReceiptEnvelope, answers
from sync.gateway.envelope import BAD_REQUEST, api_error, error, success
from sync.gateway.handoffs import PushOutcome, pick_up_handoff, push_handoff
from sync.protocol import API_PREFIX, ErrorCode, HandoffRequest, Scope

HANDOFFS_PATH = f"{API_PREFIX}/handoffs"

# Answers are personal data: no cache on the way may keep them.
NO_STORE = {"Cache-Control": "no-store"}

_CODE_TAKEN = (
    "この整理番号は別の端末または別の下書きの引継ぎで使われています。"
    "下書きを新しい整理番号で保存し直してから登録してください。"
)
_NOT_FOUND = "指定された整理番号の引継ぎはありません（期限切れを含みます）。"


def build_router(context: GatewayContext) -> APIRouter:
    """``POST /handoffs`` (kiosk, desk, counter) and ``GET /handoffs/{code}`` (counter only)."""
    router = APIRouter(tags=["handoffs"])

    @router.post(HANDOFFS_PATH, status_code=201, summary="窓口への引継ぎの登録",
                 responses=answers({201: HandoffReceiptEnvelope, 200: HandoffReceiptEnvelope},
                                   400, 401, 403, 409))
    def push(
        body: HandoffRequest,
        request: Request,
        caller: Annotated[Caller, requires(Scope.HANDOFFS_WRITE)],
    ) -> Response:
        result = push_handoff(
            context.engine,
            body,
            tenant_code=caller.tenant_code,
            device_id=caller.device_id,
            channel=caller.mode,
            now=context.clock(),
            ttl_s=context.settings.handoff_ttl_s,
        )
        path = request.url.path
        if result.outcome is PushOutcome.BAD_CODE:
            problem = api_error(ErrorCode.CHARACTER_TYPE, "/referenceCode")
            return error(400, href=path, detail=BAD_REQUEST, errors=[problem])
        if result.outcome is PushOutcome.CONFLICT or result.receipt is None:
            problem = api_error(ErrorCode.CROSS_FIELD, "/referenceCode")
            return error(409, href=path, detail=_CODE_TAKEN, errors=[problem],
                         title="整理番号の重複")
        location = f"{HANDOFFS_PATH}/{result.receipt.reference_code}"
        created = result.outcome is PushOutcome.CREATED
        return success(
            [result.receipt.model_dump(mode="json", by_alias=True)],
            href=location,
            title="引継ぎ登録完了",
            detail="窓口への引継ぎを登録しました。" if created else "引継ぎの内容を更新しました。",
            status=201 if created else 200,
            headers={"Location": location},
        )

    @router.get(f"{HANDOFFS_PATH}/{{code}}", summary="引継ぎの受取（窓口のみ）",
                responses=answers({200: HandoffEnvelope}, 401, 403, 404))
    def pick_up(
        code: str,
        request: Request,
        caller: Annotated[Caller, requires(Scope.HANDOFFS_READ)],
    ) -> Response:
        handoff = pick_up_handoff(
            context.engine,
            code,
            tenant_code=caller.tenant_code,
            picked_up_by=caller.device_id,
            now=context.clock(),
        )
        if handoff is None:
            # Unknown, expired, malformed or another municipality's: one answer for all.
            return error(404, href=request.url.path, detail=_NOT_FOUND, headers=NO_STORE)
        return success(
            [handoff.model_dump(mode="json", by_alias=True)],
            href=f"{HANDOFFS_PATH}/{handoff.reference_code}",
            title="引継ぎ内容",
            detail="窓口への引継ぎ内容です。",
            headers=NO_STORE,
        )

    return router
