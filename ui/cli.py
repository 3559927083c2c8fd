"""The `madoguchi` command: the app, the demo, the gateway, the self-test and catalog tools.

Qt is imported only by the subcommands that show a window, after the platform check, so
`madoguchi gateway` runs on a server without any display libraries.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from desk import __version__
from desk.config import DeviceConfig
from desk.errors import DeskError
from desk.store.keys import KeyStore
from ui import cli_catalog, cli_device, cli_store, cli_sync
from ui.cli_common import CommandError, add_passphrase_option, default_data_dir, open_device_keys

DEMO_TENANT = "131016"  # 千代田区: the demo's fake municipality
log = logging.getLogger("madoguchi")


def _gui_preflight() -> int | None:
    """Say clearly what is missing before Qt would fail with a stack trace."""
    from ui.platform_check import gui_start_problems

    problems = gui_start_problems(None, os.environ)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 3
    return None


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the app on a demo profile, with a reference gateway on a free loopback port."""
    from desk.store.keys import DemoFileKeyStore

    mode = args.mode
    folder = "demo" if mode == "kiosk" else f"demo-{mode}"
    profile = Path(args.data_dir) if args.data_dir else default_data_dir() / folder
    problem = _gui_preflight()
    if problem is not None:
        return problem
    profile.mkdir(parents=True, exist_ok=True)
    (profile / DemoFileKeyStore.MARKER).touch()
    from sync.gateway.server import start_in_thread

    keys = DemoFileKeyStore(profile)
    gateway = start_in_thread(f"sqlite:///{profile / 'gateway.sqlite3'}")
    device = DeviceConfig(mode=mode, tenant_code=DEMO_TENANT,
                          device_id=f"DEMO-{mode.upper()}-01", desk_id=f"demo-{mode}",
                          gateway_url=gateway.url, key_store="demo")
    try:
        device = _demo_registration(profile, keys, gateway.db_url, device)
    except BaseException:
        gateway.stop()
        raise
    device.save(profile)
    print(f"Demo profile: {profile}\nReference gateway: {gateway.url}", file=sys.stderr)
    if mode != "kiosk":
        for login, role, pin in _demo_accounts(profile, keys):
            print(f"Demo sign-in: {login} / PIN {pin} ({role})", file=sys.stderr)
    try:
        from ui.app import build_services, run_gui

        return run_gui(build_services(profile, device, keys))
    finally:
        gateway.stop()


def _demo_registration(profile: Path, keys: KeyStore, gateway_db: str,
                       device: DeviceConfig) -> DeviceConfig:
    """Create the demo device at the demo gateway, so the demo really sends.

    The gateway listens on a new port each run, but its database stays in the profile: the
    device is registered once and its sealed secret reused. A counter demo also finds the
    demo registry's fake residents.
    """
    import dataclasses

    from sync.registration import register_at_local_gateway

    try:
        client_id = DeviceConfig.load(profile).client_id
    except DeskError:
        client_id = None
    device = register_at_local_gateway(profile, dataclasses.replace(device, client_id=client_id),
                                       keys, gateway_db)
    if device.mode == "counter":
        from sync.gateway.registry import seed_demo_registry

        seed_demo_registry(gateway_db, device.tenant_code)
    return device


DEMO_ACCOUNTS = (("demo-staff", "staff", "2580"), ("demo-volunteer", "volunteer", "3690"),
                 ("demo-supervisor", "supervisor", "1357"))


def _demo_accounts(profile: Path, keys: KeyStore) -> tuple[tuple[str, str, str], ...]:
    """The demo profile's fake sign-ins, created on first use (their PINs are printed)."""
    from desk.config import STORE_FILE
    from desk.policy import Role
    from desk.store.accounts import AccountStore
    from desk.store.drafts import DraftStore

    store = DraftStore(profile / STORE_FILE, keys)
    try:
        accounts = AccountStore(store.engine)
        if accounts.count() == 0:
            for login, role, pin in DEMO_ACCOUNTS:
                accounts.add(login, Role(role), pin, actor="demo")
    finally:
        store.close()
    return DEMO_ACCOUNTS


