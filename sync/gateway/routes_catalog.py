"""``GET /madoguchi/v1/catalog``: the signed catalog bundle the municipality deployed, by ETag."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from desk.catalog.bundle import MAX_BUNDLE_BYTES, bundle_etag
from sync.gateway.auth import Caller, requires
from sync.gateway.context import GatewayContext
from sync.gateway.documentation import CATALOG_ANSWERS
from sync.gateway.envelope import error
from sync.protocol import API_PREFIX, Scope

CATALOG_PATH = f"{API_PREFIX}/catalog"
NO_CATALOG = "この自治体の手続カタログは配信されていません。"
CATALOG_UNREADABLE = "手続カタログを読み込めません。時間をおいて再度お試しください。"
# Devices must ask again each time (a new bundle can be deployed at any moment), but may
# reuse what they hold when the ETag still matches; intermediaries must not keep a copy.
_CACHE_CONTROL = "private, no-cache"


class _BundleFile:
    """The deployed bundle's bytes and ETag, re-read only when the file changes on disk.

    The bundle is replaced by copying a new file over it (ideally by rename); the key of the
    cache is the file's identity, size and modification time, so a new deployment is served
    at the next request without restarting the gateway.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int, int, int] | None = None
        self._data = b""
        self._etag = ""

    def read(self, path: Path) -> tuple[bytes, str]:
        """The bytes and strong ETag of the file at `path` (OSError when unreadable)."""
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
            with self._lock:
                if key == self._key:
                    return self._data, self._etag
            if info.st_size > MAX_BUNDLE_BYTES:
                raise OSError("bundle too large")
            data = handle.read(MAX_BUNDLE_BYTES + 1)
        etag = bundle_etag(data)
        with self._lock:
            self._key, self._data, self._etag = key, data, etag
        return data, etag


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: ``*`` or any listed tag, compared weakly (``W/`` ignored)."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def build_router(context: GatewayContext) -> APIRouter:
    """``GET /madoguchi/v1/catalog`` (scope ``madoguchi:catalog:read``)."""
    router = APIRouter()
    bundle_file = _BundleFile()

    @router.get(CATALOG_PATH, tags=["catalog"], summary="署名付き手続カタログ",
                response_class=Response, responses=CATALOG_ANSWERS)
    def catalog(
        request: Request,
        caller: Annotated[Caller, requires(Scope.CATALOG_READ)],
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        # One bundle per deployment: the gateway serves one municipality's devices, and the
        # device verifies the signature itself, so the gateway needs no keys.
        path = context.settings.catalog_path
        href = request.url.path
        if path is None:
            return error(404, href=href, detail=NO_CATALOG)
        try:
            data, etag = bundle_file.read(path)
        except FileNotFoundError:
            return error(404, href=href, detail=NO_CATALOG)
        except OSError:
            return error(503, href=href, detail=CATALOG_UNREADABLE)
        headers = {"ETag": etag, "Cache-Control": _CACHE_CONTROL}
        if etag_matches(if_none_match, etag):
            return Response(status_code=304, headers=headers)
        return Response(content=data, media_type="application/json", headers=headers)

    return router
