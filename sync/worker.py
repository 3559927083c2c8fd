"""The sync worker: a plain thread that drains the outbox, polls statuses and updates the catalog.

Qt-free: the app attaches through `ui/tasks.py`, the command line runs it in the foreground.
Each cycle opens its own store (one session per thread, never the GUI's) and its own client;
the outbox keeps every retry decision (backoff, `next_attempt_at`), the worker only decides
when to look again.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk.catalog.bundle import load_trusted_keys, trusted_key_folders
from desk.config import STORE_FILE, DeviceConfig
from desk.store.database import read_unit
from desk.store.drafts import IN_FLIGHT, NEEDS_ATTENTION, PENDING, DraftStore
from desk.store.keys import KeyStore
from desk.store.models import DraftRow, OutboxRow
from sync.catalog_update import update_catalog
from sync.client import LinkageClient
from sync.errors import RejectedError, SyncError, TlsError
from sync.outbox import DeliveryReport, StopReason, deliver_due, poll_status
from sync.registration import open_client as open_client_for

log = logging.getLogger(__name__)

STATUS_POLL_INTERVAL_S = 120.0
"""How often the status feed is read while the gateway answers."""

CATALOG_INTERVAL_S = 4 * 3600.0
"""Catalog updates are rare: look every few hours, not every cycle."""

IDLE_INTERVAL_S = 300.0
"""Longest sleep when nothing is due (a wake() cuts it short)."""

OFFLINE_RETRY_MIN_S, OFFLINE_RETRY_MAX_S = 5.0, 300.0
"""The worker's own pause while the gateway cannot be reached (items keep their own backoff)."""

REFUSED_RETRY_S = 900.0
"""Pause after the gateway refused this device's credentials (staff must act)."""

MAX_PASSES_PER_CYCLE = 200
"""Bound on delivery batches in one cycle, so a stop request is seen between batches."""


class SyncState(StrEnum):
    """What the worker is doing, for the status area and `madoguchi sync`."""

    STARTING = "starting"
    IDLE = "idle"  # the gateway answered; nothing is waiting that is due
    SENDING = "sending"
    OFFLINE = "offline"  # the gateway cannot be reached (or answers 5xx); retried later
    CREDENTIALS_REFUSED = "credentials_refused"  # the token endpoint refused this device
    GATEWAY_UNTRUSTED = "gateway_untrusted"  # TLS: the certificate is not from the set CA
    SENDING_OFF = "sending_off"  # no gateway or no credentials: drafts are kept, never sent
    STOPPED = "stopped"


@dataclass(frozen=True)
class OutboxOverview:
    """Counts and times of the outbox; ids only, never content."""

    pending: int = 0
    in_flight: int = 0
    done: int = 0
    needs_attention: int = 0
    oldest_pending_at: dt.datetime | None = None
    next_attempt_at: dt.datetime | None = None
    last_receipt_at: dt.datetime | None = None
    attention_ids: tuple[str, ...] = ()

    @property
    def waiting(self) -> int:
        """Applications not yet acknowledged by the gateway (pending or in flight)."""
        return self.pending + self.in_flight


def outbox_overview(store: DraftStore) -> OutboxOverview:
    """Read the outbox counts by state, the oldest pending item and the next attempt.

    Args:
        store: An open store (the caller's own session per thread).

    Returns:
        The overview; application ids of items that need attention, nothing else.
    """

    def work(session: Session) -> OutboxOverview:
        counts: dict[str, int] = {state: count for state, count in session.execute(
            select(OutboxRow.state, func.count()).group_by(OutboxRow.state))}
        oldest, upcoming = session.execute(
            select(func.min(OutboxRow.created_at), func.min(OutboxRow.next_attempt_at))
            .where(OutboxRow.state == PENDING)).one()
        last = session.scalar(select(func.max(DraftRow.received_at)))
        attention = session.scalars(
            select(OutboxRow.application_id).where(OutboxRow.state == NEEDS_ATTENTION)
            .order_by(OutboxRow.created_at)).all()
        return OutboxOverview(
            pending=counts.get(PENDING, 0), in_flight=counts.get(IN_FLIGHT, 0),
            done=counts.get("done", 0), needs_attention=counts.get(NEEDS_ATTENTION, 0),
            oldest_pending_at=oldest, next_attempt_at=upcoming, last_receipt_at=last,
            attention_ids=tuple(attention),
        )

    return read_unit(store.engine, work)


