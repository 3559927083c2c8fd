"""All cryptography of the device: the AES-256-GCM envelope that seals drafts at rest.

Each draft has its own data key (DEK); the DEK is stored wrapped by the device key (KEK).
Associated data binds every ciphertext to its table, row, column, record version and key id,
so a ciphertext moved to another row or altered fails to open and is reported as tampered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from desk.errors import TamperedError

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
