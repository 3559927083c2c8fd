"""All cryptography of the device: the AES-256-GCM envelope, key derivation and secret hashing.

Each draft has its own data key (DEK); the DEK is stored wrapped by the device key (KEK).
Associated data binds every ciphertext to its table, row, column, record version and key id,
so a ciphertext moved to another row or altered fails to open and is reported as tampered.

Staff PINs/passwords are hashed, and passphrase-protected device keys derived, with Argon2id
(scrypt where the platform's OpenSSL lacks Argon2id). The parameters of every derivation are
stored next to its result and honoured on read, so the default cost can rise without losing
old hashes or keys.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from desk.errors import KeyUnavailableError, TamperedError

BLOB_FORMAT = 1  # leading byte of every blob, so the format can change without losing old data
NONCE_BYTES = 12
KEY_BYTES = 32


@dataclass(frozen=True)
class Binding:
    """Where a ciphertext belongs; becomes the AEAD associated data."""

    table: str
    row_id: str
    column: str
    record_version: int
    key_id: str

    def associated_data(self) -> bytes:
        """Serialize unambiguously (fields may not contain the separator)."""
        parts = (f"v{BLOB_FORMAT}", self.table, self.row_id, self.column,
                 str(self.record_version), self.key_id)
        if any("\x1f" in p for p in parts):
            raise ValueError("binding fields must not contain the unit separator")
        return "\x1f".join(parts).encode()


def new_key() -> bytes:
    """Return a fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, binding: Binding) -> bytes:
    """Encrypt `plaintext` for the place named by `binding`.

    Blob layout: format byte, key-id length, key id (ASCII), 96-bit nonce, ciphertext + tag.
    """
    key_id = binding.key_id.encode("ascii")
    if len(key_id) > 255:
        raise ValueError("key id too long")
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, binding.associated_data())
    return bytes([BLOB_FORMAT, len(key_id)]) + key_id + nonce + ciphertext


def blob_key_id(blob: bytes) -> str:
    """Return the key id recorded in a blob's header."""
    if len(blob) < 2 or blob[0] != BLOB_FORMAT:
        raise TamperedError("store.tampered")
    return blob[2 : 2 + blob[1]].decode("ascii", errors="replace")


def open_sealed(key: bytes, blob: bytes, binding: Binding) -> bytes:
    """Decrypt a blob made by `seal` for the same binding.

    Raises:
        TamperedError: the blob is malformed, altered, or belongs to another place or key.
    """
    if len(blob) < 2 or blob[0] != BLOB_FORMAT:
        raise TamperedError("store.tampered")
    header = 2 + blob[1]
    if blob_key_id(blob) != binding.key_id or len(blob) < header + NONCE_BYTES + 16:
        raise TamperedError("store.tampered")
    nonce = blob[header : header + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, blob[header + NONCE_BYTES :], binding.associated_data())
    except InvalidTag as exc:
        raise TamperedError("store.tampered") from exc


def wrap_key(kek: bytes, dek: bytes, binding: Binding) -> bytes:
    """Wrap a data key with the device key, bound to the row that owns it."""
    return seal(kek, dek, binding)


def unwrap_key(kek: bytes, wrapped: bytes, binding: Binding) -> bytes:
    """Unwrap a data key; TamperedError if it was moved or altered."""
    return open_sealed(kek, wrapped, binding)


# -- key derivation and secret hashing ---------------------------------------------------------

SALT_BYTES = 16
HASH_BYTES = 32
ARGON2ID = "argon2id"
SCRYPT = "scrypt"
# RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes): about 0.15 s on a counter PC.
ARGON2ID_COST: Mapping[str, int] = {"m": 65536, "t": 3, "p": 4}
# OWASP's scrypt floor doubled (64 MiB): about 0.2 s, for builds without Argon2id.
SCRYPT_COST: Mapping[str, int] = {"n": 2**16, "r": 8, "p": 1}

# Canonical order of each scheme's cost parameters, and their accepted ranges. The upper bounds
# keep a damaged or hostile stored string from asking for gigabytes of memory or hours of work.
_COST_NAMES = {ARGON2ID: ("m", "t", "p"), SCRYPT: ("n", "r", "p")}
_COST_RANGES = {
    ARGON2ID: {"m": (8, 2**20), "t": (1, 64), "p": (1, 16)},
    SCRYPT: {"n": (2, 2**20), "r": (1, 32), "p": (1, 16)},
}
_MAX_KDF_MEMORY = 2**30  # bytes, for either scheme
_SALT_RANGE = (8, 64)
_HASH_RANGE = (16, 64)
_NUMBER = re.compile(r"[0-9]{1,10}")
_B64 = re.compile(r"[A-Za-z0-9+/]+")


