"""`madoguchi sync status|run|register`: the outbox for staff and scripts, and late registration.

Exit codes of `sync run` (and of `sync status`, judging by the stored state only):
0 everything sent, 1 some applications need attention, 2 sending is off (not registered,
credentials refused, gateway certificate untrusted), 3 not everything could be sent yet
(offline, or waiting for the next retry).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading
from pathlib import Path
from typing import Any

from desk.config import STORE_FILE, DeviceConfig
from desk.enrolment import register_enrolled
from desk.errors import DeskError
from desk.store.drafts import DraftStore
from desk.store.keys import KeyStore
from sync.registration import (
    check_registration,
    read_credentials,
    registration_of,
    stored_credentials,
)
from sync.worker import OutboxOverview, SyncReport, SyncState, device_worker, outbox_overview
from ui.cli_common import (
    CommandError,
    add_passphrase_option,
    explain,
    load_device,
    open_device_keys,
)

EXIT_SENT, EXIT_ATTENTION, EXIT_SENDING_OFF, EXIT_NOT_YET = 0, 1, 2, 3


_STATE_TEXT = {
    SyncState.IDLE: "the gateway answered",
    SyncState.SENDING: "sending",
    SyncState.OFFLINE: "the gateway cannot be reached; applications wait and are retried",
    SyncState.CREDENTIALS_REFUSED: "the gateway refused this device's credentials: register "
                                   "again with `madoguchi sync register --credentials FILE`",
    SyncState.GATEWAY_UNTRUSTED: "the gateway's certificate is not from the configured CA",
    SyncState.SENDING_OFF: "sending is off: this device is not registered with a gateway "
                           "(`madoguchi sync register --credentials FILE`)",
    SyncState.STARTING: "starting",
    SyncState.STOPPED: "stopped",
}



def exit_code(state: SyncState, overview: OutboxOverview) -> int:
    """The exit code for where sending stands (see the module docstring)."""
    if state in (SyncState.SENDING_OFF, SyncState.CREDENTIALS_REFUSED,
                 SyncState.GATEWAY_UNTRUSTED):
        return EXIT_SENDING_OFF
    if state is SyncState.OFFLINE or overview.waiting:
        return EXIT_NOT_YET
    if overview.needs_attention:
        return EXIT_ATTENTION
    return EXIT_SENT


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _open(args: argparse.Namespace) -> tuple[Path, DeviceConfig, KeyStore, DraftStore]:
    profile, device = load_device(args)
    keys = open_device_keys(args, profile, device)
    try:
        store = DraftStore(profile / STORE_FILE, keys)
    except DeskError as error:
        raise CommandError(explain(error)) from None
    return profile, device, keys, store


def status_data(device: DeviceConfig, overview: OutboxOverview, credentials: bool,
                now: dt.datetime) -> dict[str, Any]:
    """The status as JSON-ready data: counts, times and ids, never content."""
    oldest = overview.oldest_pending_at
    return {
        "device_id": device.device_id,
        "tenant_code": device.tenant_code,
        "mode": device.mode,
        "gateway_url": device.gateway_url,
        "credentials": credentials,
        "pending": overview.pending,
        "in_flight": overview.in_flight,
        "done": overview.done,
        "needs_attention": overview.needs_attention,
        "attention_ids": list(overview.attention_ids),
        "oldest_pending_at": _iso(oldest),
        "oldest_pending_age_s": int((now - oldest).total_seconds()) if oldest else None,
        "next_attempt_at": _iso(overview.next_attempt_at),
        "last_receipt_at": _iso(overview.last_receipt_at),
    }


def cmd_sync_status(args: argparse.Namespace) -> int:
    """Print the outbox counts and the registration of this device (no network)."""
    _profile, device, keys, store = _open(args)
    try:
        overview = outbox_overview(store)
        present = stored_credentials(device, store.engine, keys) is not None
    except DeskError as error:
        raise CommandError(explain(error)) from None
    finally:
        store.close()
    data = status_data(device, overview, present, dt.datetime.now(dt.UTC))
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        for key, value in data.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"{key.replace('_', ' '):<20} {'-' if shown in (None, '') else shown}")
    state = SyncState.IDLE if present and device.gateway_url else SyncState.SENDING_OFF
    return exit_code(state, overview)


def _print_report(report: SyncReport) -> None:
    delivery, overview = report.delivery, report.overview
    parts = [f"{report.at.astimezone():%H:%M:%S} {report.state.value}:",
             f"sent {len(delivery.received)}", f"retrying {len(delivery.retrying)}",
             f"needs attention {len(delivery.needs_attention)}",
             f"(waiting {overview.waiting}, needs attention in all {overview.needs_attention})"]
    if report.statuses_updated:
        parts.append(f"status updates {report.statuses_updated}")
    if report.catalog:
        parts.append(f"catalog {report.catalog}")
    print(" ".join(parts), flush=True)
    if report.state not in (SyncState.IDLE, SyncState.SENDING):
        print(f"  {_STATE_TEXT[report.state]}", file=sys.stderr, flush=True)


def cmd_sync_run(args: argparse.Namespace) -> int:
    """Send in the foreground: one pass (--once), or until Ctrl-C."""
    profile, device = load_device(args)
    keys = open_device_keys(args, profile, device)
    worker = device_worker(profile, device, keys, on_report=_print_report)
    if args.once:
        try:
            report = worker.run_once()
        finally:
            worker.close()
        return exit_code(report.state, report.overview)
    stopped = threading.Event()
    worker.start()
    try:
        while worker.running and not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("Stopping after the current step…", file=sys.stderr)
    finally:
        worker.stop()
    last = worker.last_report
    return exit_code(last.state, last.overview) if last is not None else EXIT_NOT_YET


def read_credentials_text(source: str) -> str:
    """The credentials JSON from a file, or stdin for '-' (never echoed anywhere)."""
    try:
        return sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise CommandError(f"The credentials file cannot be read ({type(error).__name__}).")\
            from None


def cmd_sync_register(args: argparse.Namespace) -> int:
    """Register an enrolled device with the gateway using `gateway add-device` credentials."""
    profile, device = load_device(args)
    keys = open_device_keys(args, profile, device)
    try:
        credentials = read_credentials(read_credentials_text(args.credentials))

        def check(config: DeviceConfig) -> None:
            check_registration(config, credentials)

        updated = register_enrolled(profile, device, keys, registration_of(credentials),
                                    gateway_url=args.gateway, register=check)
    except DeskError as error:
        raise CommandError(explain(error)) from None
    print(f"Registered {updated.device_id} with {updated.gateway_url}: applications are sent "
          "from now on.")
    return 0


def register(commands: Any) -> None:
    """Add `madoguchi sync` to the parser."""
    sync = commands.add_parser("sync", help="send applications and check the outbox")
    actions = sync.add_subparsers(dest="sync_command", required=True)
    status = actions.add_parser("status", help="counts of the outbox (no network)")
    status.add_argument("--json", action="store_true", help="print JSON for scripts")
    status.set_defaults(handler=cmd_sync_status)
    run = actions.add_parser("run", help="send now, in the foreground (Ctrl-C stops)")
    run.add_argument("--once", action="store_true", help="one pass, then exit")
    run.set_defaults(handler=cmd_sync_run)
    reg = actions.add_parser("register", help="register with the gateway (after an offline "
                                              "enrolment, or with new credentials)")
    reg.add_argument("--credentials", required=True, metavar="FILE",
                     help="the JSON of `madoguchi gateway add-device` ('-' for stdin)")
    reg.add_argument("--gateway", metavar="URL", help="the gateway (default: the enrolled one)")
    reg.set_defaults(handler=cmd_sync_register)
    for action in (status, run, reg):
        add_passphrase_option(action)
        action.add_argument("--data-dir", default=argparse.SUPPRESS)
