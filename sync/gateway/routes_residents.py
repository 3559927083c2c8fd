"""Resident match route: counter staff confirm a person in the registry for pre-fill."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sync.gateway.auth import Caller, requires
from sync.gateway.context import GatewayContext
from sync.gateway.documentation import CandidateEnvelope, answers
from sync.gateway.envelope import BAD_REQUEST, api_error, error, success
from sync.gateway.registry import match_residents
from sync.protocol import API_PREFIX, ErrorCode, ResidentQuery, Scope

RESIDENTS_MATCH_PATH = f"{API_PREFIX}/residents/match"

# Registry data is personal data: no cache on the way may keep it.
NO_STORE = {"Cache-Control": "no-store"}


def build_router(context: GatewayContext) -> APIRouter:
    """``POST /residents/match`` (counter only).

    A person under DV 支援措置 is withheld from non-privileged callers, and the answer is then
    built from the visible result alone: status, body and headers are exactly those of a
    lookup that found nobody (or only the others).
    """
    router = APIRouter(tags=["residents"])

    @router.post(RESIDENTS_MATCH_PATH, summary="住民の照合（窓口のみ）",
                 responses=answers({200: CandidateEnvelope}, 400, 401, 403))
    def match(
        query: ResidentQuery,
        request: Request,
        caller: Annotated[Caller, requires(Scope.RESIDENTS_READ)],
    ) -> Response:
        path = request.url.path
        if query.shimei is None and query.shimei_furigana is None:
            # A lookup confirms one person: a birth date alone would list a registry.
            problem = api_error(ErrorCode.REQUIRED, "/shimei")
            return error(400, href=path, detail=BAD_REQUEST, errors=[problem])
        candidates = match_residents(context.engine, query, caller=caller, now=context.clock())
        detail = (
            f"{len(candidates)}件の該当がありました。" if candidates
            else "該当する住民は見つかりませんでした。"
        )
        return success(
            [candidate.model_dump(mode="json") for candidate in candidates],
            href=path,
            title="住民照合",
            detail=detail,
            headers=NO_STORE,
        )

    return router