class KdfUnavailableError(KeyUnavailableError):
    """This platform's OpenSSL cannot run the scheme named by stored parameters."""

    message_id = "store.kdf_unsupported"


@dataclass(frozen=True)
class KdfParams:
    """Everything needed to repeat one derivation: scheme, salt and cost parameters.

    `cost` holds the scheme's parameters in canonical order: Argon2id `m` (memory in KiB),
    `t` (passes), `p` (lanes); scrypt `n` (CPU/memory cost, a power of two), `r` (block
    size), `p` (parallelism). Construction validates everything, so a KdfParams read back
    from storage is safe to run.
    """

    scheme: str
    salt: bytes
    cost: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        if self.scheme not in _COST_NAMES:
            raise ValueError("unknown KDF scheme")
        if not _SALT_RANGE[0] <= len(self.salt) <= _SALT_RANGE[1]:
            raise ValueError("KDF salt length out of range")
        names = tuple(name for name, _ in self.cost)
        if names != _COST_NAMES[self.scheme]:
            raise ValueError("KDF cost parameters do not match the scheme")
        ranges = _COST_RANGES[self.scheme]
        for name, value in self.cost:
            low, high = ranges[name]
            # bool is an int subclass; a stored `true` must not pass for 1.
            if type(value) is not int or not low <= value <= high:
                raise ValueError("KDF cost parameter out of range")
        cost = dict(self.cost)
        if self.scheme == ARGON2ID:
            if cost["m"] < 8 * cost["p"] or cost["m"] * 1024 > _MAX_KDF_MEMORY:
                raise ValueError("Argon2id memory out of range")
        elif cost["n"] & (cost["n"] - 1) or 128 * cost["n"] * cost["r"] > _MAX_KDF_MEMORY:
            raise ValueError("scrypt cost out of range")

    @classmethod
    def new(cls, scheme: str | None = None, cost: Mapping[str, int] | None = None) -> KdfParams:
        """Return parameters with a fresh random salt.

        Args:
            scheme: "argon2id" or "scrypt"; None picks Argon2id where the platform has it.
            cost: the scheme's cost parameters; None takes the default for the scheme.
                Tests pass cheap ones (e.g. ``{"m": 64, "t": 1, "p": 1}``).
        """
        if scheme is None:
            scheme = ARGON2ID if argon2id_available() else SCRYPT
        if cost is None:
            cost = ARGON2ID_COST if scheme == ARGON2ID else SCRYPT_COST
        names = _COST_NAMES.get(scheme, ())
        if set(cost) != set(names):
            raise ValueError("KDF cost parameters do not match the scheme")
        return cls(scheme, os.urandom(SALT_BYTES), tuple((name, cost[name]) for name in names))

    def with_fresh_salt(self) -> KdfParams:
        """Return the same scheme and cost with a new random salt."""
        return replace(self, salt=os.urandom(SALT_BYTES))

    def same_cost(self, other: KdfParams) -> bool:
        """Whether `other` uses the same scheme and cost (salts aside)."""
        return (self.scheme, self.cost) == (other.scheme, other.cost)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form: scheme, base64 salt, cost mapping."""
        return {"scheme": self.scheme, "salt": _b64encode(self.salt), "cost": dict(self.cost)}

    @classmethod
    def from_dict(cls, data: Any) -> KdfParams:
        """Read parameters written by `to_dict`.

        Raises:
            ValueError: anything missing, of the wrong type or out of range.
        """
        if not isinstance(data, Mapping) or set(data) != {"scheme", "salt", "cost"}:
            raise ValueError("KDF parameters malformed")
        scheme, salt, cost = data["scheme"], data["salt"], data["cost"]
        if not isinstance(scheme, str) or not isinstance(salt, str):
            raise ValueError("KDF parameters malformed")
        if not isinstance(cost, Mapping) or set(cost) != set(_COST_NAMES.get(scheme, ())):
            raise ValueError("KDF parameters malformed")
        names = _COST_NAMES[scheme]
        return cls(scheme, _b64decode(salt), tuple((name, cost[name]) for name in names))

    def cost_text(self) -> str:
        """Return the cost as in a stored hash, e.g. ``m=65536,t=3,p=4``."""
        return ",".join(f"{name}={value}" for name, value in self.cost)


@cache
def argon2id_available() -> bool:
    """Whether this platform's OpenSSL runs Argon2id (it needs OpenSSL 3.2 or later)."""
    try:
        Argon2id(salt=b"\0" * 8, length=4, iterations=1, lanes=1, memory_cost=8).derive(b"")
    except UnsupportedAlgorithm:
        return False
    return True


