"""Acceptance test 11: hundreds of submissions over a faulty loopback link; none lost or doubled.

Finalized applications in a real encrypted store drain through the fault proxy to the real
gateway with a seeded mix of resets mid-body, stalls, black holes, slow bodies (within and past
the timeout), answers lost after the commit and canned 429/502/503 pages. Backoff runs on a fake
clock (``now`` jumps past the longest backoff between passes), so only the client's short
timeouts cost real time. Replay a failure with the ``MADOGUCHI_SEED=...`` it printed.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.config import DeviceConfig
from desk.store.drafts import DraftStore
from desk.store.keys import MemoryKeyStore
from sync.client import LinkageClient
from sync.gateway.server import RunningGateway
from sync.gateway.store import GatewayStore
from sync.mapping import build_payload, payload_to_json
from sync.outbox import MAX_DELAY, deliver_due
from sync.protocol import DeviceCredentials
from tests.sync.faultproxy import Fault, FaultKind, FaultPlan, FaultProxy, describe

SEED_ENV = "MADOGUCHI_SEED"  # set it to replay a failed run with the seed it printed
TIMEOUT_S = 0.25
# A connection is faulty ~45% of the time; the kinds that cost a client timeout are kept rarer.
MIX: tuple[tuple[FaultKind, float], ...] = (
    (FaultKind.PASS, 55),
    (FaultKind.RESET, 8),
    (FaultKind.STALL, 3),
    (FaultKind.BLACK_HOLE, 3),
    (FaultKind.SLOW, 8),
    (FaultKind.COMMIT_THEN_DROP, 10),
    (FaultKind.COMMIT_THEN_STALL, 2),
    (FaultKind.CANNED, 11),
)
CANNED = (
    Fault.canned(503),
    Fault.canned(502, b"<html><body>Bad Gateway</body></html>"),
    Fault.canned(500, b"Internal Server Error", {"Content-Type": "text/plain"}),
    Fault.canned(429, b"", {"Retry-After": "120"}),
)


def seed() -> int:
    """The run's seed: from MADOGUCHI_SEED, or fresh; printed so a failure can be replayed."""
    value = int(os.environ.get(SEED_ENV) or random.SystemRandom().randrange(2**32))
    print(f"{SEED_ENV}={value}")
    return value


def soak_plan(rng: random.Random) -> FaultPlan:
    """Each connection's fault and its parameters, drawn from ``rng``."""
    kinds = [kind for kind, _ in MIX]
    weights = [weight for _, weight in MIX]

    def plan(_index: int) -> Fault:
        kind = rng.choices(kinds, weights)[0]
        match kind:
            case FaultKind.RESET:
                # From "head only" to well into the ~600-byte body.
                return Fault.reset(after_bytes=rng.randrange(0, 400))
            case FaultKind.SLOW:
                if rng.random() < 0.2:  # past the client's read timeout: after the commit
                    return Fault.slow(chunk=rng.randrange(8, 64), delay_s=TIMEOUT_S * 2)
                return Fault.slow(chunk=rng.randrange(64, 256), delay_s=0.002)
            case FaultKind.CANNED:
                return rng.choice(CANNED)
            case FaultKind.STALL:
                return Fault.stall()
            case FaultKind.BLACK_HOLE:
                return Fault.black_hole()
            case FaultKind.COMMIT_THEN_DROP:
                return Fault.commit_then_drop()
            case FaultKind.COMMIT_THEN_STALL:
                return Fault.commit_then_stall()
            case _:
                return Fault.passthrough()

    return plan


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DraftStore]:
    opened = DraftStore(tmp_path / "drafts.sqlite3", MemoryKeyStore())
    yield opened
    opened.close()


def _finalize_many(store: DraftStore, count: int) -> list[str]:
    device = DeviceConfig("kiosk", "131016", "KIOSK-TEST", "lobby", "http://127.0.0.1:9")
    captured = dt.datetime.now(dt.UTC)
    ids = []
    for n in range(count):
        draft = store.create(("juki-tennyu",), mode="kiosk", desk_id="lobby", position="shimei")
        data = {"shimei": "窓口　太郎", "shimei_furigana": "マドグチ　タロウ",
                "seinengappi": "1990-04-01", "jusho_yubinbango": "1000014",
                "x_renban": n}  # bodies differ, as real ones do
        payload = build_payload(application_id=draft.id,
                                procedures=[("juki-tennyu", "3", data)], device=device,
                                captured_at=captured, consent_purpose="上記のとおり届け出ます。")
        store.finalize(draft.id, payload_to_json(payload))
        ids.append(draft.id)
    return ids


