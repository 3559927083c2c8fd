"""Deliver finalized applications from the store's outbox: exactly once, with persisted backoff.

What each answer of the gateway leads to is one table, `OUTCOMES` (error class → action); the
client (`sync.client.raise_for_response`) turns statuses into those classes:

- 2xx with a receipt → DONE: 受付番号 and server time stored, payload purged (one transaction).
- 400, 404, 409, 413, 422, any other 4xx → ATTENTION: parked for staff with the codes.
- 401 again after one fresh token, or the token refused → STOP "credentials_refused".
- 403 → STOP "device_forbidden". TLS certificate not trusted → STOP "tls_untrusted".
  STOP: the item is given back untouched (not its fault) and the pass ends.
- 408, 500, 502 (JSON or not), 504, timeouts, resets, an unreadable 2xx → RETRY: this item
  backs off (full jitter, 1 s … 15 min, stored as ``next_attempt_at``).
- Any of those with ``Retry-After`` (429, 503), or no connection at all → PAUSE: this item
  backs off (at least Retry-After, at most 1 h) and the rest of the batch waits as long.
- A payload that cannot be opened or no longer validates → ATTENTION for that item only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import re
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import ValidationError

from desk.errors import StoreError
from desk.store.drafts import MAX_RETRY_DELAY, DraftStore, OutboxEntry, ServerStatus
from desk.store.drafts import Receipt as StoredReceipt
from sync.client import MAX_RETRY_AFTER_S, LinkageClient
from sync.errors import (
    AuthenticationError,
    ForbiddenError,
    RejectedError,
    SyncError,
    TlsError,
    TransientError,
    UnreachableError,
)
from sync.protocol import FEED_PAGE_LIMIT, ApplicationPayload, ApplicationStatus

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 15 * 60.0
MAX_DELAY = dt.timedelta(seconds=max(BACKOFF_CAP_SECONDS, MAX_RETRY_AFTER_S))
"""The furthest ahead a retry is ever scheduled; the store treats anything later as due."""
assert MAX_DELAY == MAX_RETRY_DELAY, "desk.store.drafts.MAX_RETRY_DELAY must agree"

PAYLOAD_INVALID = "payload_invalid"  # last_error: the frozen payload no longer validates
INTERNAL_ERROR = "internal_error"  # last_error: handling the item raised something unexpected
_CODE = re.compile(r"[A-Za-z0-9_]{1,16}")
_FIELD = re.compile(r"[A-Za-z0-9_/~.-]{1,80}")


class Action(StrEnum):
    """What a pass does with an item after an answer (see the module table)."""

    DONE = "done"
    ATTENTION = "attention"
    RETRY = "retry"
    PAUSE = "pause"
    STOP = "stop"


class StopReason(StrEnum):
    """Why a pass ended early; none of these is the fault of the item being sent."""

    CREDENTIALS_REFUSED = "credentials_refused"
    DEVICE_FORBIDDEN = "device_forbidden"
    TLS_UNTRUSTED = "tls_untrusted"
    REQUEST_FAILED = "request_failed"  # the request could not be made (configuration)


# The documented action of every outcome, most specific class first (linkage-api.md "Delivery
# semantics", security.md test 10). A TransientError carrying Retry-After becomes PAUSE.
OUTCOMES: tuple[tuple[type[SyncError], Action, StopReason | None], ...] = (
    (AuthenticationError, Action.STOP, StopReason.CREDENTIALS_REFUSED),
    (ForbiddenError, Action.STOP, StopReason.DEVICE_FORBIDDEN),
    (TlsError, Action.STOP, StopReason.TLS_UNTRUSTED),
    (UnreachableError, Action.PAUSE, None),
    (TransientError, Action.RETRY, None),
    (RejectedError, Action.ATTENTION, None),
    (SyncError, Action.STOP, StopReason.REQUEST_FAILED),
)


def action_for(error: SyncError) -> tuple[Action, StopReason | None]:
    """Look an outcome up in `OUTCOMES`.

    Args:
        error: What ``LinkageClient.submit`` raised.

    Returns:
        The action, and the stop reason for STOP.
    """
    for kind, action, reason in OUTCOMES:
        if isinstance(error, kind):
            if action is Action.RETRY and isinstance(error, TransientError) and (
                error.retry_after is not None
            ):
                return Action.PAUSE, None
            return action, reason
    raise AssertionError("OUTCOMES ends with SyncError")  # pragma: no cover


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base · 2^attempts)]."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** min(attempts, 20)))
    return (rng or random.SystemRandom()).uniform(0, ceiling)


def refusal_text(error: RejectedError) -> str:
    """The stored form of a refusal: status, then each code with its field (≤ 200 chars).

    Only codes and field pointers are kept, never the server's message text: the staff
    screen words each code itself, and a free text from a gateway could quote a value.
    Example: ``"400 E0001@/procedures/0/data/shimei E0003"``.
    """
    parts = [str(error.status)]
    for item in error.errors:
        if not _CODE.fullmatch(item.code):
            continue
        where = item.field if item.field and _FIELD.fullmatch(item.field) else None
        part = item.code if where is None else f"{item.code}@{where}"
        if len(" ".join([*parts, part])) > 200:
            break
        parts.append(part)
    return " ".join(parts)


@dataclass(frozen=True)
class Refusal:
    """A refusal read back from ``last_error`` (for the staff screen)."""

    status: int | None
    codes: tuple[tuple[str, str | None], ...]  # (code, field pointer or None)

    @classmethod
    def parse(cls, text: str | None) -> Refusal:
        """Read `refusal_text` output; other texts (e.g. ``payload_unreadable``) give codes
        of their own with no status."""
        words = (text or "").split()
        status = int(words[0]) if words and words[0].isdigit() else None
        rest = words[1:] if status is not None else words
        codes = tuple(
            (code, where or None) for code, _, where in (word.partition("@") for word in rest)
        )
        return cls(status, codes)


@dataclass
class DeliveryReport:
    """What one pass over the outbox did (ids and 受付番号 only).

    Attributes:
        received: Application id → 受付番号 of the items done in this pass.
        retrying: Items scheduled for a later attempt.
        needs_attention: Items parked for staff (refused, or payload unreadable/invalid).
        stopped: Why the pass ended early, if it did; the items it did not reach stay
            pending untouched.
    """

    received: dict[str, str] = field(default_factory=dict)
    retrying: list[str] = field(default_factory=list)
    needs_attention: list[str] = field(default_factory=list)
    stopped: StopReason | None = None


def deliver_due(
    store: DraftStore,
    client: LinkageClient,
    *,
    now: dt.datetime | None = None,
    rng: random.Random | None = None,
    limit: int = 50,
) -> DeliveryReport:
    """Send every due outbox item once, acting on each answer as `OUTCOMES` says.

    Claimed items the pass does not reach (it stopped or paused, or something unexpected
    was raised) are given back untouched, so nothing is left in flight and no attempt is
    counted against them.

    Args:
        store: The device store.
        client: The linkage client (with this device's credentials).
        now: The current time (aware); defaults to the system clock.
        rng: Randomness for the backoff jitter (tests pass a seeded one).
        limit: At most this many items in this pass.

    Returns:
        What happened to each item, and why the pass stopped early if it did.
    """
    moment = now or dt.datetime.now(dt.UTC)
    batch = store.claim_batch(moment, limit, max_delay=MAX_DELAY)
    report = DeliveryReport(needs_attention=list(batch.parked))
    for application_id in batch.parked:
        log.warning("outbox item parked: payload unreadable (%s)", application_id)
    untouched = [entry.application_id for entry in batch.entries]
    # Receipts of the pass, stored together at its end (see DraftStore.record_receipts): the
    # items stay in flight until then, so a crash meanwhile sends them again and the gateway
    # answers with the receipts it stored.
    receipts: list[StoredReceipt] = []
    current: OutboxEntry | None = None
    try:
        for entry in batch.entries:
            untouched.remove(entry.application_id)
            current = entry
            action, not_before = _deliver_one(store, client, entry, moment, rng, receipts,
                                              report)
            current = None
            if action in (Action.STOP, Action.PAUSE):
                store.release(untouched, not_before=not_before)
                untouched = []
                break
    except Exception:
        with contextlib.suppress(StoreError):
            _store_receipts(store, receipts, report)
        _give_back(store, current, untouched, moment, rng)
        raise
    _store_receipts(store, receipts, report)
    return report


def _store_receipts(store: DraftStore, receipts: list[StoredReceipt],
                    report: DeliveryReport) -> None:
    """Store the pass's receipts; only then do they count as received."""
    store.record_receipts(receipts)
    for receipt in receipts:
        report.received[receipt.application_id] = receipt.uketsuke_bango
    receipts.clear()


def _give_back(store: DraftStore, current: OutboxEntry | None, untouched: list[str],
               moment: dt.datetime, rng: random.Random | None) -> None:
    """After an unexpected exception: nothing may stay in flight until the next start.

    The item being handled backs off like a transient failure (its attempt counts, so an item
    that keeps triggering a bug moves behind the others instead of blocking them); the items
    not reached are given back untouched. If the store itself is failing, that failure is
    what the caller sees, and `recover_in_flight` at the next start does the rest.
    """
    with contextlib.suppress(StoreError):
        if current is not None:
            when = moment + dt.timedelta(seconds=backoff_seconds(current.attempts, rng))
            store.record_retry(current.application_id, when, INTERNAL_ERROR)
        store.release(untouched)


def _deliver_one(
    store: DraftStore, client: LinkageClient, entry: OutboxEntry, moment: dt.datetime,
    rng: random.Random | None, receipts: list[StoredReceipt], report: DeliveryReport,
) -> tuple[Action, dt.datetime | None]:
    """Send one item and record the outcome (a receipt is added to `receipts` for the pass
    to store); returns the action and, for PAUSE, until when."""
    application_id = entry.application_id
    try:
        payload = ApplicationPayload.model_validate(entry.payload)
    except ValidationError:
        payload = None  # no chaining and no text: the error would quote the payload
    if payload is None or payload.metadata.application_id != application_id:
        store.record_attention(application_id, PAYLOAD_INVALID)
        report.needs_attention.append(application_id)
        log.warning("outbox item parked: payload invalid (%s)", application_id)
        return Action.ATTENTION, None
    try:
        receipt = client.submit(payload)
    except SyncError as error:
        return _on_error(store, entry, error, moment, rng, report)
    # Server time, never the device clock: the device clock may be days off.
    receipts.append(StoredReceipt(application_id, receipt.uketsuke_bango, receipt.received_at))
    return Action.DONE, None


def _on_error(
    store: DraftStore, entry: OutboxEntry, error: SyncError, moment: dt.datetime,
    rng: random.Random | None, report: DeliveryReport,
) -> tuple[Action, dt.datetime | None]:
    application_id = entry.application_id
    action, reason = action_for(error)
    if action is Action.ATTENTION:
        assert isinstance(error, RejectedError)
        store.record_attention(application_id, refusal_text(error))
        report.needs_attention.append(application_id)
        log.warning("delivery refused (status %s)", error.status)
        return action, None
    if action is Action.STOP:
        assert reason is not None
        store.release([application_id], error=reason.value)
        report.stopped = reason
        log.warning("delivery stopped: %s", reason.value)
        return action, None
    assert isinstance(error, TransientError)
    delay = backoff_seconds(entry.attempts, rng)
    if error.retry_after is not None:
        delay = max(delay, error.retry_after)
    when = moment + dt.timedelta(seconds=min(delay, MAX_DELAY.total_seconds()))
    store.record_retry(application_id, when, str(error.status or "network"))
    report.retrying.append(application_id)
    log.info("delivery deferred (status %s)", error.status or "network")
    return action, when if action is Action.PAUSE else None


def server_status_of(status: ApplicationStatus) -> ServerStatus:
    """The store's record of a gateway status (feed entry, lookup or withdraw answer)."""
    return ServerStatus(status.application_id, status.status, status.version,
                        status.updated_at, status.uketsuke_bango)


def poll_status(
    store: DraftStore, client: LinkageClient, *, limit: int = FEED_PAGE_LIMIT,
    max_pages: int = 50,
) -> int:
    """Read the status feed from the stored cursor and keep the newer statuses.

    Each page is stored with the cursor it reached in one transaction, so a crash between
    pages loses nothing and repeats nothing; stale versions are ignored by the store.

    Args:
        store: The device store.
        client: The linkage client.
        limit: Page size.
        max_pages: Pages read at most in one call (the rest waits for the next poll).

    Returns:
        How many applications changed status.

    Raises:
        SyncError: The feed could not be read (the cursor stays where it was).
    """
    cursor = store.sync_cursor()
    changed = 0
    for _ in range(max_pages):
        page = client.status_feed(cursor, limit)
        if not page:
            break
        top = max(entry.seq for entry in page)
        changed += store.record_statuses([server_status_of(e) for e in page], top)
        if cursor is not None and top <= cursor:
            break  # a gateway that ignored the cursor: do not loop on the same page
        cursor = top
        if len(page) < limit:
            break
    return changed
