"""Signed catalog bundles: build and sign, verify, install atomically, pick the active catalog.

A bundle is one UTF-8 JSON file::

    {
      "format": "madoguchi-catalog-bundle/1",
      "version": 7,                                  # int, rises with every release
      "issuedAt": "2025-04-01T09:00:00+09:00",       # ISO 8601 with an offset
      "expiresAt": "2025-07-01T09:00:00+09:00",
      "keyId": "3f2a9c0d1e4b5a67",                   # first 16 hex of SHA-256(raw public key)
      "files": {"business-areas.yaml": "schema_version: 1\n…", "items/items.yaml": "…"},
      "sha256": "…",                                 # hex SHA-256 of canonical(files)
      "signature": "…"                               # base64 Ed25519 signature
    }

`files` maps the relative POSIX path of every file of a catalog folder to its text. The
signature covers canonical(everything but ``signature``), where canonical(x) is
``json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in UTF-8; the
verifier recomputes it from the parsed document, so formatting of the file does not matter
but every value does.

Refused, each with its own message id (`CatalogError`): malformed JSON or structure, unknown
format, unsigned, unknown key id, bad signature, wrong digest, paths that could leave the
folder, expired metadata, a version lower than the installed one, the installed version with
other content (rollback or replay), and a catalog that does not load.

A profile keeps ``catalog/current.bundle`` and ``catalog/previous.bundle`` (the last good
one). At start the app uses the first of them that verifies and loads, else the catalog
shipped in ``resources/procedures``. Expiry is checked when a bundle is installed (it stops
an attacker replaying an old bundle); an installed bundle that has since expired stays in use,
flagged, because the shipped catalog would be older still.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from desk.catalog.loader import default_catalog_dir, load_catalog
from desk.catalog.model import Catalog
from desk.durable import atomic_write, fsync_dir
from desk.errors import CatalogError
from desk.resources import resources_dir

BUNDLE_FORMAT = "madoguchi-catalog-bundle/1"
CATALOG_DIR = "catalog"
CURRENT_BUNDLE = "current.bundle"
PREVIOUS_BUNDLE = "previous.bundle"
KEYS_DIR = "catalog-keys"  # in resources/ (shipped) and in the profile (added at enrolment)
MAX_BUNDLE_BYTES = 16 * 1024 * 1024  # the shipped catalog is about 1 MB
MAX_FILES = 5000
MAX_VERSION = 2**53 - 1  # exact in every JSON implementation
_MAX_PATH = 240
_FIELDS = frozenset({"format", "version", "issuedAt", "expiresAt", "keyId", "files", "sha256"})
_HEX16 = re.compile(r"[0-9a-f]{16}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
# Characters Windows refuses or reinterprets in a file name (drive letters, streams, …).
_BAD_NAME_CHARS = re.compile(r'[\x00-\x1f<>:"|?*\\]')
_SIGNATURE_BYTES = 64
log = logging.getLogger(__name__)

TrustedKeys = Mapping[str, Ed25519PublicKey]
Origin = Literal["current", "previous", "shipped"]


@dataclass(frozen=True)
class Bundle:
    """A bundle whose structure, paths, signature and digest were checked.

    Attributes:
        version: The release number; installs only ever move it forward.
        content_sha256: Hex SHA-256 of the canonical files (the bundle's ``sha256``).
        raw: The exact bytes, as written to the profile and served by the gateway.
    """

    version: int
    issued_at: datetime
    expires_at: datetime
    key_id: str
    content_sha256: str
    files: Mapping[str, str] = field(repr=False)
    raw: bytes = field(repr=False)

    @property
    def etag(self) -> str:
        """The strong HTTP ETag of the raw bytes (what the gateway sends)."""
        return bundle_etag(self.raw)

    def expired(self, now: datetime) -> bool:
        """Whether the metadata has expired at `now`."""
        return self.expires_at <= now


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle that passed every check, with the catalog it holds."""

    bundle: Bundle
    catalog: Catalog


@dataclass(frozen=True)
class InstallResult:
    """What `install_bundle` did: ``installed`` a new version, or found it ``unchanged``."""

    outcome: Literal["installed", "unchanged"]
    version: int
    catalog: Catalog | None = None  # the new catalog, when installed


@dataclass(frozen=True)
class ActiveCatalog:
    """The catalog the app should use, where it came from, and what was skipped on the way.

    Attributes:
        version: The bundle version, or None for the shipped catalog.
        origin: ``current`` / ``previous`` bundle of the profile, or ``shipped``.
        expired: The bundle in use has passed its ``expiresAt`` (staff should be told).
        problems: Errors of installed bundles that were skipped (message ids, no content).
    """

    catalog: Catalog
    version: int | None
    origin: Origin
    expired: bool = False
    problems: tuple[CatalogError, ...] = ()


# -- keys ---------------------------------------------------------------------------------


def key_id(public_key: Ed25519PublicKey) -> str:
    """The id a bundle names its signing key by: 16 hex digits of SHA-256 of the raw key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_signing_key() -> Ed25519PrivateKey:
    """A new Ed25519 signing key for a catalog maintainer."""
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """The signing key as unencrypted PKCS#8 PEM (keep the file 0600, off the devices)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    """The public key as SubjectPublicKeyInfo PEM (what devices trust)."""
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(data: bytes) -> Ed25519PrivateKey:
    """Read a signing key written by `private_key_pem`.

    Raises:
        CatalogError: ``catalog.key_invalid`` when it is not an unencrypted Ed25519 key.
    """
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CatalogError("catalog.key_invalid", reason=type(exc).__name__) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CatalogError("catalog.key_invalid", reason="not_ed25519")
    return key


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """Read a public key written by `public_key_pem`.

    Raises:
        CatalogError: ``catalog.key_invalid``; reason ``private_key`` when given a private key
            (it never belongs in a folder of trusted keys).
    """
    if b"PRIVATE KEY" in data:
        raise CatalogError("catalog.key_invalid", reason="private_key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CatalogError("catalog.key_invalid", reason=type(exc).__name__) from None
    if not isinstance(key, Ed25519PublicKey):
        raise CatalogError("catalog.key_invalid", reason="not_ed25519")
    return key


def load_trusted_keys(folders: Iterable[Path]) -> tuple[dict[str, Ed25519PublicKey],
                                                        list[CatalogError]]:
    """Every ``*.pem`` public key in `folders` (missing folders are skipped).

    Returns:
        The keys by key id, and an error for each file that is not a usable public key (the
        other keys still count: one bad file must not stop catalog updates).
    """
    keys: dict[str, Ed25519PublicKey] = {}
    problems: list[CatalogError] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.pem")):
            try:
                key = load_public_key(path.read_bytes())
            except OSError as exc:
                problems.append(CatalogError("catalog.key_invalid", file=path.name,
                                             reason=type(exc).__name__))
                continue
            except CatalogError as exc:
                problems.append(CatalogError(exc.message_id, file=path.name, **exc.params))
                continue
            keys[key_id(key)] = key
    return keys, problems


def trusted_key_folders(profile_dir: Path | None) -> list[Path]:
    """Where trusted keys live: shipped with the app, then added to this profile."""
    folders = [resources_dir() / KEYS_DIR]
    if profile_dir is not None:
        folders.append(profile_dir / KEYS_DIR)
    return folders


# -- format ---------------------------------------------------------------------------------


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: sorted keys, no spaces, UTF-8 (see the module docstring).

    Raises:
        CatalogError: ``catalog.bundle_malformed`` for text that cannot be UTF-8 (lone
            surrogates from ``\\ud800`` escapes).
    """
    try:
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError):
        raise CatalogError("catalog.bundle_malformed", reason="not_canonical") from None


def content_digest(files: Mapping[str, str]) -> str:
    """Hex SHA-256 of the canonical files: the identity of a catalog's content."""
    return hashlib.sha256(canonical_bytes(files)).hexdigest()


def bundle_etag(data: bytes) -> str:
    """The strong ETag of a bundle file: its SHA-256 in quotes."""
    return f'"{hashlib.sha256(data).hexdigest()}"'


def check_path(path: str) -> None:
    """Refuse a file path that could land outside the catalog folder on any system.

    Raises:
        CatalogError: ``catalog.bundle_path`` (absolute, ``..``, drive letters, backslashes,
            hidden or empty parts, names Windows would change).
    """
    parts = path.split("/")
    if (not path or len(path) > _MAX_PATH or PurePosixPath(path).is_absolute()
            or any(not part or part.startswith(".") or part.endswith((" ", "."))
                   or _BAD_NAME_CHARS.search(part) for part in parts)):
        raise CatalogError("catalog.bundle_path", path=ascii(path[:_MAX_PATH]))


def _check_paths(paths: Iterable[str]) -> None:
    folded: set[str] = set()
    for path in paths:
        check_path(path)
        key = path.casefold()
        if key in folded:  # one file on Windows and macOS: the second would overwrite it
            raise CatalogError("catalog.bundle_path", path=ascii(path), reason="duplicate")
        folded.add(key)
    for path in folded:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in folded:  # a file that is also a folder
                raise CatalogError("catalog.bundle_path", path=ascii(path), reason="conflict")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:  # two values for one key: which one was signed would be ambiguous
            raise ValueError("duplicate key")
        result[key] = value
    return result


def _no_floats(text: str) -> Any:
    raise ValueError("numbers in a bundle are integers")


def _malformed(reason: str) -> CatalogError:
    return CatalogError("catalog.bundle_malformed", reason=reason)


def _timestamp(document: Mapping[str, Any], name: str) -> datetime:
    value = document.get(name)
    if not isinstance(value, str):
        raise _malformed(name)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _malformed(name) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _malformed(name)
    return moment


def _parse(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_BUNDLE_BYTES:
        raise _malformed("too_large")
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys,
                              parse_float=_no_floats, parse_constant=_no_floats)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _malformed("json") from None
    if not isinstance(document, dict):
        raise _malformed("json")
    return document


def read_bundle(data: bytes, trusted_keys: TrustedKeys) -> Bundle:
    """Check a bundle's structure, paths, signature and digest (not its age or version).

    Raises:
        CatalogError: ``catalog.bundle_malformed``, ``catalog.bundle_format``,
            ``catalog.bundle_unsigned``, ``catalog.bundle_unknown_key``,
            ``catalog.bundle_bad_signature``, ``catalog.bundle_digest`` or
            ``catalog.bundle_path``.
    """
    document = _parse(data)
    if document.get("format") != BUNDLE_FORMAT:
        raise CatalogError("catalog.bundle_format")
    unknown = set(document) - _FIELDS - {"signature"}
    missing = _FIELDS - set(document)
    if unknown or missing:
        raise _malformed("fields")
    version = document["version"]
    if isinstance(version, bool) or not isinstance(version, int) or not (
            1 <= version <= MAX_VERSION):
        raise _malformed("version")
    issued_at = _timestamp(document, "issuedAt")
    expires_at = _timestamp(document, "expiresAt")
    if expires_at <= issued_at:
        raise _malformed("expiresAt")
    files = document["files"]
    if (not isinstance(files, dict) or not files or len(files) > MAX_FILES
            or not all(isinstance(text, str) for text in files.values())):
        raise _malformed("files")
    digest, kid = document["sha256"], document["keyId"]
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise _malformed("sha256")
    if not isinstance(kid, str) or not _HEX16.fullmatch(kid):
        raise _malformed("keyId")
    signature_text = document.pop("signature", None)
    if signature_text is None or signature_text == "":
        raise CatalogError("catalog.bundle_unsigned")
    public_key = trusted_keys.get(kid)
    if public_key is None:
        raise CatalogError("catalog.bundle_unknown_key", key_id=kid)
    try:
        if not isinstance(signature_text, str):
            raise ValueError("not text")
        signature = base64.b64decode(signature_text, validate=True)
        if len(signature) != _SIGNATURE_BYTES:
            raise ValueError("length")
        public_key.verify(signature, canonical_bytes(document))
    except (ValueError, binascii.Error, InvalidSignature):
        raise CatalogError("catalog.bundle_bad_signature", key_id=kid) from None
    # Signed, so the signer's own mistake: the files do not match the digest it declared.
    if content_digest(files) != digest:
        raise CatalogError("catalog.bundle_digest")
    # After the signature: an unsigned file's paths are never echoed into an error.
    _check_paths(files)
    return Bundle(version=version, issued_at=issued_at, expires_at=expires_at, key_id=kid,
                  content_sha256=digest, files=files, raw=data)


def check_freshness(bundle: Bundle, *, now: datetime, installed: Bundle | None) -> None:
    """Refuse expired metadata and anything that would move the installed catalog back.

    The installed version with the same content passes (nothing to do); with other content it
    is a replay or a signer reusing a number, and is refused.

    Raises:
        CatalogError: ``catalog.bundle_expired``, ``catalog.bundle_rollback`` or
            ``catalog.bundle_replay``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if bundle.expired(now):
        raise CatalogError("catalog.bundle_expired", version=bundle.version,
                           expires_at=bundle.expires_at.isoformat())
    if installed is None:
        return
    if bundle.version < installed.version:
        raise CatalogError("catalog.bundle_rollback", version=bundle.version,
                           installed=installed.version)
    if bundle.version == installed.version and bundle.content_sha256 != installed.content_sha256:
        raise CatalogError("catalog.bundle_replay", version=bundle.version)


def unpack(bundle: Bundle, folder: Path) -> None:
    """Write the bundle's files under `folder` (paths were checked by `read_bundle`)."""
    root = folder.resolve()
    for path, text in bundle.files.items():
        target = root.joinpath(*path.split("/"))
        if not target.resolve().is_relative_to(root):  # second line of defence
            raise CatalogError("catalog.bundle_path", path=ascii(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))


def load_bundle_catalog(bundle: Bundle) -> Catalog:
    """Load the catalog a bundle holds, through the same loader as a folder.

    Raises:
        CatalogError: ``catalog.bundle_broken`` with the loader's file, line, key and
            expectation; ``catalog.bundle_unreadable`` when the temporary folder fails.
    """
    try:
        with tempfile.TemporaryDirectory(prefix="madoguchi-catalog-") as temp:
            unpack(bundle, Path(temp))
            return load_catalog(Path(temp))
    except CatalogError as exc:
        if exc.message_id == "catalog.bundle_path":
            raise
        raise CatalogError("catalog.bundle_broken", cause=exc.message_id,
                           **exc.params) from None
    except OSError as exc:
        raise CatalogError("catalog.bundle_unreadable", reason=type(exc).__name__) from None


def verify_bundle(data: bytes, trusted_keys: TrustedKeys, *, now: datetime,
                  installed: Bundle | None = None) -> VerifiedBundle:
    """Every check of a bundle, including that its catalog loads.

    Raises:
        CatalogError: the first check that fails (see `read_bundle`, `check_freshness`,
            `load_bundle_catalog`).
    """
    bundle = read_bundle(data, trusted_keys)
    check_freshness(bundle, now=now, installed=installed)
    return VerifiedBundle(bundle, load_bundle_catalog(bundle))


# -- signing ------------------------------------------------------------------------------


def collect_files(folder: Path) -> dict[str, str]:
    """The text of every file of a catalog folder, by relative POSIX path.

    Hidden files and folders (``.git``, editor files) are left out.

    Raises:
        CatalogError: ``catalog.bundle_source`` for a symlink or a file that is not UTF-8 text.
    """
    if not folder.is_dir():
        raise CatalogError("catalog.missing", file=str(folder))
    files: dict[str, str] = {}
    for top, dirs, names in os.walk(folder, followlinks=False):
        base = Path(top)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in [*dirs, *names]:
            path = base / name
            relative = path.relative_to(folder).as_posix()
            if name.startswith("."):
                continue
            if path.is_symlink():  # would pull in a file from outside the folder
                raise CatalogError("catalog.bundle_source", file=relative, reason="symlink")
            if name in dirs or not path.is_file():
                continue
            try:
                files[relative] = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                raise CatalogError("catalog.bundle_source", file=relative,
                                   reason="not_utf8") from None
    _check_paths(files)
    return dict(sorted(files.items()))


def build_bundle(files: Mapping[str, str], signing_key: Ed25519PrivateKey, *, version: int,
         issued_at: datetime, expires_at: datetime) -> bytes:
    """Build and sign a bundle of `files` (no checks of the files: see `sign_catalog`)."""
    document: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "version": version,
        "issuedAt": issued_at.isoformat(),
        "expiresAt": expires_at.isoformat(),
        "keyId": key_id(signing_key.public_key()),
        "files": dict(files),
        "sha256": content_digest(files),
    }
    document["signature"] = base64.b64encode(
        signing_key.sign(canonical_bytes(document))).decode("ascii")
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def sign_catalog(folder: Path | None, signing_key: Ed25519PrivateKey, *, version: int,
                 issued_at: datetime, valid_for: timedelta) -> bytes:
    """Sign a catalog folder into a bundle, after checking that it loads.

    Raises:
        CatalogError: the loader's first error, ``catalog.bundle_source`` or
            ``catalog.bundle_malformed`` (version out of range, no validity period, naive
            time).
    """
    if isinstance(version, bool) or not 1 <= version <= MAX_VERSION:
        raise _malformed("version")
    if valid_for <= timedelta(0) or issued_at.tzinfo is None:
        raise _malformed("expiresAt")
    root = folder or default_catalog_dir()
    files = collect_files(root)
    load_catalog(root)  # the loader's own errors name the file and line for the author
    data = build_bundle(files, signing_key, version=version, issued_at=issued_at,
                        expires_at=issued_at + valid_for)
    # The file that leaves this machine must pass the device's own checks, loading included.
    public_key = signing_key.public_key()
    verify_bundle(data, {key_id(public_key): public_key}, now=issued_at)
    return data


def bundle_version(path: Path) -> int | None:
    """The version a bundle file declares (unverified), or None: for the gateway's meta.

    The gateway need not hold the trusted keys; devices verify what they fetch.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BUNDLE_BYTES + 1)
        version = _parse(data).get("version")
    except (OSError, CatalogError):
        return None
    if isinstance(version, bool) or not isinstance(version, int):
        return None
    return version


# -- the profile ----------------------------------------------------------------------------


def _read_installed(path: Path, trusted_keys: TrustedKeys) -> Bundle | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CatalogError("catalog.bundle_unreadable", file=path.name,
                           reason=type(exc).__name__) from None
    return read_bundle(data, trusted_keys)


def last_good_bundle(profile_dir: Path, trusted_keys: TrustedKeys) -> Bundle | None:
    """The installed bundle updates are measured against: current, else previous, else None.

    Only authenticity is checked here (signature, digest, paths), not age: an update must
    not move back from a version the device has held, even an expired one.
    """
    folder = profile_dir / CATALOG_DIR
    for name in (CURRENT_BUNDLE, PREVIOUS_BUNDLE):
        try:
            bundle = _read_installed(folder / name, trusted_keys)
        except CatalogError as exc:
            log.warning("installed catalog bundle %s skipped: %s", name, exc.message_id)
            continue
        if bundle is not None:
            return bundle
    return None


def install_bundle(profile_dir: Path, data: bytes, trusted_keys: TrustedKeys, *,
                   now: datetime) -> InstallResult:
    """Verify a bundle and make it the profile's current one, keeping the last good one.

    The current bundle (when it is authentic) is first copied to ``previous.bundle``, then the
    new one replaces ``current.bundle``; each write is atomic (temp file, fsync, replace, fsync
    folder), so a crash at any point leaves a valid current and previous bundle.

    Raises:
        CatalogError: the refusal (see `verify_bundle`); nothing was written.
        OSError: the profile could not be written; the installed bundles are unchanged.
    """
    installed = last_good_bundle(profile_dir, trusted_keys)
    bundle = read_bundle(data, trusted_keys)
    check_freshness(bundle, now=now, installed=installed)
    if installed is not None and installed.version == bundle.version:
        return InstallResult("unchanged", bundle.version)  # same content: checked above
    catalog = load_bundle_catalog(bundle)
    folder = profile_dir / CATALOG_DIR
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        fsync_dir(profile_dir)
    current = folder / CURRENT_BUNDLE
    if installed is not None and current.exists() and installed.raw == current.read_bytes():
        atomic_write(folder / PREVIOUS_BUNDLE, installed.raw)
    atomic_write(current, data)
    log.info("catalog bundle version %d installed", bundle.version)
    return InstallResult("installed", bundle.version, catalog)


def active_catalog(profile_dir: Path, trusted_keys: TrustedKeys,
                   now: datetime) -> ActiveCatalog:
    """The catalog to use: the current bundle, else the previous one, else the shipped one.

    A bundle that fails any check (or whose catalog no longer loads, e.g. after an app
    upgrade) is skipped and reported in `problems`; the app never runs on a broken catalog.

    Raises:
        CatalogError: only when the shipped catalog itself does not load.
    """
    folder = profile_dir / CATALOG_DIR
    problems: list[CatalogError] = []
    origins: tuple[tuple[Origin, str], ...] = (("current", CURRENT_BUNDLE),
                                               ("previous", PREVIOUS_BUNDLE))
    for origin, name in origins:
        try:
            bundle = _read_installed(folder / name, trusted_keys)
            if bundle is None:
                continue
            catalog = load_bundle_catalog(bundle)
        except CatalogError as exc:
            log.warning("installed catalog bundle %s skipped: %s", name, exc.message_id)
            problems.append(CatalogError(exc.message_id, bundle=name, **exc.params))
            continue
        return ActiveCatalog(catalog, bundle.version, origin, expired=bundle.expired(now),
                             problems=tuple(problems))
    return ActiveCatalog(load_catalog(), None, "shipped", problems=tuple(problems))


def load_active_catalog(profile_dir: Path, now: datetime) -> ActiveCatalog:
    """The app's entry point: trusted keys from the app and the profile, then the catalog.

    Args:
        profile_dir: The device profile (``catalog/`` and ``catalog-keys/`` live in it).
        now: The current time, timezone-aware.
    """
    keys, key_problems = load_trusted_keys(trusted_key_folders(profile_dir))
    active = active_catalog(profile_dir, keys, now)
    if key_problems:
        return ActiveCatalog(active.catalog, active.version, active.origin, active.expired,
                             tuple(key_problems) + active.problems)
    return active