@dataclass(frozen=True)
class SyncReport:
    """What one cycle did and where the outbox stands after it (ids and counts only)."""

    state: SyncState
    at: dt.datetime
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    overview: OutboxOverview = field(default_factory=OutboxOverview)
    statuses_updated: int = 0
    catalog: str | None = None  # what the catalog step said (e.g. "installed"), None: not run
    failure: str | None = None  # exception type of a step that failed, never its text

    def mentions(self, application_id: str) -> bool:
        """True when this cycle tried to deliver the application (whatever came of it)."""
        delivery = self.delivery
        return (application_id in delivery.received or application_id in delivery.retrying
                or application_id in delivery.needs_attention)


_STOPPED_STATES: dict[StopReason, SyncState] = {
    StopReason.CREDENTIALS_REFUSED: SyncState.CREDENTIALS_REFUSED,
    StopReason.DEVICE_FORBIDDEN: SyncState.CREDENTIALS_REFUSED,
    StopReason.TLS_UNTRUSTED: SyncState.GATEWAY_UNTRUSTED,
    StopReason.REQUEST_FAILED: SyncState.OFFLINE,
}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


StoreOpener = Callable[[], DraftStore]
ClientOpener = Callable[[DraftStore], LinkageClient | None]
StatusPoll = Callable[[DraftStore, LinkageClient], int]
CatalogUpdate = Callable[[LinkageClient], str | None]


