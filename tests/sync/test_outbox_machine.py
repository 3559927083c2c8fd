"""Acceptance test 8: a Hypothesis state machine over the outbox with faults, crashes and restarts.

Rules finalize applications into a real encrypted store, deliver passes through the fault proxy
(faults drawn by Hypothesis) or straight to the gateway, crash in the middle of a pass (items
claimed, perhaps sent, nothing recorded), restart (close, reopen, recover in-flight items) and
move the clock. After every step: at most one gateway record per application, a device receipt
only with its gateway record and equal to it, no in-flight row between passes. At the end every
application is delivered exactly once (zero losses). Runs are derandomized and keep no example
database, so a CI failure replays as it happened.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from desk.config import DeviceConfig
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from desk.store.models import DraftRow, OutboxRow
from sync.client import LinkageClient
from sync.errors import SyncError
from sync.gateway.models import READ_ONLY_OPTION, ReceivedApplication, make_engine
from sync.gateway.server import RunningGateway
from sync.mapping import build_payload, payload_to_json
from sync.outbox import MAX_DELAY, deliver_due
from sync.protocol import ApplicationPayload, DeviceCredentials
from tests.sync.faultproxy import Fault, FaultProxy

TIMEOUT_S = 0.1
# Past the longest backoff and any Retry-After the gateway or the proxy asks for.
LONG_WAIT = MAX_DELAY + dt.timedelta(seconds=1)
# How far the clock moves before a pass: not at all, within or past most backoffs, past all.
WAITS = st.sampled_from([dt.timedelta(seconds=s) for s in (0, 2, 60)] + [LONG_WAIT])
FAULTS = st.sampled_from([
    Fault.passthrough(),
    Fault.reset(after_bytes=0),
    Fault.reset(after_bytes=200),
    Fault.stall(),
    Fault.black_hole(),
    Fault.slow(chunk=128, delay_s=0.001),
    Fault.slow(chunk=16, delay_s=TIMEOUT_S * 2),
    Fault.commit_then_drop(),
    Fault.commit_then_stall(),
    Fault.canned(503),
    Fault.canned(502, b"<html>Bad Gateway</html>"),
    Fault.canned(429, b"", {"Retry-After": "30"}),
])
# No example database: nothing is written into the working tree, and derandomize makes a CI
# failure the same on every run.
MACHINE = settings(max_examples=15, stateful_step_count=25, deadline=None, database=None,
                   derandomize=True, suppress_health_check=[HealthCheck.too_slow])
MACHINE_SLOW = settings(MACHINE, max_examples=80, stateful_step_count=40)


@dataclass
class World:
    """What outlives one example: the gateway, its database, the proxy and a folder."""

    gateway_db: Engine
    proxy: FaultProxy
    # Clients live as long as the world: building one costs ~0.1 s (its TLS context), and a
    # client holds nothing durable, only its token, which a restart need not lose here.
    client: LinkageClient  # through the proxy, with a short timeout
    direct: LinkageClient  # straight to the gateway
    folder: Path
    keys: MemoryKeyStore
    template: Path  # an empty store, migrated once: copying it is far quicker than migrating
    examples: int = 0

    def server_records(self, ids: set[str]) -> tuple[Counter[str], dict[str, Any]]:
        """Records per application id, and the receipt (受付番号, time) of each of `ids`."""
        with Session(self.gateway_db) as session, session.begin():
            rows = session.execute(
                select(ReceivedApplication.application_id, ReceivedApplication.uketsuke_bango,
                       ReceivedApplication.received_at)
                .where(ReceivedApplication.application_id.in_(sorted(ids)))
            ).all()
        return Counter(row[0] for row in rows), {row[0]: (row[1], row[2]) for row in rows}


class OutboxMachine(RuleBasedStateMachine):
    """One device's outbox and its gateway, through faults, crashes and restarts."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        world.examples += 1
        self.path = world.folder / f"device-{world.examples}.sqlite3"
        shutil.copyfile(world.template, self.path)
        self.keys = world.keys  # the device key survives restarts, as a keyring would
        self.store = DraftStore(self.path, self.keys)
        self.client = world.client
        self.direct = world.direct
        # The device clock: real time (finalize stamps items with it) plus the time skipped.
        self.skipped = dt.timedelta()
        self.ids: set[str] = set()
        self.device = DeviceConfig("kiosk", "131016", "KIOSK-TEST", "lobby", "http://127.0.0.1:9")

    @property
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.skipped

    # -- rules ------------------------------------------------------------------------------

    @initialize()
    def first_applications(self) -> None:
        self.finalize(3)

    @rule(count=st.integers(min_value=1, max_value=4))
    def finalize(self, count: int) -> None:
        for _ in range(count):
            draft = self.store.create(("juki-tennyu",), mode="kiosk", desk_id="lobby",
                                      position="shimei")
            payload = build_payload(
                application_id=draft.id,
                procedures=[("juki-tennyu", "3", {"shimei": "窓口　太郎",
                                                  "seinengappi": "1990-04-01",
                                                  "x_renban": len(self.ids)})],
                device=self.device, captured_at=self.now,
                consent_purpose="上記のとおり届け出ます。",
            )
            self.store.finalize(draft.id, payload_to_json(payload))
            self.ids.add(draft.id)

    @rule(faults=st.lists(FAULTS, min_size=1, max_size=6), wait=WAITS)
    def deliver_through_faults(self, faults: list[Fault], wait: dt.timedelta) -> None:
        self.skipped += wait
        proxy = self.world.proxy
        proxy.push(*faults)
        try:
            deliver_due(self.store, self.client, now=self.now, rng=random.Random(0))
        finally:
            proxy.clear_script()

    @rule(wait=WAITS)
    def deliver_directly(self, wait: dt.timedelta) -> None:
        self.skipped += wait
        deliver_due(self.store, self.direct, now=self.now, rng=random.Random(0))

    @rule(sends=st.integers(min_value=0, max_value=3), fault=FAULTS)
    def crash_mid_pass(self, sends: int, fault: Fault) -> None:
        """Claim a batch, send some of it (the gateway may commit), then die without a word."""
        entries = self.store.claim_due(self.now)
        self.world.proxy.push(*[fault] * sends)
        try:
            for entry in entries[:sends]:
                # A lost answer: the gateway may or may not hold the application now.
                with contextlib.suppress(SyncError):
                    self.client.submit(ApplicationPayload.model_validate(entry.payload))
        finally:
            self.world.proxy.clear_script()
        self.restart()

    @rule()
    def restart(self) -> None:
        """Close the store as a dying process would, open it again, recover."""
        self.store.close()
        self.store = DraftStore(self.path, self.keys)
        self.store.recover_in_flight()
        assert self._states().get("in_flight", 0) == 0

    @rule(wait=WAITS)
    def advance_clock(self, wait: dt.timedelta) -> None:
        self.skipped += wait

    # -- invariants -------------------------------------------------------------------------

    def _states(self) -> dict[str, int]:
        return self.store.outbox_counts()

    def _device(self) -> dict[str, tuple[str, str | None, dt.datetime | None, str]]:
        with Session(self.store.engine) as session:
            rows = session.execute(
                select(DraftRow.id, DraftRow.status, DraftRow.uketsuke_bango,
                       DraftRow.received_at, OutboxRow.state)
                .join(OutboxRow, OutboxRow.application_id == DraftRow.id)
            ).all()
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    @invariant()
    def at_most_one_server_record_per_application(self) -> None:
        counts, _ = self.world.server_records(self.ids)
        assert all(n == 1 for n in counts.values()), counts

    @invariant()
    def acknowledged_only_with_the_gateways_receipt(self) -> None:
        _, receipts = self.world.server_records(self.ids)
        device = self._device()
        assert set(device) == self.ids  # every finalized application has its one outbox row
        for application_id, (status, bango, received_at, state) in device.items():
            acknowledged = status == "RECEIVED" or state == "done" or bango is not None
            if acknowledged:
                assert (status, state) == ("RECEIVED", "done")
                assert application_id in receipts, "a receipt the gateway never gave"
                assert (bango, received_at) == receipts[application_id]
            else:
                assert (status, state) == ("READY", "pending")

    @invariant()
    def nothing_in_flight_between_passes(self) -> None:
        assert self._states().get("in_flight", 0) == 0

    # -- the end ----------------------------------------------------------------------------

    def teardown(self) -> None:
        try:
            for _pass in range(10):
                if self._fully_delivered():
                    break
                self.skipped += LONG_WAIT
                deliver_due(self.store, self.direct, now=self.now, rng=random.Random(0))
            # Zero losses: every application arrived once and the device holds its receipt.
            assert self._fully_delivered(), self._states()
            self.acknowledged_only_with_the_gateways_receipt()
            self.at_most_one_server_record_per_application()
        finally:
            self.store.close()

    def _fully_delivered(self) -> bool:
        counts, _ = self.world.server_records(self.ids)
        return self._states() == {"done": len(self.ids)} and set(counts) == self.ids


