"""`madoguchi gateway export-csv`: write received applications as CSV linkage batches."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ui.cli_common import CommandError, default_data_dir

GATEWAY_DB_FILE = "gateway.sqlite3"  # the default database of `madoguchi gateway`


def _db_url(args: argparse.Namespace) -> str:
    if getattr(args, "db", None):
        return str(args.db)
    chosen = getattr(args, "data_dir", None)
    data_dir = Path(chosen) if chosen else default_data_dir()
    path = data_dir / GATEWAY_DB_FILE
    if not path.exists():
        raise CommandError("There is no gateway database in the data folder; give --db URL.")
    return f"sqlite:///{path}"


def cmd_export_csv(args: argparse.Namespace) -> int:
    """Export every application not yet exported; print the files written (names only)."""
    try:
        from sync.gateway.csv_linkage import CsvExportError, export_csv_batches
        from sync.gateway.models import make_engine
    except ImportError:
        print("The gateway needs its extra: pip install 'madoguchi-desk[gateway]'",
              file=sys.stderr)
        return 2
    folder = Path(args.dir).expanduser().absolute()
    if not folder.is_dir():
        raise CommandError("The export folder does not exist; create it first.")
    engine = make_engine(_db_url(args))
    try:
        paths = export_csv_batches(engine, folder, now=datetime.now(UTC))
    except CsvExportError as error:
        # The batch stays claimed and is written again by the next run; nothing is lost.
        raise CommandError(
            f"A CSV file could not be written (is the disk full or the folder read-only?). "
            f"Batch {error} is written again by the next run.", code=1) from None
    finally:
        engine.dispose()
    for path in paths:
        print(path.name)
    print(f"{len(paths)} file(s) written to {folder}", file=sys.stderr)
    return 0


def register(gateway_commands: Any) -> None:
    """Add `export-csv` to the `madoguchi gateway` subcommands.

    Args:
        gateway_commands: The subparsers action of the `gateway` command.
    """
    export = gateway_commands.add_parser(
        "export-csv", help="write received applications as CSV batches (file linkage)")
    export.add_argument("--dir", required=True, metavar="FOLDER",
                        help="the linkage folder receiving systems read *.csv files from")
    # SUPPRESS: a --db or --data-dir given before `export-csv` (on `gateway`) is kept.
    export.add_argument("--db", default=argparse.SUPPRESS,
                        help="database URL (default: SQLite in the data folder)")
    export.add_argument("--data-dir", default=argparse.SUPPRESS)
    export.set_defaults(handler=cmd_export_csv)
