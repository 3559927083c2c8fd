"""The reference gateway's HTTP application: routers, error envelopes, one shared context."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from types import ModuleType

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from sync.gateway import auth, routes_applications, routes_backoffice, routes_meta
from sync.gateway.context import Clock, GatewaySettings, open_context
from sync.gateway.csv_linkage import ExportLoop
from sync.gateway.envelope import (
    BAD_REQUEST,
    NOT_FOUND,
    NOT_PROCESSED,
    EnvelopeError,
    api_error,
    error,
    validation_errors,
)
from sync.gateway.routes_applications import APPLICATIONS_PATH
from sync.gateway.store import GatewayStore
from sync.protocol import IDEMPOTENCY_KEY_HEADER, ErrorCode

# Routers of the other gateway modules, imported by name before the tables are created (their
# tables subclass models.Base) and included after the core ones. Each module exposes
# ``build_router(context) -> APIRouter`` with full paths.
_EXTRA_ROUTERS: tuple[str, ...] = (
    "sync.gateway.routes_handoffs",
    "sync.gateway.routes_residents",
    "sync.gateway.routes_catalog",
)

_CORE_ROUTERS: tuple[ModuleType, ...] = (
    routes_meta,
    auth,
    routes_applications,
    routes_backoffice,
)

log = logging.getLogger(__name__)

_SERVER_ERROR = "サーバーで問題が発生しました。時間をおいて再度送信してください。"


def _missing_key(request: Request) -> bool:
    return not request.headers.get(IDEMPOTENCY_KEY_HEADER, "").strip()


def create_app(
    db_url: str,
    *,
    settings: GatewaySettings | None = None,
    clock: Clock | None = None,
    extra_routers: Sequence[str] = _EXTRA_ROUTERS,
) -> FastAPI:
    """Build the gateway application on a database.

    Args:
        db_url: SQLAlchemy URL of the gateway database (created if missing).
        settings: Deployment settings; defaults when None.
        clock: Source of server time (aware); tests pass a fixed or movable clock.
        extra_routers: Module names of further routers (default: the wired-in ones).

    Returns:
        The FastAPI application. Its context is ``app.state.context`` (closed on shutdown)
        and ``app.state.store`` reads received applications.
    """
    extra = [importlib.import_module(name) for name in extra_routers]
    context = open_context(db_url, settings=settings, clock=clock)

    # File linkage: with a CSV folder configured, received applications are also written as
    # CSV batches (claimed in the database, so several workers never export one twice).
    exporter = ExportLoop(context)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        exporter.start()
        try:
            yield
        finally:
            exporter.stop()
            context.close()

    # No interactive docs: this serves devices on a closed network, not browsers. The schema
    # stays available as JSON (`madoguchi gateway openapi`).
    app = FastAPI(title="Madoguchi gateway", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.context = context
    app.state.store = GatewayStore(context)

    @app.exception_handler(EnvelopeError)
    async def _on_problem(request: Request, exc: EnvelopeError) -> Response:
        return error(exc.status, href=request.url.path, detail=exc.detail, errors=exc.errors,
                     headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        # The standard answers bad input with 400 and E000x codes, not FastAPI's 422, and the
        # default body would echo the submitted values (personal data) back and into logs.
        errors = validation_errors(exc.errors())
        submitting = request.method == "POST" and request.url.path == APPLICATIONS_PATH
        if submitting and _missing_key(request):
            errors.insert(0, api_error(ErrorCode.REQUIRED, IDEMPOTENCY_KEY_HEADER))
        return error(400, href=request.url.path, detail=BAD_REQUEST, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = NOT_FOUND if exc.status_code == 404 else NOT_PROCESSED
        return error(exc.status_code, href=request.url.path, detail=detail, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _on_crash(request: Request, exc: Exception) -> Response:
        # A JSON 500 envelope instead of a text page; the exception text is never sent.
        # Operators see what broke by type and SQL error code only: exception texts can quote
        # submitted values, and SQL parameters are hidden by the engine anyway.
        route = getattr(request.scope.get("route"), "path", "-")  # the template, not the ids
        log.error("gateway error on %s %s: %s (code %s)", request.method, route,
                  type(exc).__name__, getattr(exc, "code", None) or "-")
        return error(500, href=request.url.path, detail=_SERVER_ERROR)

    for module in (*_CORE_ROUTERS, *extra):
        app.include_router(module.build_router(context))
    return app