@pytest.fixture
def world(gateway: RunningGateway, kiosk_credentials: DeviceCredentials,
          tmp_path: Path) -> Iterator[World]:
    keys = MemoryKeyStore()
    template = tmp_path / "template.sqlite3"
    DraftStore(template, keys).close()  # closing the last connection checkpoints the WAL
    engine = make_engine(gateway.db_url)
    reader = engine.execution_options(**{READ_ONLY_OPTION: True})
    try:
        with FaultProxy(gateway.url, hold_limit_s=2.0) as proxy, \
                LinkageClient(proxy.url, credentials=kiosk_credentials,
                              timeout=TIMEOUT_S) as client, \
                LinkageClient(gateway.url, credentials=kiosk_credentials) as direct:
            yield World(reader, proxy, client, direct, tmp_path, keys, template)
    finally:
        engine.dispose()


def machine_in(world: World) -> type[OutboxMachine]:
    """The machine class bound to this test's world (Hypothesis builds it with no arguments)."""

    class Bound(OutboxMachine):
        def __init__(self) -> None:
            super().__init__(world)

    return Bound


def test_outbox_state_machine(world: World) -> None:
    run_state_machine_as_test(machine_in(world), settings=MACHINE)


@pytest.mark.slow
def test_outbox_state_machine_long(world: World) -> None:
    run_state_machine_as_test(machine_in(world), settings=MACHINE_SLOW)
