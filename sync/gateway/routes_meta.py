"""Liveness and ``GET /meta``: server time, what the gateway supports, who the caller is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from desk.catalog.bundle import bundle_version
from sync.gateway.auth import Caller, requires
from sync.gateway.context import GatewayContext
from sync.gateway.documentation import MetaEnvelope, answers
from sync.gateway.envelope import success
from sync.gateway.store import TOKYO
from sync.protocol import (
    API_PREFIX,
    DATA_LIST_EDITION,
    SUPPORTED_SCHEMA_VERSIONS,
    Meta,
    Scope,
)


def build_router(context: GatewayContext) -> APIRouter:
    """``GET /health`` (no token) and ``GET /madoguchi/v1/meta``."""
    router = APIRouter()

    @router.get("/health", tags=["meta"], summary="死活監視")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(f"{API_PREFIX}/meta", tags=["meta"], summary="サーバー情報",
                responses=answers({200: MetaEnvelope}, 401, 403))
    def meta(request: Request, caller: Annotated[Caller, requires(Scope.META_READ)]) -> Response:
        info = Meta(
            server_time=context.clock().astimezone(TOKYO),
            tenant_code=caller.tenant_code,
            device_id=caller.device_id,
            mode=caller.mode,
            schema_versions=sorted(SUPPORTED_SCHEMA_VERSIONS),
            data_list_edition=DATA_LIST_EDITION,
            # The signed catalog's version joins when the catalog route is wired in.
            catalog_version=(bundle_version(path)
                             if (path := context.settings.catalog_path) else None),
        )
        return success([info.model_dump(mode="json", by_alias=True)], href=request.url.path,
                       title="サーバー情報", detail="ゲートウェイの情報です。")

    return router