class SyncWorker:
    """Runs sync cycles in a plain thread; reports through callbacks called on that thread.

    Args:
        open_store: Opens a store for one cycle (closed by the worker afterwards).
        open_client: Builds a client with the cycle's store (which holds the sealed client
            secret), or returns None when sending is off (no gateway or no credentials). The
            worker keeps the client across cycles and closes it when it stops.
        on_report: Called after every cycle with its `SyncReport`.
        on_state: Called whenever the state changes.
        poll_status: The status feed step: updates the store from the gateway's feed and
            returns how many applications changed.
        update_catalog: The catalog step, run every `catalog_interval_s`.
        clock: Aware UTC time (tests move it).
    """

    def __init__(
        self,
        open_store: StoreOpener,
        open_client: ClientOpener,
        *,
        on_report: Callable[[SyncReport], None] | None = None,
        on_state: Callable[[SyncState], None] | None = None,
        poll_status: StatusPoll | None = None,
        update_catalog: CatalogUpdate | None = None,
        clock: Callable[[], dt.datetime] = _utc_now,
        poll_interval_s: float = STATUS_POLL_INTERVAL_S,
        catalog_interval_s: float = CATALOG_INTERVAL_S,
        idle_interval_s: float = IDLE_INTERVAL_S,
        rng: random.Random | None = None,
    ) -> None:
        self._open_store = open_store
        self._open_client = open_client
        self._on_report = on_report
        self._on_state = on_state
        self._poll_status = poll_status
        self._update_catalog = update_catalog
        self._clock = clock
        self._poll_interval = dt.timedelta(seconds=poll_interval_s)
        self._catalog_interval = dt.timedelta(seconds=catalog_interval_s)
        self._idle_interval = idle_interval_s
        self._rng = rng or random.SystemRandom()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._recovered = False
        self._last_poll: dt.datetime | None = None
        self._last_catalog: dt.datetime | None = None
        self._offline_streak = 0
        # Kept across cycles: its pooled connection and its token (valid for minutes) are
        # reused; only the worker's thread touches it.
        self._client: LinkageClient | None = None
        self._state = SyncState.STARTING
        self.last_report: SyncReport | None = None

    # -- control (any thread) -----------------------------------------------------------------

    @property
    def state(self) -> SyncState:
        """The current state."""
        return self._state

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the worker thread (a daemon: it never keeps the process alive)."""
        if self.running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self.run, name="madoguchi-sync", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run a cycle now (e.g. right after an application was finalized)."""
        self._wake.set()

    def close(self) -> None:
        """Close the client after direct `run_once` calls (the thread closes its own)."""
        if not self.running:
            self._drop_client()

    def stop(self, timeout: float = 15.0) -> bool:
        """Ask the thread to finish its current step and wait for it; True if it ended."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # -- the loop -----------------------------------------------------------------------------

    def run(self) -> None:
        """Cycle until stop(): one cycle, then sleep until something is due or wake()."""
        while not self._stopping.is_set():
            self._wake.clear()
            report = self.run_once()
            if self._stopping.is_set():
                break
            self._wake.wait(self._seconds_until_next(report))
        self._drop_client()
        self._set_state(SyncState.STOPPED)

    def run_once(self) -> SyncReport:
        """One cycle; never raises (a failing step is logged by type and reported).

        Called by `run` on the worker's thread, or directly (`madoguchi sync run --once`,
        then `close()` afterwards) when no thread was started.
        """
        try:
            report = self._cycle()
        except Exception as exc:  # noqa: BLE001 - a cycle's failure must never kill the worker
            # Type only: exception text may carry data the step was working on.
            log.warning("sync cycle failed: %s", type(exc).__name__)
            report = SyncReport(state=SyncState.OFFLINE, at=self._clock(),
                                failure=type(exc).__name__)
            self._offline_streak += 1
        self.last_report = report
        self._set_state(report.state)
        if self._on_report is not None:
            try:
                self._on_report(report)
            except Exception as exc:  # noqa: BLE001 - a listener's bug must not stop sending
                log.warning("sync report listener failed: %s", type(exc).__name__)
        return report

    def _cycle(self) -> SyncReport:
        store = self._open_store()
        try:
            if not self._recovered:
                recovered = store.recover_in_flight()
                self._recovered = True
                if recovered:
                    log.info("%d application(s) left in flight go back to the queue", recovered)
            if self._client is None:
                self._client = self._open_client(store)
            if self._client is None:
                return SyncReport(state=SyncState.SENDING_OFF, at=self._clock(),
                                  overview=outbox_overview(store))
            report = self._cycle_with(store, self._client)
            if report.state in (SyncState.CREDENTIALS_REFUSED, SyncState.GATEWAY_UNTRUSTED):
                # Read the secret and settings again next time: staff may have re-registered.
                self._drop_client()
            return report
        except BaseException:
            self._drop_client()  # a client in an unknown state is not reused
            raise
        finally:
            store.close()

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _cycle_with(self, store: DraftStore, client: LinkageClient) -> SyncReport:
        now = self._clock()
        before = outbox_overview(store)
        # Whether an item is due is the outbox's decision (it also treats items scheduled
        # impossibly far ahead as due after the clock went back): offer it whenever any wait.
        deliver = before.pending > 0
        poll = self._poll_status is not None and (
            self._last_poll is None or now - self._last_poll >= self._poll_interval)
        catalog = self._update_catalog is not None and (
            self._last_catalog is None or now - self._last_catalog >= self._catalog_interval)
        if not (deliver or poll or catalog):
            self._offline_streak = 0
            return SyncReport(state=SyncState.IDLE, at=now, overview=before)
        # One token first: a refused or unreachable gateway is seen once, instead of once
        # per claimed item (and no item is claimed, so no attempt is spent on it).
        try:
            client.token()
        except TlsError:
            log.warning("gateway certificate not trusted")
            return SyncReport(state=SyncState.GATEWAY_UNTRUSTED, at=now, overview=before)
        except RejectedError as error:
            log.warning("gateway refused this device's credentials (status %s)", error.status)
            return SyncReport(state=SyncState.CREDENTIALS_REFUSED, at=now, overview=before)
        except SyncError as error:
            self._offline_streak += 1
            log.info("gateway unreachable (%s)", type(error).__name__)
            return SyncReport(state=SyncState.OFFLINE, at=now, overview=before)
        delivery = DeliveryReport()
        if deliver:
            self._set_state(SyncState.SENDING)
            delivery = self._deliver(store, client)
        stopped = _STOPPED_STATES.get(delivery.stopped) if delivery.stopped else None
        if stopped is not None and stopped is not SyncState.OFFLINE:
            # The device itself was refused: no point reading feeds with it either.
            return SyncReport(state=stopped, at=self._clock(), delivery=delivery,
                              overview=outbox_overview(store))
        failure: str | None = None
        updated = 0
        if poll and not self._stopping.is_set():
            assert self._poll_status is not None
            try:
                updated = self._poll_status(store, client)
                self._last_poll = self._clock()
            except SyncError as error:
                failure = type(error).__name__
                log.info("status feed not read: %s", type(error).__name__)
        catalog_outcome: str | None = None
        if catalog and not self._stopping.is_set():
            assert self._update_catalog is not None
            try:
                catalog_outcome = self._update_catalog(client)
                self._last_catalog = self._clock()
            except Exception as exc:  # noqa: BLE001 - a bad bundle never stops sending
                failure = type(exc).__name__
                log.warning("catalog update failed: %s", type(exc).__name__)
        offline = stopped is SyncState.OFFLINE or (bool(delivery.retrying)
                                                   and not delivery.received)
        self._offline_streak = self._offline_streak + 1 if offline else 0
        return SyncReport(
            state=SyncState.OFFLINE if offline else SyncState.IDLE, at=self._clock(),
            delivery=delivery, overview=outbox_overview(store), statuses_updated=updated,
            catalog=catalog_outcome, failure=failure,
        )

    def _deliver(self, store: DraftStore, client: LinkageClient) -> DeliveryReport:
        """Delivery batches until nothing due is left, the network fails, or stop()."""
        total = DeliveryReport()
        for _ in range(MAX_PASSES_PER_CYCLE):
            report = deliver_due(store, client, now=self._clock(), rng=self._rng)
            total.received.update(report.received)
            total.retrying.extend(report.retrying)
            total.needs_attention.extend(report.needs_attention)
            total.stopped = report.stopped
            claimed = len(report.received) + len(report.retrying) + len(report.needs_attention)
            # A deferred item may be due again at once (full jitter can be ~0 s): stop after
            # any deferral so a failing gateway is not hammered within one cycle.
            if not claimed or report.retrying or report.stopped or self._stopping.is_set():
                break
        return total

    def _seconds_until_next(self, report: SyncReport) -> float:
        now = self._clock()
        if report.state is SyncState.SENDING_OFF:
            return self._idle_interval
        if report.state in (SyncState.CREDENTIALS_REFUSED, SyncState.GATEWAY_UNTRUSTED):
            return REFUSED_RETRY_S
        if report.state is SyncState.OFFLINE and not report.delivery.retrying:
            # Nothing was claimed (token unreachable): the worker's own backoff with jitter.
            ceiling = min(OFFLINE_RETRY_MAX_S,
                          OFFLINE_RETRY_MIN_S * 2 ** min(self._offline_streak, 10))
            return self._rng.uniform(OFFLINE_RETRY_MIN_S, max(OFFLINE_RETRY_MIN_S, ceiling))
        candidates = [self._idle_interval]
        upcoming = report.overview.next_attempt_at
        if upcoming is not None:
            candidates.append((upcoming - now).total_seconds())
        if self._poll_status is not None and self._last_poll is not None:
            candidates.append((self._last_poll + self._poll_interval - now).total_seconds())
        if self._update_catalog is not None and self._last_catalog is not None:
            candidates.append((self._last_catalog + self._catalog_interval - now)
                              .total_seconds())
        # Never a busy loop: at least a short pause, even when something is due already.
        return max(0.5, min(candidates))

    def _set_state(self, state: SyncState) -> None:
        if state is self._state:
            return
        self._state = state
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception as exc:  # noqa: BLE001 - a listener's bug must not stop sending
                log.warning("sync state listener failed: %s", type(exc).__name__)


def device_worker(
    profile: Path, device: DeviceConfig, keys: KeyStore, *,
    on_report: Callable[[SyncReport], None] | None = None,
    on_state: Callable[[SyncState], None] | None = None,
    timeout: float = 10.0, transport: httpx.BaseTransport | None = None,
    **options: Any,
) -> SyncWorker:
    """The worker of an enrolled device: its store, its gateway client, every step wired.

    Args:
        profile: The profile folder (store file, catalog folder).
        device: The device configuration.
        keys: The device key store (opens the store and the sealed client secret).
        on_report: See `SyncWorker`.
        on_state: See `SyncWorker`.
        timeout: Per-request timeout of the client.
        transport: Replacement transport (tests).
        **options: Passed on to `SyncWorker` (intervals, clock).
    """
    store_path = profile / STORE_FILE

    def open_store() -> DraftStore:
        return DraftStore(store_path, keys)

    def open_client(store: DraftStore) -> LinkageClient | None:
        return open_client_for(device, store.engine, keys, timeout=timeout, transport=transport)

    clock: Callable[[], dt.datetime] = options.get("clock", _utc_now)
    trusted, problems = load_trusted_keys(trusted_key_folders(profile))
    for problem in problems:
        log.warning("catalog key skipped: %s", problem.message_id)

    def catalog_step(client: LinkageClient) -> str:
        # Installed bundles take effect at the next start (the app never swaps the catalog
        # under an open visit).
        return update_catalog(client, profile, trusted, clock()).outcome

    return SyncWorker(open_store, open_client, on_report=on_report, on_state=on_state,
                      poll_status=poll_status, update_catalog=catalog_step, **options)


__all__ = [
    "OutboxOverview",
    "SyncReport",
    "SyncState",
    "SyncWorker",
    "device_worker",
    "outbox_overview",
]
