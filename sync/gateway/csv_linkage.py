"""CSV file linkage: received applications written as batches of CSV files, each exactly once.

File layout (the 基本データリスト conventions):

- One file per data group per batch. The data group is the procedure id (``juki-tennyu``): the
  items of one procedure form one record layout, which is what a receiving system imports.
  File name ``{tenant}_{procedureId}_{batchId}.csv``; a batch holds one tenant's applications.
- UTF-8 without BOM, CRLF line ends, a header row of Hepburn romaji item names: the fixed
  columns ``shikuchosonkodo, uketsuke_bango, application_id, sosashaid, sosanengappi,
  sosajikoku`` (operation date ``YYYY-MM-DD`` and time ``HH:MM:SS`` in JST, from the receipt
  time), then the sorted union of the group's data item names. Values are written as in the
  payload (dates are ISO already); lists and objects as compact JSON, ``true``/``false`` for
  booleans, empty for a missing item. A data item that has a fixed column's name is written
  as ``x_data_<name>`` so it never overwrites the fixed column.

Exactly once, crash-safe: an exporter *claims* applications into a batch (a ``csv_batches``
row plus one ``csv_exports`` row per application, unique per application) in one transaction,
then writes the batch's files from the claimed rows after commit, then marks the batch
written. Two exporters can never claim the same application: on SQLite the claim runs in a
``BEGIN IMMEDIATE`` transaction, elsewhere the unique constraint refuses the second claim.

When writing fails (or the exporter dies), the claim is *not* released: the batch stays
claimed and is written again later, under the same batch id, from the same rows, so the files
get the same names and the same bytes. Releasing the claim instead would put applications
whose files were already partly written into a new batch with new file names, and a
receiving system would import them twice. A batch whose writer is gone is taken over once its
lease (:data:`LEASE_SECONDS`) has run out; a failure the exporter sees ends the lease at once.
Each file is written atomically (temp file ``.{name}.{random}.tmp`` in the same folder, fsync,
``os.replace``, fsync of the folder), so a reader only ever sees complete ``.csv`` files.
Files are created owner-only (0600, personal data): the receiving side reads them as the
gateway's own account (e.g. the SFTP login of the linkage folder).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    exists,
    select,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from desk.durable import atomic_write
from desk.ids import new_ulid
from sync.gateway.models import READ_ONLY_OPTION, Base, ReceivedApplication, UtcDateTime
from sync.gateway.store import TOKYO

if TYPE_CHECKING:
    from sync.gateway.context import GatewayContext

_log = logging.getLogger(__name__)

FIXED_COLUMNS = (
    "shikuchosonkodo",
    "uketsuke_bango",
    "application_id",
    "sosashaid",
    "sosanengappi",
    "sosajikoku",
)
"""The columns every file starts with, before the data items."""

BATCH_SIZE = 500
"""Applications per batch at most: bounds an exporter's memory and the size of its files."""

LEASE_SECONDS = 600
"""How long a claimed batch belongs to its exporter before another may write it."""

EXPORT_INTERVAL_SECONDS = 30.0
"""How often a gateway with a CSV folder configured looks for applications to export."""

_CLAIM_ATTEMPTS = 5
_RESERVED_PREFIX = "x_data_"


class CsvExportError(Exception):
    """Writing a batch failed; the batch stays claimed and is written again on the next run.

    The message is the batch id only (no paths or data): the cause is chained.
    """


class CsvBatch(Base):
    """One claimed batch: a tenant's applications exported together, and whether its files exist."""

    __tablename__ = "csv_batches"
    __table_args__ = (Index("ix_csv_batches_pending", "written_at", "lease_until"),)

    batch_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    tenant_code: Mapped[str] = mapped_column(String(6))
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[datetime] = mapped_column(UtcDateTime())
    written_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    files_json: Mapped[str | None] = mapped_column(Text, nullable=True)


