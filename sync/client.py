"""HTTP client of the linkage API: bearer tokens, every call, every answer mapped to sync.errors."""

from __future__ import annotations

import logging
import math
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from sync.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidResponseError,
    RejectedError,
    SyncError,
    TlsError,
    TransientError,
    UnreachableError,
)
from sync.http import build_http_client
from sync.protocol import (
    API_PREFIX,
    FEED_PAGE_LIMIT,
    IDEMPOTENCY_KEY_HEADER,
    TOKEN_PATH,
    ApiError,
    ApplicationPayload,
    ApplicationStatus,
    DeviceCredentials,
    ErrorCode,
    ErrorEnvelope,
    Handoff,
    HandoffReceipt,
    HandoffRequest,
    Meta,
    Receipt,
    ResidentCandidate,
    ResidentQuery,
    SuccessEnvelope,
    TokenResponse,
    WithdrawRequest,
)

__all__ = [
    "MAX_RETRY_AFTER_S",
    "TOKEN_REFRESH_MARGIN_S",
    "CatalogFetch",
    "LinkageClient",
    "parse_retry_after",
    "raise_for_response",
]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

TOKEN_REFRESH_MARGIN_S = 30.0
"""A cached token is replaced this long before it expires, so it never expires in flight."""

MAX_RETRY_AFTER_S = 3600.0
"""``Retry-After`` beyond this is taken as this: a misconfigured proxy saying "in a week"
must not park the outbox for a week."""

_OAUTH_ERROR = re.compile(r"[a-z_]{1,40}")
_SAFE_LOC = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")


@dataclass(frozen=True)
class CatalogFetch:
    """The answer to a conditional catalog download.

    Attributes:
        not_modified: The gateway answered 304: the catalog the device has is current.
        etag: The bundle's ETag (to send next time), or None if the gateway gave none.
        body: The signed bundle's bytes; empty when not modified.
    """

    not_modified: bool
    etag: str | None
    body: bytes


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # on the client's monotonic clock


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header as seconds to wait.

    Args:
        value: The header value: delta-seconds or an HTTP date.
        now: Current time for the HTTP-date form; defaults to the system clock. Pass the
            response's ``Date`` so a device clock that is days off does not matter.

    Returns:
        Non-negative seconds (uncapped), or None if absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        when = _http_date(text)
        if when is None:
            return None
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _http_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _retry_after(response: httpx.Response) -> float | None:
    # The HTTP-date form is measured against the server's own Date header when it sent one:
    # the difference is what the server meant, whatever the device clock says.
    server_now = _http_date(response.headers.get("Date"))
    seconds = parse_retry_after(response.headers.get("Retry-After"), now=server_now)
    return None if seconds is None else min(seconds, MAX_RETRY_AFTER_S)


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
        TransientError: 408, 429, any 5xx (JSON or not), or an unexpected 1xx/3xx; carries
            ``Retry-After`` (capped at `MAX_RETRY_AFTER_S`).
        AuthenticationError: 401.
        ForbiddenError: 403.
        ConflictError: 409 carrying ``E1009``.
        RejectedError: Any other 4xx, with the envelope's errors when present.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    if status in (408, 429) or status >= 500:
        raise TransientError(f"HTTP {status}", status=status, retry_after=_retry_after(response))
    if status < 400:
        # Redirects are not followed; on these networks one usually means a captive portal
        # or proxy in the way, not a verdict on the application, so try again later.
        raise TransientError(
            f"unexpected HTTP {status}", status=status, retry_after=_retry_after(response)
        )
    errors = _error_envelope(response)
    if status == 401:
        raise AuthenticationError(status, errors)
    if status == 403:
        raise ForbiddenError(status, errors)
    if status == 409 and any(e.code == ErrorCode.IDEMPOTENCY_CONFLICT for e in errors):
        raise ConflictError(status, errors)
    raise RejectedError(status, errors)


def _where(error: ValidationError) -> str:
    """Name the failing fields of a response (paths of field names only, never values)."""
    places = []
    for item in error.errors(include_url=False, include_input=False, include_context=False)[:3]:
        parts = [
            str(p) if isinstance(p, int) or _SAFE_LOC.fullmatch(str(p)) else "?"
            for p in item["loc"]
        ]
        places.append(f"{'.'.join(parts) or 'body'}:{item['type']}")
    return ", ".join(places)


