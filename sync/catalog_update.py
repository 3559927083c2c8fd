"""Device side of catalog updates: fetch the bundle by ETag, verify it, install it atomically."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from desk.catalog.bundle import (
    CATALOG_DIR,
    CURRENT_BUNDLE,
    TrustedKeys,
    install_bundle,
    last_good_bundle,
)
from desk.durable import atomic_write
from desk.errors import CatalogError
from sync.errors import RejectedError

FETCH_STATE = "fetch.json"  # in the profile's catalog/ folder, next to the bundles
_MAX_ETAG = 200
log = logging.getLogger(__name__)

Outcome = Literal["unchanged", "installed", "refused", "not_offered"]


class FetchedCatalog(Protocol):
    """What `LinkageClient.fetch_catalog` returns (``sync.client.CatalogFetch``)."""

    @property
    def not_modified(self) -> bool: ...

    @property
    def etag(self) -> str | None: ...

    @property
    def body(self) -> bytes: ...


class CatalogSource(Protocol):
    """Anything that downloads the bundle conditionally: the `LinkageClient`."""

    def fetch_catalog(self, etag: str | None = None) -> FetchedCatalog: ...


@dataclass(frozen=True)
class CatalogUpdate:
    """The outcome of one update check.

    Attributes:
        outcome: ``installed`` (the app should switch to the new catalog), ``unchanged``,
            ``refused`` (the gateway offered a bundle that failed verification; the installed
            catalog stays) or ``not_offered`` (the gateway serves no catalog).
        version: The installed bundle's version after the check, when there is one.
        reason: The refusal's message id (``catalog.bundle_expired``, …).
    """

    outcome: Outcome
    version: int | None = None
    reason: str | None = None


def _state_path(profile_dir: Path) -> Path:
    return profile_dir / CATALOG_DIR / FETCH_STATE


def _saved_etag(profile_dir: Path, current_sha256: str) -> str | None:
    """The ETag saved with the current bundle; None once the bundle changed under it."""
    try:
        state = json.loads(_state_path(profile_dir).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("bundleSha256") != current_sha256:
        return None
    etag = state.get("etag")
    return etag if isinstance(etag, str) and 0 < len(etag) <= _MAX_ETAG else None


def _save_etag(profile_dir: Path, etag: str | None, current_sha256: str) -> None:
    if not etag or len(etag) > _MAX_ETAG or not etag.isascii():
        return
    state = {"etag": etag, "bundleSha256": current_sha256}
    try:
        atomic_write(_state_path(profile_dir), json.dumps(state).encode("ascii"))
    except OSError as exc:  # only costs one full download next time
        log.warning("catalog fetch state not saved: %s", type(exc).__name__)


def _current_sha256(profile_dir: Path, trusted_keys: TrustedKeys) -> str | None:
    """SHA-256 of ``current.bundle`` when it is the last good bundle (else no ETag is sent)."""
    good = last_good_bundle(profile_dir, trusted_keys)
    if good is None:
        return None
    try:
        data = (profile_dir / CATALOG_DIR / CURRENT_BUNDLE).read_bytes()
    except OSError:
        return None
    return hashlib.sha256(data).hexdigest() if data == good.raw else None


def update_catalog(client: CatalogSource, profile_dir: Path, trusted_keys: TrustedKeys,
                   now: datetime) -> CatalogUpdate:
    """Check the gateway for a newer signed catalog and install it.

    The ETag is sent only while ``current.bundle`` is the bundle it was saved with, so a
    damaged or missing bundle is always downloaded again. A refused bundle is not remembered:
    it is fetched and refused again at the next check (the refusal stays visible until the
    municipality deploys a good one, and a key trusted later can still accept it).

    Args:
        client: The linkage client (``fetch_catalog(etag)``).
        profile_dir: The device profile.
        trusted_keys: The keys bundles may be signed with.
        now: Current time (aware) for the expiry check; the gateway's time where known.

    Returns:
        What happened.

    Raises:
        SyncError: The gateway could not be reached or refused the request (other than 404).
        OSError: The profile could not be written; the installed catalog is unchanged.
    """
    current = _current_sha256(profile_dir, trusted_keys)
    etag = _saved_etag(profile_dir, current) if current else None
    try:
        fetched = client.fetch_catalog(etag)
    except RejectedError as exc:
        if exc.status == 404:
            return CatalogUpdate("not_offered", _installed_version(profile_dir, trusted_keys))
        raise
    if fetched.not_modified:
        return CatalogUpdate("unchanged", _installed_version(profile_dir, trusted_keys))
    try:
        result = install_bundle(profile_dir, fetched.body, trusted_keys, now=now)
    except CatalogError as exc:
        log.warning("catalog bundle refused: %s", exc.message_id)
        return CatalogUpdate("refused", _installed_version(profile_dir, trusted_keys),
                             exc.message_id)
    saved = _current_sha256(profile_dir, trusted_keys)
    if saved is not None and saved == hashlib.sha256(fetched.body).hexdigest():
        _save_etag(profile_dir, fetched.etag, saved)
    return CatalogUpdate(result.outcome, result.version)


def _installed_version(profile_dir: Path, trusted_keys: TrustedKeys) -> int | None:
    good = last_good_bundle(profile_dir, trusted_keys)
    return good.version if good is not None else None