def _normalize(secret: str) -> bytes:
    # NFKC: a PIN typed with full-width digits (ＩＭＥ on) equals the same PIN in half-width.
    return unicodedata.normalize("NFKC", secret).encode("utf-8")


def _derive(secret: bytes, params: KdfParams, length: int) -> bytes:
    cost = dict(params.cost)
    try:
        if params.scheme == ARGON2ID:
            return Argon2id(salt=params.salt, length=length, iterations=cost["t"],
                            lanes=cost["p"], memory_cost=cost["m"]).derive(secret)
        return Scrypt(salt=params.salt, length=length, n=cost["n"], r=cost["r"],
                      p=cost["p"]).derive(secret)
    except UnsupportedAlgorithm as exc:
        raise KdfUnavailableError(scheme=params.scheme) from exc


def derive_key(secret: str, params: KdfParams) -> bytes:
    """Derive a 256-bit key from a passphrase (NFKC-normalized) with the given parameters.

    Raises:
        KdfUnavailableError: the platform cannot run `params.scheme`.
    """
    return _derive(_normalize(secret), params, KEY_BYTES)


def hash_secret(secret: str, params: KdfParams | None = None) -> str:
    """Hash a staff PIN or password for storage.

    The result names scheme, cost, salt and hash, e.g.
    ``argon2id$m=65536,t=3,p=4$<base64 salt>$<base64 hash>``.

    Args:
        secret: the PIN or password; NFKC-normalized first.
        params: scheme and cost to use (default: `KdfParams.new()`). A fresh salt is
            always drawn, so passing the same params for many secrets is safe.
    """
    params = (params or KdfParams.new()).with_fresh_salt()
    try:
        digest = _derive(_normalize(secret), params, HASH_BYTES)
    except KdfUnavailableError:
        if params.scheme != ARGON2ID:
            raise
        params = KdfParams.new(SCRYPT)
        digest = _derive(_normalize(secret), params, HASH_BYTES)
    return f"{params.scheme}${params.cost_text()}${_b64encode(params.salt)}${_b64encode(digest)}"


def _parse_hash(stored: str) -> tuple[KdfParams, bytes] | None:
    if not isinstance(stored, str) or not stored.isascii():
        return None
    parts = stored.split("$")
    if len(parts) != 4:
        return None
    scheme, cost_text, salt_text, hash_text = parts
    names = _COST_NAMES.get(scheme)
    if names is None:
        return None
    pairs = [item.partition("=") for item in cost_text.split(",")]
    if tuple(name for name, _, _ in pairs) != names:
        return None
    if not all(sep and _NUMBER.fullmatch(value) for _, sep, value in pairs):
        return None
    try:
        params = KdfParams(scheme, _b64decode(salt_text),
                           tuple((name, int(value)) for name, _, value in pairs))
        digest = _b64decode(hash_text)
    except ValueError:
        return None
    if not _HASH_RANGE[0] <= len(digest) <= _HASH_RANGE[1]:
        return None
    return params, digest


def verify_secret(secret: str, stored: str) -> bool:
    """Check a PIN or password against a stored hash, with the parameters stored in it.

    Returns False (never raises) for a wrong secret, a malformed stored string, or a scheme
    this platform cannot run. The comparison is constant-time.
    """
    parsed = _parse_hash(stored)
    if parsed is None or not isinstance(secret, str):
        return False
    params, expected = parsed
    try:
        actual = _derive(_normalize(secret), params, len(expected))
    except (KdfUnavailableError, ValueError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str, params: KdfParams | None = None) -> bool:
    """Whether a stored hash should be replaced (after a successful verify) by a new one.

    True when it is malformed or its scheme or cost differs from `params` (default: the
    current default, `KdfParams.new()`).
    """
    parsed = _parse_hash(stored)
    if parsed is None:
        return True
    return not parsed[0].same_cost(params or KdfParams.new())


def _b64encode(data: bytes) -> str:
    # PHC strings use standard base64 without padding.
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    if not _B64.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("bad base64")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("bad base64") from exc