def _results(response: httpx.Response, model: type[M]) -> list[M]:
    """Read the standard success envelope's ``result`` as a list of `model`.

    Raises:
        InvalidResponseError: The body is not an envelope of `model` entries. The pydantic
            error is not chained: its text would quote the response, which may hold
            personal data.
    """
    try:
        envelope = SuccessEnvelope.model_validate_json(response.content)
        return [model.model_validate(item) for item in envelope.result]
    except ValidationError as exc:
        where = _where(exc)
    raise InvalidResponseError(
        f"unreadable HTTP {response.status_code} body ({where})", status=response.status_code
    ) from None


def _one(response: httpx.Response, model: type[M]) -> M:
    results = _results(response, model)
    if len(results) != 1:
        raise InvalidResponseError(
            f"HTTP {response.status_code} body holds {len(results)} results, not 1",
            status=response.status_code,
        )
    return results[0]


def _caused_by_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # a bounded walk: cause chains are short, cycles are possible
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _segment(value: str) -> str:
    """One URL path segment; ids never carry "/", but a bad one must not change the path."""
    return quote(value, safe="")


class LinkageClient:
    """Talks to the gateway's linkage API; safe to use from one worker thread at a time.

    The access token lives in this object only (never stored, never logged); it is fetched
    with the device's client credentials on first use and refreshed shortly before it
    expires. A call answered 401 drops the token, fetches a new one and is repeated once.
    """

    def __init__(
        self,
        base_url: str,
        *,
        credentials: DeviceCredentials | None = None,
        ca_bundle: Path | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Create a client.

        Args:
            base_url: Gateway base URL.
            credentials: This device's client credentials (the secret loaded by the caller
                from the key store, ``desk.store.secrets``). None sends no Authorization
                header: only `health` works against a gateway that requires tokens.
            ca_bundle: The CA bundle to trust exclusively; None trusts the system CAs.
            timeout: Per-request timeout in seconds.
            transport: Replacement transport (tests).
            clock: Monotonic seconds for token expiry; defaults to ``time.monotonic``.
        """
        self._http = build_http_client(
            base_url, ca_bundle=ca_bundle, timeout=timeout, transport=transport
        )
        self._credentials = credentials
        self._clock = clock or time.monotonic
        self._token: _Token | None = None
        self.token_fetches = 0
        """How many tokens this client has fetched (figures and tests; never the token)."""

    def __repr__(self) -> str:
        # Never the token or the secret, whatever a caller logs.
        return f"LinkageClient({str(self._http.base_url)!r})"

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
        """Close pooled connections and forget the token."""
        self._token = None
        self._http.close()

    # -- transport ------------------------------------------------------------------------

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.ConnectError as exc:
            # Exception texts can contain the URL but never the body; keep only the type.
            if _caused_by_tls(exc):
                raise TlsError("TLS handshake failed: server certificate not trusted") from None
            raise UnreachableError(f"network error: {type(exc).__name__}") from None
        except httpx.ConnectTimeout as exc:
            raise UnreachableError(f"network error: {type(exc).__name__}") from None
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError,
                httpx.ProxyError, httpx.DecodingError) as exc:
            # The request may or may not have arrived: safe to retry, because the
            # idempotency key makes a repeat harmless.
            raise TransientError(f"network error: {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise SyncError(f"request failed: {type(exc).__name__}") from None

    # -- tokens ---------------------------------------------------------------------------

    def token(self) -> str:
        """Return a bearer token, fetching one if none is cached or it is about to expire.

        Returns:
            The access token (keep it in memory only).

        Raises:
            AuthenticationError: No credentials, or the gateway refused them.
            ForbiddenError: The token endpoint refused this device (403).
            TransientError: The token endpoint could not be reached or failed (retry later).
        """
        cached = self._token
        # A monotonic clock ignores wall-clock jumps; it may also stand still while a laptop
        # sleeps, and then the gateway's 401 on the stale token gets a fresh one (`_call`).
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.value
        self._token = None
        self._token = self._fetch_token()
        return self._token.value

    def _fetch_token(self) -> _Token:
        credentials = self._credentials
        if credentials is None:
            raise AuthenticationError(401, [ApiError(code="no_credentials", message="")])
        started = self._clock()
        # RFC 6749 §2.3.1: both parts are form-encoded before the Basic encoding.
        auth = httpx.BasicAuth(quote(credentials.client_id, safe=""),
                               quote(credentials.client_secret, safe=""))
        response = self._send(
            "POST", TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=auth
        )
        self.token_fetches += 1
        status = response.status_code
        if status in (400, 401):
            raise AuthenticationError(status, [ApiError(code=_oauth_error(response),
                                                        message="")])
        try:
            raise_for_response(response)
        except (ForbiddenError, TransientError):
            raise
        except RejectedError as exc:
            # No 4xx of the token endpoint is the fault of the application being sent.
            raise AuthenticationError(exc.status, exc.errors) from None
        try:
            issued = TokenResponse.model_validate_json(response.content)
        except ValidationError as exc:
            raise InvalidResponseError(
                f"unreadable token response ({_where(exc)})", status=status
            ) from None
        if issued.token_type.lower() != "bearer" or not issued.access_token:
            raise InvalidResponseError("token response is not a bearer token", status=status)
        margin = min(TOKEN_REFRESH_MARGIN_S, issued.expires_in / 2)
        log.debug("access token fetched (expires in %d s)", issued.expires_in)
        return _Token(issued.access_token, started + issued.expires_in - margin)

    def _headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self._credentials is not None:
            headers["Authorization"] = f"Bearer {self.token()}"
        return headers

    def _call(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (), **kwargs: Any,
    ) -> httpx.Response:
        """Make an authorized call: on 401 a fresh token and one repeat, then map errors.

        Args:
            method: HTTP method.
            url: Path below the base URL.
            headers: Extra request headers.
            ok: Non-2xx statuses the caller handles itself (e.g. 304).
            **kwargs: Passed to ``httpx.Client.request`` (json, params, ...).
        """
        response = self._send(method, url, headers=self._headers(headers), **kwargs)
        if response.status_code == 401 and self._credentials is not None:
            # Revoked, expired early, or issued by a restarted gateway: one fresh token.
            self._token = None
            response = self._send(method, url, headers=self._headers(headers), **kwargs)
        if response.status_code not in ok:
            raise_for_response(response)
        return response

    # -- calls ----------------------------------------------------------------------------

    def health(self) -> bool:
        """Return True if the gateway answers its liveness check (no token needed).

        Returns:
            True on 200 with ``{"status": "ok"}``; False on any error or other answer.
        """
        try:
            response = self._send("GET", "/health")
            return response.status_code == 200 and response.json().get("status") == "ok"
        except (SyncError, ValueError, AttributeError):
            return False

    def meta(self) -> Meta:
        """Server time, supported schema versions and who the gateway thinks we are.

        Raises:
            SyncError: A subclass naming what went wrong (see `raise_for_response`).
        """
        return _one(self._call("GET", f"{API_PREFIX}/meta"), Meta)

    def submit(self, payload: ApplicationPayload) -> Receipt:
        """Submit one application; repeating the call is safe (idempotent on its id).

        Args:
            payload: The application; its ``metadata.applicationId`` is the idempotency key.

        Returns:
            The receipt with 受付番号 and server time (the original one on a replay).

        Raises:
            TransientError: Retry later (network, timeout, 408, 429, 5xx, unreadable 2xx).
            AuthenticationError: Credentials refused (401 after a fresh token).
            ForbiddenError: This device may not submit (403).
            ConflictError: The id was already used with a different body.
            RejectedError: The gateway refused the application; see ``errors``.
            TlsError: The gateway's certificate is not trusted; nothing was sent.
        """
        application_id = payload.metadata.application_id
        response = self._call(
            "POST",
            f"{API_PREFIX}/applications",
            json=payload.model_dump(mode="json", by_alias=True),
            headers={IDEMPOTENCY_KEY_HEADER: application_id},
        )
        receipt = _one(response, Receipt)
        if receipt.application_id != application_id:
            # A gateway fault; retrying replays the stored receipt of the right id.
            raise InvalidResponseError("receipt is for a different application",
                                       status=response.status_code)
        return receipt

    def get_application(self, application_id: str) -> ApplicationStatus:
        """Fetch the current status and history of one application.

        Args:
            application_id: The ULID of the application.

        Raises:
            RejectedError: Unknown application (404) or other refusal.
            SyncError: Another subclass naming what went wrong.
        """
        url = f"{API_PREFIX}/applications/{_segment(application_id)}"
        return _one(self._call("GET", url), ApplicationStatus)

    def status_feed(
        self, cursor: int | None = None, limit: int = FEED_PAGE_LIMIT
    ) -> list[ApplicationStatus]:
        """One page of the status feed of this device's applications, in feed order.

        Args:
            cursor: The highest ``seq`` already seen; None from the start.
            limit: Page size (the gateway caps it at `FEED_PAGE_LIMIT`).

        Returns:
            Entries with ``seq`` above the cursor; a full page means more may follow.
        """
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        return _results(
            self._call("GET", f"{API_PREFIX}/applications", params=params), ApplicationStatus
        )

    def withdraw(self, application_id: str, reason_code: str | None = None) -> ApplicationStatus:
        """Withdraw (取下げ) an application; repeating it is harmless.

        Args:
            application_id: The ULID of the application.
            reason_code: An optional short code (no free text: it could carry personal data).

        Returns:
            The application's status after the withdrawal.

        Raises:
            RejectedError: ``E1010`` when a decision was already made, 404 when unknown.
            SyncError: Another subclass naming what went wrong.
        """
        body = WithdrawRequest(reason_code=reason_code).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        url = f"{API_PREFIX}/applications/{_segment(application_id)}/withdraw"
        return _one(self._call("POST", url, json=body), ApplicationStatus)

    def fetch_catalog(self, etag: str | None = None) -> CatalogFetch:
        """Download the signed catalog bundle unless the one held is current.

        Args:
            etag: The ETag of the bundle the device holds (sent as ``If-None-Match``).

        Returns:
            `CatalogFetch`: not modified (304), or the bundle's bytes and ETag. The bytes
            are not checked here: the caller verifies the signature before installing.
        """
        headers = {"Accept": "*/*"}
        if etag:
            headers["If-None-Match"] = etag
        response = self._call("GET", f"{API_PREFIX}/catalog", headers=headers, ok=(304,))
        new_etag = response.headers.get("ETag")
        if response.status_code == 304:
            return CatalogFetch(not_modified=True, etag=new_etag or etag, body=b"")
        return CatalogFetch(not_modified=False, etag=new_etag, body=response.content)

    def push_handoff(self, request: HandoffRequest) -> HandoffReceipt:
        """Leave a kiosk or desk draft's answers at the gateway for a counter to pick up.

        Raises:
            SyncError: A subclass naming what went wrong.
        """
        body = request.model_dump(mode="json", by_alias=True)
        return _one(self._call("POST", f"{API_PREFIX}/handoffs", json=body), HandoffReceipt)

    def pick_up_handoff(self, reference_code: str) -> Handoff:
        """Fetch a handoff by its reference code (counter staff only).

        Raises:
            RejectedError: 404 when unknown or expired.
            ForbiddenError: This device is not a counter.
            SyncError: Another subclass naming what went wrong.
        """
        url = f"{API_PREFIX}/handoffs/{_segment(reference_code)}"
        return _one(self._call("GET", url), Handoff)

    def match_residents(self, query: ResidentQuery) -> list[ResidentCandidate]:
        """Look up registry candidates for one person by 基本４情報 (counter staff only).

        Returns:
            Candidates (possibly none: a suppressed person looks exactly like not found).

        Raises:
            ForbiddenError: This device is not a counter.
            SyncError: Another subclass naming what went wrong.
        """
        body = query.model_dump(mode="json", exclude_none=True)
        response = self._call("POST", f"{API_PREFIX}/residents/match", json=body)
        return _results(response, ResidentCandidate)


def _oauth_error(response: httpx.Response) -> str:
    """The RFC 6749 §5.2 ``error`` code of a token refusal (a fixed vocabulary, no content)."""
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        code = None
    if isinstance(code, str) and _OAUTH_ERROR.fullmatch(code):
        return code
    return "invalid_client"
