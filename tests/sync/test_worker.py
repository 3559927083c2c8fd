"""The sync worker in its own thread against the real gateway on loopback (and a fault proxy)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desk.config import STORE_FILE, DeviceConfig
from desk.enrolment import seal_registration
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from sync.gateway.server import RunningGateway
from sync.gateway.store import GatewayStore
from sync.protocol import DeviceCredentials
from sync.registration import registration_of
from sync.worker import SyncReport, SyncState, SyncWorker, device_worker, outbox_overview
from tests.sync.conftest import DEVICE_ID, TENANT
from tests.sync.faultproxy import Fault, FaultProxy

WAIT_S = 20.0


class _NoJitter(random.Random):
    """Backoff at its lower bound: a retried item is due again at once (tests stay fast)."""

    def uniform(self, a: float, b: float) -> float:
        return a


class Reports:
    """Collects what the worker reports from its thread."""

    def __init__(self) -> None:
        self.items: list[SyncReport] = []
        self.states: list[SyncState] = []
        self._changed = threading.Condition()

    def report(self, report: SyncReport) -> None:
        with self._changed:
            self.items.append(report)
            self._changed.notify_all()

    def state(self, state: SyncState) -> None:
        with self._changed:
            self.states.append(state)
            self._changed.notify_all()

    def wait_for(self, check: Callable[[SyncReport], bool], timeout: float = WAIT_S) -> SyncReport:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for report in self.items:
                    if check(report):
                        return report
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such report; states {self.states}")
                self._changed.wait(left)


@pytest.fixture
def keys() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    folder = tmp_path / "device"
    folder.mkdir()
    return folder


def _device(url: str, credentials: DeviceCredentials | None) -> DeviceConfig:
    return DeviceConfig(mode="kiosk", tenant_code=TENANT, device_id=DEVICE_ID, desk_id="lobby",
                        gateway_url=url,
                        client_id=credentials.client_id if credentials else None)


def _register(profile: Path, keys: MemoryKeyStore, credentials: DeviceCredentials) -> None:
    store = DraftStore(profile / STORE_FILE, keys)
    try:
        seal_registration(store, keys, registration_of(credentials))
    finally:
        store.close()


def _finalize(profile: Path, keys: MemoryKeyStore, make_payload_json: Callable[..., Any],
              count: int = 1) -> list[str]:
    store = DraftStore(profile / STORE_FILE, keys)
    try:
        ids = []
        for _ in range(count):
            draft = store.create(["juki-tennyu"], mode="kiosk", desk_id="lobby", position="x")
            store.finalize(draft.id, make_payload_json(draft.id))
            ids.append(draft.id)
        return ids
    finally:
        store.close()


@pytest.fixture
def registered(profile: Path, keys: MemoryKeyStore, gateway: RunningGateway,
               kiosk_credentials: DeviceCredentials) -> DeviceConfig:
    _register(profile, keys, kiosk_credentials)
    return _device(gateway.url, kiosk_credentials)


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def workers() -> Iterator[list[SyncWorker]]:
    started: list[SyncWorker] = []
    yield started
    for worker in started:
        assert worker.stop(), "the worker did not stop"


def _start(workers: list[SyncWorker], profile: Path, device: DeviceConfig,
           keys: MemoryKeyStore, reports: Reports, **options: Any) -> SyncWorker:
    worker = device_worker(profile, device, keys, on_report=reports.report,
                           on_state=reports.state, rng=_NoJitter(), timeout=5.0, **options)
    workers.append(worker)
    worker.start()
    return worker


def test_worker_sends_finalized_applications_and_sleeps_until_woken(
    profile: Path, keys: MemoryKeyStore, registered: DeviceConfig, reports: Reports,
    workers: list[SyncWorker], gateway_store: GatewayStore,
    make_payload_json: Callable[..., Any],
) -> None:
    worker = _start(workers, profile, registered, keys, reports)
    first = reports.wait_for(lambda r: True)
    assert first.state is SyncState.IDLE and first.overview.waiting == 0

    ids = _finalize(profile, keys, make_payload_json, count=3)
    worker.wake()  # as the app does right after finalize
    report = reports.wait_for(lambda r: len(r.delivery.received) == 3)
    assert set(report.delivery.received) == set(ids)
    assert report.state is SyncState.IDLE
    assert report.overview.done == 3 and report.overview.waiting == 0
    assert report.overview.last_receipt_at is not None
    assert sorted(a.application_id for a in gateway_store.applications()) == sorted(ids)
    assert SyncState.SENDING in reports.states


def test_worker_retries_until_the_gateway_comes_back(
    profile: Path, keys: MemoryKeyStore, gateway: RunningGateway,
    kiosk_credentials: DeviceCredentials, reports: Reports, workers: list[SyncWorker],
    gateway_store: GatewayStore, make_payload_json: Callable[..., Any],
) -> None:
    _register(profile, keys, kiosk_credentials)
    everything = [True]

    def faultable(method: str, path: str) -> bool:
        return everything[0] or (method == "POST" and path.endswith("/applications"))

    with FaultProxy(gateway.url, match=faultable) as proxy:
        # Down: every request answered 503 by the proxy, the token endpoint too.
        proxy.set_plan(lambda _index: Fault.canned(503))
        (application,) = _finalize(profile, keys, make_payload_json)
        worker = _start(workers, profile, _device(proxy.url, kiosk_credentials), keys,
                        reports)
        offline = reports.wait_for(lambda r: r.state is SyncState.OFFLINE)
        assert offline.overview.pending == 1 and not gateway_store.applications()

        # Up, but the submission itself fails twice with a 5xx: backoff, then delivered.
        proxy.set_plan(None)
        everything[0] = False  # from now on, only submissions meet the scripted faults
        proxy.push(Fault.canned(502), Fault.reset(after_bytes=10))
        worker.wake()
        done = reports.wait_for(lambda r: application in r.delivery.received)
        assert done.state is SyncState.IDLE
    (stored,) = gateway_store.applications()
    assert stored.application_id == application
    store = DraftStore(profile / STORE_FILE, keys)
    try:
        state, attempts, _error = store.outbox_state(application)
    finally:
        store.close()
    assert (state, attempts) == ("done", 3)


def test_worker_survives_exceptions_in_a_cycle(
    profile: Path, keys: MemoryKeyStore, registered: DeviceConfig, reports: Reports,
    workers: list[SyncWorker], gateway_store: GatewayStore,
    make_payload_json: Callable[..., Any],
) -> None:
    failures = iter([OSError("disk gone for 窓口　太郎"), RuntimeError("bug")])

    def flaky_store() -> DraftStore:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return DraftStore(profile / STORE_FILE, keys)

    def broken_listener(report: SyncReport) -> None:
        reports.report(report)
        raise ValueError("a listener bug")

    (application,) = _finalize(profile, keys, make_payload_json)
    from sync.registration import open_client

    worker = SyncWorker(flaky_store, lambda store: open_client(registered, store.engine, keys),
                        on_report=broken_listener, rng=_NoJitter())
    workers.append(worker)
    worker.start()
    failed = reports.wait_for(lambda r: r.failure == "OSError")
    assert failed.state is SyncState.OFFLINE
    worker.wake()
    reports.wait_for(lambda r: r.failure == "RuntimeError")
    worker.wake()
    reports.wait_for(lambda r: application in r.delivery.received)
    assert worker.running
    assert len(gateway_store.applications()) == 1


def test_worker_stops_promptly_while_sleeping(
    profile: Path, keys: MemoryKeyStore, registered: DeviceConfig, reports: Reports,
) -> None:
    worker = device_worker(profile, registered, keys, on_report=reports.report,
                           idle_interval_s=300.0)
    worker.start()
    reports.wait_for(lambda r: True)
    started = time.monotonic()
    assert worker.stop(timeout=5.0)
    assert time.monotonic() - started < 1.0
    assert worker.state is SyncState.STOPPED and not worker.running


def test_worker_without_credentials_keeps_everything_and_says_sending_is_off(
    profile: Path, keys: MemoryKeyStore, gateway: RunningGateway, reports: Reports,
    workers: list[SyncWorker], make_payload_json: Callable[..., Any],
) -> None:
    _finalize(profile, keys, make_payload_json)
    worker = _start(workers, profile, _device(gateway.url, None), keys, reports)
    report = reports.wait_for(lambda r: True)
    assert report.state is SyncState.SENDING_OFF
    assert report.overview.pending == 1
    assert worker.running


def test_refused_credentials_stop_sending_without_touching_items(
    profile: Path, keys: MemoryKeyStore, gateway: RunningGateway,
    kiosk_credentials: DeviceCredentials, reports: Reports, workers: list[SyncWorker],
    make_payload_json: Callable[..., Any],
) -> None:
    wrong = kiosk_credentials.model_copy(update={"client_secret": "x" * 43})
    _register(profile, keys, wrong)
    (application,) = _finalize(profile, keys, make_payload_json)
    _start(workers, profile, _device(gateway.url, wrong), keys, reports)
    report = reports.wait_for(lambda r: True)
    assert report.state is SyncState.CREDENTIALS_REFUSED
    store = DraftStore(profile / STORE_FILE, keys)
    try:
        assert store.outbox_state(application)[:2] == ("pending", 0)
        assert outbox_overview(store).pending == 1
    finally:
        store.close()


def test_in_flight_items_left_by_a_crash_are_sent_after_restart(
    profile: Path, keys: MemoryKeyStore, registered: DeviceConfig, reports: Reports,
    gateway_store: GatewayStore, make_payload_json: Callable[..., Any],
) -> None:
    (application,) = _finalize(profile, keys, make_payload_json)
    store = DraftStore(profile / STORE_FILE, keys)
    try:
        assert [e.application_id for e in store.claim_due()] == [application]  # then "crash"
    finally:
        store.close()
    worker = device_worker(profile, registered, keys, on_report=reports.report)
    try:
        report = worker.run_once()
    finally:
        worker.close()
    assert application in report.delivery.received
    assert report.overview.in_flight == 0 and report.overview.done == 1
    assert len(gateway_store.applications()) == 1


def test_status_feed_every_cycle_it_is_due_and_the_catalog_every_few_hours(
    profile: Path, keys: MemoryKeyStore, registered: DeviceConfig,
) -> None:
    import datetime as dt

    from sync.registration import open_client

    now = [dt.datetime(2026, 5, 12, 1, 0, tzinfo=dt.UTC)]
    polls: list[dt.datetime] = []
    checks: list[dt.datetime] = []

    def poll(store: DraftStore, client: Any) -> int:
        polls.append(now[0])
        return 0

    def catalog(client: Any) -> str:
        checks.append(now[0])
        return "unchanged"

    worker = SyncWorker(lambda: DraftStore(profile / STORE_FILE, keys),
                        lambda store: open_client(registered, store.engine, keys),
                        poll_status=poll, update_catalog=catalog, clock=lambda: now[0],
                        poll_interval_s=120.0, catalog_interval_s=4 * 3600.0)
    try:
        for minutes in range(0, 6 * 60, 30):  # a cycle every half hour for six hours
            now[0] = dt.datetime(2026, 5, 12, 1, 0, tzinfo=dt.UTC) + dt.timedelta(
                minutes=minutes)
            report = worker.run_once()
            assert report.state is SyncState.IDLE
        quiet = worker.run_once()  # again at once: nothing is due, no network at all
    finally:
        worker.close()
    assert len(polls) == 12
    assert [c.hour for c in checks] == [1, 5]
    assert quiet.catalog is None and quiet.statuses_updated == 0 and len(polls) == 12


def test_the_real_steps_poll_the_feed_and_find_no_catalog(
    profile: Path, keys: MemoryKeyStore, registered: DeviceConfig,
    make_payload_json: Callable[..., Any],
) -> None:
    (application,) = _finalize(profile, keys, make_payload_json)
    worker = device_worker(profile, registered, keys)
    try:
        first = worker.run_once()
        assert application in first.delivery.received
        assert first.catalog == "not_offered" and first.failure is None
    finally:
        worker.close()
    store = DraftStore(profile / STORE_FILE, keys)
    try:
        assert store.sync_cursor() is not None  # the feed was read up to this application
    finally:
        store.close()


def test_stop_during_a_stalled_submission_ends_within_the_request_timeout(
    profile: Path, keys: MemoryKeyStore, gateway: RunningGateway,
    kiosk_credentials: DeviceCredentials, reports: Reports,
    make_payload_json: Callable[..., Any],
) -> None:
    _register(profile, keys, kiosk_credentials)
    (application,) = _finalize(profile, keys, make_payload_json)

    def submissions(method: str, path: str) -> bool:
        return method == "POST" and path.endswith("/applications")

    with FaultProxy(gateway.url, match=submissions, hold_limit_s=5.0) as proxy:
        proxy.push(Fault.stall())
        worker = device_worker(profile, _device(proxy.url, kiosk_credentials), keys,
                               on_state=reports.state, timeout=1.0)
        worker.start()
        deadline = time.monotonic() + WAIT_S
        while SyncState.SENDING not in reports.states and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        assert worker.stop(timeout=5.0)
        assert time.monotonic() - started < 2.5  # the 1 s read timeout, then no further step
    store = DraftStore(profile / STORE_FILE, keys)
    try:
        assert store.outbox_state(application)[0] == "pending"  # retried later, never lost
    finally:
        store.close()