class CsvExport(Base):
    """The CSV "exported" marker of one application: which batch carries it."""

    __tablename__ = "csv_exports"
    __table_args__ = (
        # The guarantee itself: an application belongs to one batch, ever.
        UniqueConstraint("tenant_code", "application_id", name="uq_csv_exports_application"),
        Index("ix_csv_exports_batch", "batch_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_code: Mapped[str] = mapped_column(String(6))
    application_id: Mapped[str] = mapped_column(String(26))
    batch_id: Mapped[str] = mapped_column(ForeignKey("csv_batches.batch_id"))
    exported_at: Mapped[datetime] = mapped_column(UtcDateTime())


@dataclass(frozen=True)
class _Claimed:
    """One application of a batch, as read back for writing."""

    uketsuke_bango: str
    application_id: str
    received_at: datetime
    payload: dict[str, Any]


def _engine_of(source: Any) -> Engine:
    if isinstance(source, Engine):
        return source
    engine = getattr(source, "engine", None)
    if not isinstance(engine, Engine):
        raise TypeError("a GatewayContext or an Engine is needed")
    return engine


def _claim(engine: Engine, now: datetime, batch_size: int, lease_s: int) -> str | None:
    """Claim the oldest unexported applications of one tenant into a new batch."""
    unexported = ~exists().where(
        and_(
            CsvExport.tenant_code == ReceivedApplication.tenant_code,
            CsvExport.application_id == ReceivedApplication.application_id,
        )
    )
    for attempt in range(_CLAIM_ATTEMPTS):
        try:
            with Session(engine) as session, session.begin():
                tenant = session.scalars(
                    select(ReceivedApplication.tenant_code)
                    .where(unexported)
                    .order_by(ReceivedApplication.id)
                    .limit(1)
                ).first()
                if tenant is None:
                    return None
                application_ids = session.scalars(
                    select(ReceivedApplication.application_id)
                    .where(ReceivedApplication.tenant_code == tenant, unexported)
                    .order_by(ReceivedApplication.id)
                    .limit(batch_size)
                ).all()
                batch_id = new_ulid(int(now.timestamp() * 1000))
                session.add(
                    CsvBatch(
                        batch_id=batch_id,
                        tenant_code=tenant,
                        claimed_at=now,
                        lease_until=now + timedelta(seconds=lease_s),
                    )
                )
                session.flush()  # the batch row first: the markers refer to it
                session.add_all(
                    CsvExport(
                        tenant_code=tenant,
                        application_id=application_id,
                        batch_id=batch_id,
                        exported_at=now,
                    )
                    for application_id in application_ids
                )
            return batch_id
        except IntegrityError:
            # Another exporter claimed some of these first (servers without SQLite's global
            # write lock); look again at what is left.
            if attempt == _CLAIM_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _take_over(engine: Engine, now: datetime, lease_s: int) -> str | None:
    """Take the oldest unwritten batch whose lease has run out (its exporter died or failed)."""
    with Session(engine) as session, session.begin():
        batch = session.scalars(
            select(CsvBatch)
            .where(CsvBatch.written_at.is_(None), CsvBatch.lease_until <= now)
            .order_by(CsvBatch.claimed_at, CsvBatch.batch_id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if batch is None:
            return None
        batch.lease_until = now + timedelta(seconds=lease_s)
        return batch.batch_id


def _read_batch(engine: Engine, batch_id: str) -> tuple[str, list[_Claimed]]:
    reader = engine.execution_options(**{READ_ONLY_OPTION: True})
    with Session(reader) as session, session.begin():
        batch = session.get_one(CsvBatch, batch_id)
        rows = session.execute(
            select(
                ReceivedApplication.uketsuke_bango,
                ReceivedApplication.application_id,
                ReceivedApplication.received_at,
                ReceivedApplication.payload_json,
            )
            .join(
                CsvExport,
                and_(
                    CsvExport.tenant_code == ReceivedApplication.tenant_code,
                    CsvExport.application_id == ReceivedApplication.application_id,
                ),
            )
            .where(CsvExport.batch_id == batch_id)
            .order_by(ReceivedApplication.id)
        ).all()
        claimed = [
            _Claimed(bango, application_id, received_at, json.loads(payload_json))
            for bango, application_id, received_at, payload_json in rows
        ]
        return batch.tenant_code, claimed


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    # Numbers, booleans, lists and objects: compact JSON, characters kept as they are.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _column(item: str) -> str:
    return f"{_RESERVED_PREFIX}{item}" if item in FIXED_COLUMNS else item


def _render_group(tenant_code: str, records: Iterable[tuple[_Claimed, dict[str, Any]]]) -> bytes:
    """One data group's file: a header row, then a row per (application, procedure data)."""
    records = list(records)
    items = sorted({_column(name) for _, data in records for name in data})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([*FIXED_COLUMNS, *items])
    for claimed, data in records:
        received = claimed.received_at.astimezone(TOKYO)
        metadata = claimed.payload.get("metadata", {})
        by_column = {_column(name): value for name, value in data.items()}
        writer.writerow(
            [
                tenant_code,
                claimed.uketsuke_bango,
                claimed.application_id,
                _cell(metadata.get("sosashaid")),
                received.strftime("%Y-%m-%d"),
                received.strftime("%H:%M:%S"),
                *(_cell(by_column.get(item)) for item in items),
            ]
        )
    return buffer.getvalue().encode("utf-8")


def _write_batch(engine: Engine, batch_id: str, folder: Path, now: datetime) -> list[Path]:
    tenant_code, claimed = _read_batch(engine, batch_id)
    groups: dict[str, list[tuple[_Claimed, dict[str, Any]]]] = defaultdict(list)
    for application in claimed:
        for procedure in application.payload.get("procedures", []):
            groups[procedure["procedureId"]].append((application, procedure.get("data", {})))
    paths: list[Path] = []
    try:
        for procedure_id in sorted(groups):
            path = folder / f"{tenant_code}_{procedure_id}_{batch_id}.csv"
            # Not create-only: a batch written again after a failure replaces its own files
            # with the same bytes.
            atomic_write(path, _render_group(tenant_code, groups[procedure_id]))
            paths.append(path)
    except OSError as error:
        with Session(engine) as session, session.begin():
            # End the lease now: the next run writes the batch again instead of waiting.
            session.get_one(CsvBatch, batch_id).lease_until = now
        raise CsvExportError(batch_id) from error
    with Session(engine) as session, session.begin():
        batch = session.get_one(CsvBatch, batch_id)
        batch.written_at = now
        batch.files_json = json.dumps([path.name for path in paths])
    return paths


def export_csv_batches(
    source: Any,
    folder: Path,
    *,
    now: datetime,
    batch_size: int = BATCH_SIZE,
    lease_s: int = LEASE_SECONDS,
) -> list[Path]:
    """Write every received application not yet exported into CSV batches in a folder.

    Batches left unwritten by a failed or dead exporter (lease over) are written first, under
    their own batch ids; then new batches are claimed until nothing is left.

    Args:
        source: The ``GatewayContext`` or the gateway's (writing) engine.
        folder: The linkage folder (must exist); receiving systems pick up ``*.csv`` only.
        now: Server time (aware): batch ids, claim and lease times.
        batch_size: Applications per batch at most.
        lease_s: Seconds a claimed batch stays this exporter's before another may write it.

    Returns:
        The files written, batch by batch.

    Raises:
        CsvExportError: A file could not be written; its batch is written again next run.
    """
    engine = _engine_of(source)
    written: list[Path] = []
    while (batch_id := _take_over(engine, now, lease_s)) is not None:
        written += _write_batch(engine, batch_id, folder, now)
    while (batch_id := _claim(engine, now, batch_size, lease_s)) is not None:
        written += _write_batch(engine, batch_id, folder, now)
    return written


def export_configured(context: GatewayContext) -> list[Path]:
    """Export to the context's configured CSV folder at its server time; nothing if none is set.

    Args:
        context: The gateway context (``settings.csv_dir``, engine, clock).

    Returns:
        The files written.

    Raises:
        CsvExportError: A file could not be written; its batch is written again next run.
    """
    folder = context.settings.csv_dir
    if folder is None:
        return []
    return export_csv_batches(context, folder, now=context.clock())


class ExportLoop:
    """Runs :func:`export_configured` now and then in a daemon thread of the gateway process.

    Any number of gateway workers may run one each: the claims keep every application in one
    batch. Failures are logged by kind and batch id only, and retried at the next turn.
    """

    def __init__(self, context: GatewayContext, interval_s: float = EXPORT_INTERVAL_SECONDS):
        """Prepare the loop (it starts with ``start()``).

        Args:
            context: The gateway context; nothing is done unless ``settings.csv_dir`` is set.
            interval_s: Seconds between two runs.
        """
        self._context = context
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread, unless no CSV folder is configured."""
        if self._context.settings.csv_dir is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="madoguchi-csv-export",
                                        daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run soon instead of at the end of the interval (e.g. after a receipt)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish its current run and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                export_configured(self._context)
            except CsvExportError as error:
                _log.warning("CSV batch %s not written; it is retried", error)
            except (OSError, SQLAlchemyError) as error:
                _log.warning("CSV export failed (%s); it is retried", type(error).__name__)
            self._wake.wait(self._interval_s)
            self._wake.clear()
