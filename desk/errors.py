"""The exception tree of the domain: every error carries a message id and parameters, never text."""

from __future__ import annotations

from typing import Any


class DeskError(Exception):
    """Base of every domain error.

    The UI turns `message_id` and `params` into a sentence in the user's language; `params`
    never hold personal data (no names, addresses, dates of birth or 個人番号).
    """

    message_id: str = "error.unexpected"

    def __init__(self, message_id: str | None = None, **params: Any) -> None:
        self.message_id = message_id or self.message_id
        self.params = params
        super().__init__(self.message_id)


class FieldError(DeskError):
    """Input that a field type cannot accept (bad date, unknown postal code, …)."""

    message_id = "field.invalid"


class CatalogError(DeskError):
    """A catalog file that cannot be loaded; params name the file, key path and expectation."""

    message_id = "catalog.invalid"


class StoreError(DeskError):
    """The encrypted store cannot do what was asked (disk full, I/O error, damaged file)."""

    message_id = "store.failed"


class TamperedError(StoreError):
    """A ciphertext that does not belong where it was found, or was altered."""

    message_id = "store.tampered"


class KeyUnavailableError(StoreError):
    """The device key cannot be read (locked keyring, no key store)."""

    message_id = "store.key_unavailable"


class RuleError(DeskError):
    """A catalog rule that cannot be parsed or checked; params give `column` and `expected`."""

    message_id = "rule.invalid"