def _soak(count: int, store: DraftStore, gateway: RunningGateway,
          gateway_store: GatewayStore, kiosk: DeviceCredentials) -> None:
    run_seed = seed()
    rng = random.Random(run_seed)
    ids = _finalize_many(store, count)
    now = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    passes = 0
    # One of each fault first, so every run sees them all however the draws fall.
    script = [Fault.passthrough(), Fault.reset(after_bytes=rng.randrange(0, 400)),
              Fault.stall(), Fault.black_hole(), Fault.slow(chunk=100, delay_s=0.002),
              Fault.slow(chunk=16, delay_s=TIMEOUT_S * 2), Fault.commit_then_drop(),
              Fault.commit_then_stall(), *CANNED]
    rng.shuffle(script)
    plan = soak_plan(random.Random(rng.randrange(2**32)))
    with FaultProxy(gateway.url, plan, script=script, hold_limit_s=30.0) as proxy:
        backoff = random.Random(rng.randrange(2**32))
        while store.outbox_counts().keys() - {"done"}:
            passes += 1
            assert passes <= 40 * (count // 50 + 1), f"no progress; {SEED_ENV}={run_seed}"
            # A new client each pass, as after a restart: its token request meets faults too.
            with LinkageClient(proxy.url, credentials=kiosk, timeout=TIMEOUT_S) as client:
                deliver_due(store, client, now=now, rng=backoff)
            # Past the longest backoff and Retry-After: every item left is due next pass.
            now += MAX_DELAY + dt.timedelta(seconds=1)
        faults = describe(proxy.connections)
        connections = len(proxy.connections)
        proxy_errors = [c.error for c in proxy.connections if c.error]
    elapsed = time.monotonic() - started
    print(f"{count} applications, {connections} connections, {passes} passes, "
          f"{elapsed:.1f} s; faults {faults}")
    where = f"{SEED_ENV}={run_seed}"
    assert proxy_errors == [], where  # the faults were the planned ones, not the proxy's own

    held = gateway_store.applications()
    per_id = collections.Counter(application.application_id for application in held)
    assert [i for i, n in per_id.items() if n > 1] == [], f"duplicates; {where}"
    assert sorted(per_id) == sorted(ids), f"lost or unknown applications; {where}"
    # The 受付番号 of each day run 1, 2, 3, ... without a gap: no second record was ever made
    # and rolled back, and none was made for another id.
    by_day = collections.defaultdict(list)
    for application in held:
        day, number = application.uketsuke_bango.split("-")
        by_day[day].append(int(number))
    assert all(sorted(n) == list(range(1, len(n) + 1)) for n in by_day.values()), where

    gateway_receipts = {a.application_id: (a.uketsuke_bango, a.received_at) for a in held}
    for application_id in ids:
        summary = store.summary(application_id)
        assert summary.status == "RECEIVED", where
        assert (summary.uketsuke_bango, summary.received_at) == \
            gateway_receipts[application_id], where
    assert store.outbox_counts() == {"done": count}, where
    assert set(faults) == {kind.value for kind, _ in MIX}, where
    assert not [t for t in threading.enumerate() if t.name.startswith("faultproxy")]


def test_fault_soak(store: DraftStore, gateway: RunningGateway, gateway_store: GatewayStore,
                    kiosk_credentials: DeviceCredentials) -> None:
    _soak(200, store, gateway, gateway_store, kiosk_credentials)


@pytest.mark.slow
def test_fault_soak_thousand(store: DraftStore, gateway: RunningGateway,
                             gateway_store: GatewayStore,
                             kiosk_credentials: DeviceCredentials) -> None:
    _soak(1000, store, gateway, gateway_store, kiosk_credentials)