def cmd_app(args: argparse.Namespace) -> int:
    """Run the app with this device's configured mode and gateway."""
    profile = Path(args.data_dir) if args.data_dir else default_data_dir()
    try:
        device = DeviceConfig.load(profile)
    except DeskError:
        print(
            "This device is not enrolled yet, so there is no profile to open.\n"
            "この端末はまだ登録されていません。\n"
            "To try the app with fake data, run:  madoguchi demo",
            file=sys.stderr,
        )
        return 2
    # A locked or missing key store does not stop the app: it runs with drafts off, says why,
    # and lets staff unlock it; it never creates a new key (that would orphan every draft).
    keys: KeyStore | None
    try:
        keys, key_problem = open_device_keys(args, profile, device), None
    except CommandError as error:
        keys, key_problem = None, error.cause
    problem = _gui_preflight()
    if problem is not None:
        return problem
    from ui.app import build_services, run_gui

    return run_gui(build_services(profile, device, keys, key_problem=key_problem),
                   kiosk_fullscreen=device.mode == "kiosk")


def cmd_self_test(args: argparse.Namespace) -> int:
    """Load every resource, round-trip an encrypted draft, render one screen offscreen."""
    from ui.self_test import run_self_test

    return run_self_test(Path(args.data_dir) if args.data_dir else None)


def cmd_catalog_lint(args: argparse.Namespace) -> int:
    """Print every problem of a catalog folder; exit 1 when any is an error."""
    from desk.catalog.lint import lint

    problems = lint(Path(args.path) if args.path else None)
    for problem in problems:
        print(problem)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    print(f"{errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors or (args.strict and warnings) else 0


def cmd_catalog_stats(args: argparse.Namespace) -> int:
    """Count what a catalog folder holds."""
    import json

    from desk.catalog.lint import stats
    from desk.catalog.loader import load_catalog

    try:
        catalog = load_catalog(Path(args.path) if args.path else None)
    except DeskError as error:
        print(f"The catalog does not load: {error.params}. Run `madoguchi catalog lint`.",
              file=sys.stderr)
        return 1
    figures = stats(catalog)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        for key, value in figures.items():
            print(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="madoguchi", description="窓口デスク Madoguchi Desk: municipal front-office app."
    )
    parser.add_argument("--version", action="version", version=f"madoguchi {__version__}")
    parser.add_argument("--data-dir", help="profile folder (default: the user's data folder)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (never data)")
    parser.add_argument("--debug", action="store_true", help="log everything (never data)")
    parser.add_argument("--log-file", metavar="FILE", help="also append the log to FILE")
    add_passphrase_option(parser)
    parser.set_defaults(handler=cmd_app)
    commands = parser.add_subparsers(dest="command")

    demo = commands.add_parser("demo", help="try the app with fake data and a local gateway")
    demo.add_argument("--data-dir", default=argparse.SUPPRESS, help="demo profile folder")
    demo.add_argument("--mode", choices=("kiosk", "desk", "counter"), default="kiosk",
                      help="kiosk (default), a volunteer's desk, or the staff counter")
    demo.set_defaults(handler=cmd_demo)

    from ui import cli_gateway  # serve, add-device, disable-device, openapi

    cli_gateway.register(commands)

    self_test = commands.add_parser("self-test", help="check this installation and exit")
    self_test.add_argument("--data-dir", default=argparse.SUPPRESS,
                           help="folder for the test store (default: a temporary folder)")
    self_test.set_defaults(handler=cmd_self_test)

    catalog = commands.add_parser("catalog", help="check the procedure catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    lint = catalog_commands.add_parser("lint", help="report every problem (file:line: key)")
    lint.add_argument("path", nargs="?", help="catalog folder (default: the app's own)")
    lint.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    lint.set_defaults(handler=cmd_catalog_lint)
    stats = catalog_commands.add_parser("stats", help="count procedures, areas, events, items")
    stats.add_argument("path", nargs="?", help="catalog folder (default: the app's own)")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(handler=cmd_catalog_stats)
    cli_catalog.register(catalog_commands)
    cli_device.register(commands)
    cli_store.register(commands)
    cli_sync.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    from desk.pii import install_logging, uninstall_logging

    # Every handler redacts: names, addresses, dates, phone and 12-digit numbers never reach
    # stderr or a log file, even from a library logging at DEBUG or an unhandled exception.
    install_logging(logging.DEBUG if args.debug else
                    logging.INFO if args.verbose else logging.WARNING,
                    stream=sys.stderr, log_file=Path(args.log_file) if args.log_file else None)
    try:
        result: int = args.handler(args)
    except CommandError as error:
        print(error, file=sys.stderr)
        return error.code
    finally:
        uninstall_logging()  # main() also runs in-process (tests, self-test): leave no hooks
    return result


if __name__ == "__main__":
    sys.exit(main())
