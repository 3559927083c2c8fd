"""Gateway subcommands: serve, register callers, print the OpenAPI document."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ui import cli_gateway_csv
from ui.cli_common import CommandError, default_data_dir

_EXTRA_MISSING = "The gateway needs its extra: pip install 'madoguchi-desk[gateway]'"
_MODES = ("kiosk", "desk", "counter", "backoffice")  # sync.protocol.GATEWAY_CLIENT_MODES


def _db_url(args: argparse.Namespace) -> str:
    if getattr(args, "db", None):
        return str(args.db)
    chosen = getattr(args, "data_dir", None)
    data_dir = Path(chosen) if chosen else default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'gateway.sqlite3'}"


def _gateway_modules() -> tuple[Any, Any, Any]:
    # Imported late: the app and the other commands run without the gateway's extra.
    try:
        from sync.gateway import admin, app, server
        from sync.gateway.context import GatewaySettings
    except ImportError:
        raise CommandError(_EXTRA_MISSING) from None
    return admin, app, (server, GatewaySettings)


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the reference gateway until interrupted."""
    _, _, (server, settings_type) = _gateway_modules()
    settings = settings_type(
        catalog_path=Path(args.catalog) if getattr(args, "catalog", None) else None,
        csv_dir=Path(args.csv_dir) if getattr(args, "csv_dir", None) else None,
    )
    workers = getattr(args, "workers", 1)
    if workers < 1:
        raise CommandError("--workers must be 1 or more.")
    with _schema_errors():
        if workers > 1:
            from sync.gateway.asgi import serve_workers

            serve_workers(args.host, args.port, _db_url(args), workers=workers,
                          settings=settings)
        else:
            # uvicorn stops gracefully on Ctrl-C, then raises it again: not an error here.
            with contextlib.suppress(KeyboardInterrupt):
                server.serve(args.host, args.port, _db_url(args), settings=settings)
    return 0


@contextlib.contextmanager
def _schema_errors() -> Iterator[None]:
    # A database from a newer release (or a failed upgrade) is an administrator's sentence,
    # not a traceback.
    from sync.gateway.schema import GatewaySchemaError

    try:
        yield
    except GatewaySchemaError as error:
        raise CommandError(f"{error} ({error.reason})") from None


def cmd_add_device(args: argparse.Namespace) -> int:
    """Register a device or the back office; print its client credentials as JSON."""
    admin, _, _ = _gateway_modules()
    try:
        with _schema_errors():
            credentials = admin.add_device(
                _db_url(args), tenant_code=args.tenant, mode=args.mode,
                device_id=args.device_id, privileged=args.privileged, replace=args.replace,
            )
    except admin.AdminError as error:
        raise CommandError(f"{error} ({error.reason})") from None
    print(credentials.model_dump_json())
    print("Give these credentials to the device now: the secret is not stored and cannot be "
          "shown again.", file=sys.stderr)
    return 0


def cmd_disable_device(args: argparse.Namespace) -> int:
    """Disable a device's registration; its tokens stop working at once."""
    admin, _, _ = _gateway_modules()
    with _schema_errors():
        count = admin.disable_device(_db_url(args), tenant_code=args.tenant,
                                     device_id=args.device_id)
    if count == 0:
        raise CommandError("No active registration of this device id in this tenant.", code=1)
    print(f"Disabled {args.device_id} ({count} registration(s)).", file=sys.stderr)
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    """Print the gateway's OpenAPI document (JSON) on stdout."""
    _, app_module, _ = _gateway_modules()
    application = app_module.create_app("sqlite://")  # in memory: nothing is written
    try:
        print(json.dumps(application.openapi(), ensure_ascii=False, indent=2))
    finally:
        application.state.context.close()
    return 0


def _serve_options(parser: argparse.ArgumentParser, default: Any) -> None:
    # On `gateway` itself (so `madoguchi gateway --port N` still serves) and on `gateway serve`;
    # the copies on `serve` default to SUPPRESS so they never undo options given before it.
    def value(fallback: Any) -> Any:
        return fallback if default is None else default

    parser.add_argument("--host", default=value("127.0.0.1"))
    parser.add_argument("--port", type=int, default=value(8765))
    parser.add_argument("--db", default=value(None),
                        help="database URL (default: SQLite in the data folder)")
    parser.add_argument("--catalog", metavar="FILE", default=value(None),
                        help="signed catalog bundle to serve at /catalog")
    parser.add_argument("--csv-dir", metavar="DIR", default=value(None),
                        help="folder for CSV file-linkage batches")
    parser.add_argument("--workers", type=int, metavar="N", default=value(1),
                        help="worker processes sharing the port and the database (default 1)")
    parser.add_argument("--data-dir", default=argparse.SUPPRESS)


def register(commands: Any) -> None:
    """Add `madoguchi gateway [serve|add-device|disable-device|openapi]` to the subcommands."""
    gateway = commands.add_parser("gateway", help="the reference gateway: serve (default), "
                                                  "add-device, disable-device, openapi")
    _serve_options(gateway, None)
    gateway.set_defaults(handler=cmd_serve)
    actions = gateway.add_subparsers(dest="gateway_command")

    serve = actions.add_parser("serve", help="serve the gateway until interrupted")
    _serve_options(serve, argparse.SUPPRESS)
    serve.set_defaults(handler=cmd_serve)

    add = actions.add_parser("add-device", help="register a device; prints its credentials")
    add.add_argument("--tenant", required=True, metavar="CODE",
                     help="6-digit local government code with check digit, e.g. 131016")
    add.add_argument("--mode", required=True, choices=_MODES)
    add.add_argument("--device-id", metavar="ID",
                     help="the device's id (default: generated, e.g. kiosk-1a2b3c4d)")
    add.add_argument("--privileged", action="store_true",
                     help="allow privileged staff paths (authorised counters only)")
    add.add_argument("--replace", action="store_true",
                     help="issue new credentials for a registered device id")
    add.add_argument("--db", default=argparse.SUPPRESS, help="database URL")
    add.add_argument("--data-dir", default=argparse.SUPPRESS)
    add.set_defaults(handler=cmd_add_device)

    disable = actions.add_parser("disable-device", help="stop a device's credentials")
    disable.add_argument("--tenant", required=True, metavar="CODE")
    disable.add_argument("--device-id", required=True, metavar="ID")
    disable.add_argument("--db", default=argparse.SUPPRESS, help="database URL")
    disable.add_argument("--data-dir", default=argparse.SUPPRESS)
    disable.set_defaults(handler=cmd_disable_device)

    openapi = actions.add_parser("openapi", help="print the OpenAPI document (JSON)")
    openapi.set_defaults(handler=cmd_openapi)
    cli_gateway_csv.register(actions)
