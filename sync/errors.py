"""The linkage exception tree: transient (retry later) versus rejected (needs staff attention)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.protocol import ApiError


class SyncError(Exception):
    """Base of every linkage error; also "the request could not be made at all".

    Messages name HTTP statuses and error codes only: never payload content, server-supplied
    message text, tokens or anything else that could carry personal data into a log.
    """


class TransientError(SyncError):
    """A failure that may heal by itself: network error, timeout, 408, 429 or any 5xx.

    The outbox retries these with backoff. Because every submission carries its idempotency
    key, a retry after an unknown outcome can never create a second application.

    Attributes:
        retry_after: Seconds the server asked us to wait (``Retry-After``), or None.
        status: The HTTP status, or None when no response arrived at all.
    """

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(reason)


class UnreachableError(TransientError):
    """No connection could be made (refused, no route, connect timeout): nothing was sent.

    Every other request would fail the same way, so the outbox pauses the whole pass.
    """


class InvalidResponseError(TransientError):
    """The gateway answered something this client cannot read (a proxy's page, a body of an
    unexpected shape). Transient: a captive portal or a half-deployed gateway heals; a
    resubmission with the same idempotency key is harmless.

    The message names the fields that failed, never their values.
    """


class TlsError(SyncError):
    """The TLS handshake failed: the server's certificate is not from the configured CA, or
    does not name the host. Nothing was sent; this is configuration (or interception), not
    something a retry of one item can fix."""


class RejectedError(SyncError):
    """The gateway refused the request (a 4xx other than 408/429); retrying will not help.

    Attributes:
        status: The HTTP status.
        errors: The standard envelope's errors; empty when the body was not an envelope.
    """

    def __init__(self, status: int, errors: Sequence[ApiError] = ()) -> None:
        self.status = status
        self.errors: list[ApiError] = list(errors)
        codes = ",".join(error.code for error in self.errors) or "-"
        # Codes only: server messages are meant for staff screens, not for logs.
        super().__init__(f"HTTP {status} rejected (codes: {codes})")

    @property
    def codes(self) -> list[str]:
        """The error codes in the order the server sent them."""
        return [error.code for error in self.errors]


class AuthenticationError(RejectedError):
    """Credentials refused: the token endpoint said ``invalid_client``, or a call was refused
    with 401 again right after a fresh token. The device needs new credentials."""


class ForbiddenError(RejectedError):
    """403: this device may not make this call (scope, tenant). Not one item's fault."""


class ConflictError(RejectedError):
    """409 ``E1009``: the idempotency key was already used with a different body."""
