"""CSV file linkage: file layout, exactly-once export under concurrency, crash-safe batches."""

from __future__ import annotations

import argparse
import copy
import csv
import errno
import io
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from desk.durable import atomic_write
from sync.gateway import csv_linkage
from sync.gateway.context import GatewaySettings, open_context
from sync.gateway.csv_linkage import (
    FIXED_COLUMNS,
    LEASE_SECONDS,
    CsvBatch,
    CsvExportError,
    ExportLoop,
    export_csv_batches,
)
from sync.gateway.models import make_engine
from sync.gateway.store import GatewayStore
from sync.protocol import ApplicationPayload, Receipt
from ui import cli_gateway_csv

# 2026-05-12 10:14:55 in Tokyo.
RECEIVED = datetime(2026, 5, 12, 1, 14, 55, tzinfo=UTC)
NOW = datetime(2026, 5, 12, 3, 0, tzinfo=UTC)


def _respond(receipt: Receipt) -> tuple[int, str]:
    return 201, receipt.model_dump_json(by_alias=True)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[GatewayStore]:
    opened = GatewayStore(db_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def engine(db_url: str, store: GatewayStore) -> Iterator[Engine]:
    """A second engine on the gateway database, as an exporter process would open it."""
    opened = make_engine(db_url)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "linkage"
    path.mkdir()
    return path


Receive = Callable[..., str]


@pytest.fixture
def receive(store: GatewayStore, make_payload_json: Callable[..., dict[str, Any]]) -> Receive:
    """Store one fake application at the gateway; returns its id."""

    def submit(
        *,
        tenant: str = "131016",
        extra_procedures: list[dict[str, Any]] | None = None,
        at: datetime = RECEIVED,
        sosashaid: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> str:
        wire = make_payload_json(**(data or {}))
        wire["metadata"]["shikuchosonkodo"] = tenant
        if sosashaid is not None:
            wire["metadata"]["sosashaid"] = sosashaid
        wire["procedures"].extend(copy.deepcopy(extra_procedures or []))
        payload = ApplicationPayload.model_validate(wire)
        store.receive(payload, received_at=at, respond=_respond)
        return payload.metadata.application_id

    return submit


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _exported_ids(folder: Path) -> Counter[str]:
    """How often each application id appears across every juki-tennyu file."""
    seen: Counter[str] = Counter()
    for path in folder.glob("*_juki-tennyu_*.csv"):
        seen.update(row["application_id"] for row in _read(path))
    return seen


def test_one_file_per_procedure_with_romaji_header_utf8_crlf(
    receive: Receive, folder: Path, engine: Engine
) -> None:
    first = receive(sosashaid="S0042")
    second = receive(
        data={"shimei": "見本　一郎"},
        extra_procedures=[
            {
                "procedureId": "kokuho-kanyu",
                "formVersion": "1",
                "data": {"x_kazoku": [{"zokugara": "子"}], "x_doui": True, "kingaku": 1200},
            }
        ],
    )
    paths = export_csv_batches(engine, folder, now=NOW)

    names = sorted(path.name for path in paths)
    assert len(names) == 2
    batch_id = names[0].rsplit("_", 1)[1].removesuffix(".csv")
    assert names == [f"131016_juki-tennyu_{batch_id}.csv", f"131016_kokuho-kanyu_{batch_id}.csv"]
    assert sorted(p.name for p in folder.iterdir()) == names  # no temp file left

    tennyu = folder / names[0]
    raw = tennyu.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == 3 and raw.count(b"\n") == 3  # header + 2 rows, CRLF only
    header = next(csv.reader(io.StringIO(raw.decode("utf-8"))))
    items = ["jusho_yubinbango", "seinengappi", "shimei", "shimei_furigana"]
    assert header == [*FIXED_COLUMNS, *items]

    rows = _read(tennyu)
    assert [row["application_id"] for row in rows] == [first, second]
    assert rows[0] == {
        "shikuchosonkodo": "131016",
        "uketsuke_bango": "20260512-000001",
        "application_id": first,
        "sosashaid": "S0042",
        "sosanengappi": "2026-05-12",
        "sosajikoku": "10:14:55",
        "jusho_yubinbango": "1000014",
        "seinengappi": "1990-04-01",
        "shimei": "窓口　太郎",
        "shimei_furigana": "マドグチ　タロウ",
    }
    assert rows[1]["sosashaid"] == ""
    assert rows[1]["shimei"] == "見本　一郎"

    (kokuho,) = _read(folder / names[1])
    assert list(kokuho) == [*FIXED_COLUMNS, "kingaku", "x_doui", "x_kazoku"]
    assert kokuho["application_id"] == second
    assert kokuho["x_kazoku"] == '[{"zokugara":"子"}]'
    assert kokuho["x_doui"] == "true"
    assert kokuho["kingaku"] == "1200"


def test_values_are_kept_exactly_and_fixed_names_are_never_overwritten(
    receive: Receive, folder: Path, engine: Engine
) -> None:
    ivs_name = "葛\U000e0100城　太郎"  # an IVS selector must survive as it is
    note = '一行目\n二行目, "引用"'
    receive(sosashaid="S1", data={"shimei": ivs_name, "x_biko": note, "x_nashi": None})
    receive(sosashaid="S2", data={"sosashaid": "S-DATA"})
    (path,) = export_csv_batches(engine, folder, now=NOW)
    rows = _read(path)
    assert rows[0]["shimei"] == ivs_name
    assert rows[0]["x_biko"] == note
    assert rows[0]["x_nashi"] == ""
    # The data item "sosashaid" lands beside the fixed column, which keeps the operator id.
    assert rows[1]["sosashaid"] == "S2"
    assert rows[1]["x_data_sosashaid"] == "S-DATA"
    assert rows[0]["x_data_sosashaid"] == ""


def test_each_application_is_exported_once_across_runs_and_tenants(
    receive: Receive, folder: Path, engine: Engine
) -> None:
    first = receive()
    assert len(export_csv_batches(engine, folder, now=NOW)) == 1
    assert export_csv_batches(engine, folder, now=NOW) == []
    sapporo = receive(tenant="011002")
    second = receive()
    paths = export_csv_batches(engine, folder, now=NOW + timedelta(minutes=1))
    # One batch per tenant, so a file never mixes two municipalities.
    assert sorted(path.name.split("_")[0] for path in paths) == ["011002", "131016"]
    assert _exported_ids(folder) == Counter({first: 1, sapporo: 1, second: 1})
    for path in paths:
        tenant = path.name.split("_")[0]
        assert {row["shikuchosonkodo"] for row in _read(path)} == {tenant}


def test_two_exporters_never_export_an_application_twice_and_no_partial_file_is_seen(
    receive: Receive, folder: Path, db_url: str
) -> None:
    expected = {receive() for _ in range(40)}
    stop = threading.Event()
    seen: dict[str, set[bytes]] = {}
    odd_names: set[str] = set()
    errors: list[Exception] = []

    def watch() -> None:
        # What a receiving system polling the folder would pick up.
        while not stop.is_set():
            for path in folder.iterdir():
                if path.suffix != ".csv":
                    odd_names.add(path.name)
                    continue
                # A .csv file, once there, is never removed or rewritten by these exporters.
                seen.setdefault(path.name, set()).add(path.read_bytes())

    def produce() -> None:
        for _ in range(40):
            expected.add(receive())

    def export(worker_engine: Engine, barrier: threading.Barrier) -> None:
        try:
            barrier.wait()
            for round_ in range(6):
                export_csv_batches(worker_engine, folder, now=NOW + timedelta(seconds=round_),
                                   batch_size=7)
        except Exception as error:  # noqa: BLE001 - asserted empty in the test thread
            errors.append(error)

    engines = [make_engine(db_url), make_engine(db_url)]
    barrier = threading.Barrier(3)
    watcher = threading.Thread(target=watch)
    workers = [threading.Thread(target=export, args=(e, barrier)) for e in engines]
    watcher.start()
    for worker in workers:
        worker.start()
    barrier.wait()
    produce()
    for worker in workers:
        worker.join()
    # Whatever arrived after the exporters' last round goes out in one more run.
    export_csv_batches(engines[0], folder, now=NOW + timedelta(minutes=1), batch_size=7)
    stop.set()
    watcher.join()
    for each in engines:
        each.dispose()

    assert errors == []
    assert len(expected) == 80
    assert _exported_ids(folder) == Counter(dict.fromkeys(expected, 1))
    assert len(list(folder.glob("*.csv"))) >= 80 // 7
    assert seen  # the watcher did read files while they were being written
    assert all(name.startswith(".") and name.endswith(".tmp") for name in odd_names)
    for name, versions in seen.items():
        # A reader only ever saw the file's one complete content.
        assert versions == {(folder / name).read_bytes()}


def test_a_failed_write_keeps_the_batch_and_the_next_run_writes_it_again(
    receive: Receive, folder: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    both = [{"procedureId": "kokuho-kanyu", "formVersion": "1", "data": {"kingaku": 1}}]
    first = receive(extra_procedures=both)
    second = receive(extra_procedures=both)
    calls: list[Path] = []

    def disk_full_on_second_file(path: Path, data: bytes, *, create: bool = False) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        atomic_write(path, data, create=create)

    monkeypatch.setattr(csv_linkage, "atomic_write", disk_full_on_second_file)
    with pytest.raises(CsvExportError):
        export_csv_batches(engine, folder, now=NOW)
    (written,) = list(folder.iterdir())  # the first file is complete; the second never appeared
    first_bytes = written.read_bytes()
    monkeypatch.undo()

    # Same instant: the failure ended the lease, so no waiting. Same batch, same names.
    paths = export_csv_batches(engine, folder, now=NOW)
    assert sorted(paths) == sorted([calls[0], calls[1]])
    assert written.read_bytes() == first_bytes
    assert _exported_ids(folder) == Counter({first: 1, second: 1})
    with Session(engine) as session:
        batches = session.scalars(select(CsvBatch)).all()
    assert len(batches) == 1 and batches[0].written_at is not None


class _Killed(BaseException):
    """Stands for the process dying mid-write (nothing after it runs)."""


def test_a_batch_claimed_by_a_dead_exporter_is_written_after_its_lease(
    receive: Receive, folder: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    only = receive()

    def die(path: Path, data: bytes, *, create: bool = False) -> None:
        raise _Killed

    monkeypatch.setattr(csv_linkage, "atomic_write", die)
    with pytest.raises(_Killed):
        export_csv_batches(engine, folder, now=NOW)
    monkeypatch.undo()
    assert list(folder.iterdir()) == []

    # While the lease lasts the batch is the (presumed live) exporter's: nobody else writes it,
    # and its application is not claimed again.
    assert export_csv_batches(engine, folder, now=NOW + timedelta(seconds=10)) == []
    later = NOW + timedelta(seconds=LEASE_SECONDS)
    (path,) = export_csv_batches(engine, folder, now=later)
    assert _exported_ids(folder) == Counter({only: 1})
    assert export_csv_batches(engine, folder, now=later + timedelta(hours=1)) == []
    assert path.exists()


def test_missing_folder_is_an_error_and_the_batch_waits_for_it(
    receive: Receive, tmp_path: Path, engine: Engine
) -> None:
    only = receive()
    folder = tmp_path / "not-yet"
    with pytest.raises(CsvExportError) as caught:
        export_csv_batches(engine, folder, now=NOW)
    assert str(folder) not in str(caught.value)
    folder.mkdir()
    assert len(export_csv_batches(engine, folder, now=NOW)) == 1
    assert _exported_ids(folder) == Counter({only: 1})


def test_export_csv_command(
    receive: Receive, folder: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    only = receive()
    parser = argparse.ArgumentParser()
    register_into = parser.add_subparsers(dest="gateway_command")
    cli_gateway_csv.register(register_into)
    args = parser.parse_args(["export-csv", "--dir", str(folder), "--db", db_url])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    (path,) = folder.glob("*.csv")
    assert path.name in out
    assert "窓口" not in out
    assert _exported_ids(folder) == Counter({only: 1})
    assert args.handler(args) == 0
    again = capsys.readouterr()
    assert again.out == ""
    assert "0 file(s)" in again.err


def test_the_gateway_loop_exports_to_its_configured_folder(
    receive: Receive, folder: Path, db_url: str
) -> None:
    context = open_context(db_url, settings=GatewaySettings(csv_dir=folder))
    unconfigured = open_context(db_url)
    idle = ExportLoop(unconfigured, interval_s=0.01)
    idle.start()  # no folder configured: no thread, nothing written
    loop = ExportLoop(context, interval_s=60.0)
    try:
        loop.start()
        only = receive()
        loop.wake()  # a receipt wakes it instead of waiting for the interval
        deadline = time.monotonic() + 10.0
        while not list(folder.glob("*.csv")) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        loop.stop()
        idle.stop()
        unconfigured.close()
        context.close()
    assert _exported_ids(folder) == Counter({only: 1})
