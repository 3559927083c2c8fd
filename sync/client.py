"""HTTP client of the linkage API: every response becomes a Receipt or a sync.errors exception."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self

import httpx
from pydantic import ValidationError

from desk import __version__
from sync.errors import (
    AuthenticationError,
    ConflictError,
    RejectedError,
    SyncError,
    TransientError,
)
from sync.protocol import (
    API_PREFIX,
    IDEMPOTENCY_KEY_HEADER,
    ApiError,
    ApplicationPayload,
    ErrorCode,
    ErrorEnvelope,
    Receipt,
    SuccessEnvelope,
)

# Connecting should be quick on a municipal network; a slow connect means the link is down
# and the outbox should move on rather than hold the worker.
_CONNECT_TIMEOUT_S = 5.0

# Transport failures after which the request may or may not have arrived: safe to retry
# because the idempotency key makes a repeat harmless.
_TRANSIENT_TRANSPORT_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


def build_http_client(
    base_url: str, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """Create the one HTTP client configuration used to talk to the gateway.

    Args:
        base_url: Gateway base URL, e.g. ``https://gateway.example.lg.jp``.
        timeout: Read, write and pool timeout in seconds (connect is capped at 5 s).
        transport: Replacement transport (``httpx.MockTransport`` in tests).

    Returns:
        An ``httpx.Client`` that never follows redirects and asks for JSON.
    """
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, _CONNECT_TIMEOUT_S)),
        # A redirect would re-send personal data to an address nobody configured.
        follow_redirects=False,
        headers={"Accept": "application/json", "User-Agent": f"madoguchi-desk/{__version__}"},
        transport=transport,
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header as seconds to wait.

    Args:
        value: The header value: delta-seconds or an HTTP date.
        now: Current time for the HTTP-date form; defaults to the system clock.

    Returns:
        Non-negative seconds, or None if absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _error_envelope(response: httpx.Response) -> list[ApiError]:
    try:
        return list(ErrorEnvelope.model_validate_json(response.content).errors)
    except ValidationError:
        # Not the standard envelope (a proxy's HTML page, an empty body): no codes to show.
        return []


def raise_for_response(response: httpx.Response) -> None:
    """Map a non-success response onto the exception tree; return quietly for 2xx.

    Args:
        response: A response from the gateway (body already read).

    Raises:
        TransientError: 408, 429, any 5xx (JSON or not), or an unexpected 1xx/3xx.
        AuthenticationError: 401.
        ConflictError: 409 carrying ``E1009``.
        RejectedError: Any other 4xx, with the envelope's errors when present.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status in (408, 429) or status >= 500:
        raise TransientError(f"HTTP {status}", status=status, retry_after=retry_after)
    if status < 400:
        # Redirects are not followed; on these networks one usually means a captive portal
        # or proxy in the way, not a verdict on the application, so try again later.
        raise TransientError(f"unexpected HTTP {status}", status=status, retry_after=retry_after)
    errors = _error_envelope(response)
    if status == 401:
        raise AuthenticationError(status, errors)
    if status == 409 and any(e.code == ErrorCode.IDEMPOTENCY_CONFLICT for e in errors):
        raise ConflictError(status, errors)
    raise RejectedError(status, errors)


def _receipt(response: httpx.Response) -> Receipt:
    try:
        envelope = SuccessEnvelope.model_validate_json(response.content)
        return Receipt.model_validate(envelope.result[0])
    except (ValidationError, IndexError) as exc:
        # A 2xx we cannot read may still mean the gateway stored the application; resending
        # with the same key replays the stored receipt, so this is worth a retry.
        raise TransientError(
            f"unreadable HTTP {response.status_code} body", status=response.status_code
        ) from exc


class LinkageClient:
    """Talks to the gateway's linkage API; safe to use from one worker thread at a time."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Create a client.

        Args:
            base_url: Gateway base URL.
            timeout: Per-request timeout in seconds.
            transport: Replacement transport (``httpx.MockTransport`` in tests).
        """
        self._http = build_http_client(base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()

    def _request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        try:
            return self._http.request(method, url, **kwargs)  # type: ignore[arg-type]
        except _TRANSIENT_TRANSPORT_ERRORS as exc:
            # The exception's text can contain the URL but never the body; keep only its type.
            raise TransientError(f"network error: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise SyncError(f"request failed: {type(exc).__name__}") from exc

    def health(self) -> bool:
        """Return True if the gateway answers its liveness check.

        Returns:
            True on 200 with ``{"status": "ok"}``; False on any error or other answer.
        """
        try:
            response = self._request("GET", "/health")
            return response.status_code == 200 and response.json().get("status") == "ok"
        except (SyncError, ValueError, AttributeError):
            return False

    def submit(self, payload: ApplicationPayload) -> Receipt:
        """Submit one application; repeating the call is safe (idempotent on its id).

        Args:
            payload: The application; its ``metadata.applicationId`` is the idempotency key.

        Returns:
            The receipt with 受付番号 and server time (the original one on a replay).

        Raises:
            TransientError: Retry later (network, timeout, 408, 429, 5xx).
            ConflictError: The id was already used with a different body.
            RejectedError: The gateway refused the application; see ``errors``.
            SyncError: The request could not be made at all, or the receipt is for another id.
        """
        application_id = payload.metadata.application_id
        response = self._request(
            "POST",
            f"{API_PREFIX}/applications",
            json=payload.model_dump(mode="json", by_alias=True),
            headers={IDEMPOTENCY_KEY_HEADER: application_id},
        )
        raise_for_response(response)
        receipt = _receipt(response)
        if receipt.application_id != application_id:
            raise SyncError("receipt is for a different application")
        return receipt

    def get_application(self, application_id: str) -> Receipt:
        """Fetch the receipt and current status of one application.

        Args:
            application_id: The ULID of the application.

        Returns:
            Its receipt, with the current status.

        Raises:
            TransientError: Retry later.
            RejectedError: Unknown application (404) or other refusal.
        """
        response = self._request("GET", f"{API_PREFIX}/applications/{application_id}")
        raise_for_response(response)
        return _receipt(response)
