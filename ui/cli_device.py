"""Device subcommands: enrolment and staff accounts (`madoguchi enroll`, `madoguchi accounts`)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from desk.config import MODES, STORE_FILE, DeviceConfig
from desk.enrolment import enroll
from desk.errors import DeskError
from desk.policy import Role
from desk.service import Actor, DeskService
from desk.store.accounts import STAFF_ROLES, AccountStore
from desk.store.drafts import DraftStore
from sync.registration import check_registration, read_credentials, registration_of
from ui.cli_common import (
    CommandError,
    add_passphrase_option,
    explain,
    load_device,
    open_device_keys,
    profile_dir,
    read_passphrase,
)
from ui.cli_sync import read_credentials_text

BOOTSTRAP_ACTOR = "enrolment"  # audit name of the first supervisor's creation



def cmd_enroll(args: argparse.Namespace) -> int:
    """Create the device key, the store and the configuration of this profile."""
    profile = profile_dir(args)
    passphrase = None
    if args.key_store == "passphrase":
        passphrase = read_passphrase(args, confirm=True)
        if passphrase is None:
            raise CommandError("A passphrase is needed: give --passphrase-file FILE.")
    ca_bundle = _ca_bundle(args.ca_bundle)
    try:
        credentials = (read_credentials(read_credentials_text(args.credentials))
                       if args.credentials else None)

        def check(config: DeviceConfig) -> None:
            assert credentials is not None
            check_registration(config, credentials)

        device = enroll(profile, mode=args.mode, tenant_code=args.tenant,
                        gateway_url=args.gateway, desk_id=args.desk_id,
                        key_store=args.key_store, passphrase=passphrase,
                        keyring_backend=args.keyring_backend, ca_bundle=ca_bundle,
                        registration=registration_of(credentials) if credentials else None,
                        register=check)
    except DeskError as error:
        raise CommandError(explain(error)) from None
    print(f"Enrolled {device.device_id}: mode {device.mode}, tenant {device.tenant_code}, "
          f"desk {device.desk_id}, key in the {device.key_store}.")
    if device.registered:
        print(f"Registered with {device.gateway_url}: applications are sent.")
    else:
        print("Not registered with a gateway: drafts are kept and nothing is sent. Create "
              f"this device at the gateway (`madoguchi gateway add-device --device-id "
              f"{device.device_id} ...`), then run "
              "`madoguchi sync register --credentials FILE`.")
    if device.mode != "kiosk":
        print("Next: add the first supervisor with "
              "`madoguchi accounts add LOGIN --role supervisor`.")
    return 0


def _ca_bundle(source: str | None) -> str | None:
    """The CA bundle as an absolute path (the app may start in another folder)."""
    if source is None:
        return None
    path = Path(source).resolve()
    if not path.is_file():
        raise CommandError("The CA bundle file does not exist.")
    return str(path)


def _read_pin(args: argparse.Namespace, prompt: str) -> str:
    if args.pin_file:
        source = args.pin_file
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        return text.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CommandError("Give the PIN with --pin-file FILE ('-' for stdin).")
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass(f"{prompt} again: ") != first:
        raise CommandError("The two PINs differ; nothing was changed.")
    return first


def _supervisor(args: argparse.Namespace, store: DraftStore, mode: str,
                desk_id: str) -> DeskService:
    """The service of the supervisor running the command (or enrolment's bootstrap)."""
    accounts = AccountStore(store.engine)
    if accounts.count() == 0:
        # The very first account: whoever holds the device key set the device up.
        if getattr(args, "role", None) != Role.SUPERVISOR.value:
            raise CommandError("This device has no accounts yet: add a supervisor first "
                               "(`madoguchi accounts add LOGIN --role supervisor`).")
        return DeskService(store, Actor(mode, desk_id, Role.SUPERVISOR, BOOTSTRAP_ACTOR))
    if not args.as_login:
        raise CommandError("Sign in as a supervisor with --as LOGIN (the PIN is asked).")
    if not sys.stdin.isatty() and not args.as_pin_file:
        raise CommandError("Give the supervisor's PIN with --as-pin-file FILE.")
    pin = (Path(args.as_pin_file).read_text(encoding="utf-8").rstrip("\r\n")
           if args.as_pin_file else getpass.getpass("Supervisor PIN: "))
    try:
        account = accounts.authenticate(args.as_login, pin)
    except DeskError as error:
        raise CommandError(explain(error)) from None
    return DeskService(store, Actor(mode, desk_id, account.role, account.login))


def cmd_accounts(args: argparse.Namespace) -> int:
    """Add, disable, reset or list the staff and volunteer accounts of this device."""
    profile, device = load_device(args)
    keys = open_device_keys(args, profile, device)
    try:
        store = DraftStore(profile / STORE_FILE, keys)
    except DeskError as error:
        raise CommandError(explain(error)) from None
    try:
        if args.account_action == "list":
            rows = AccountStore(store.engine).list()
            if args.json:
                print(json.dumps([{"login": r.login, "role": r.role.value,
                                   "disabled": r.disabled,
                                   "locked": r.locked_until is not None} for r in rows]))
            for row in rows if not args.json else ():
                state = "disabled" if row.disabled else "active"
                print(f"{row.login:<24} {row.role.value:<11} {state}")
            if not rows and not args.json:
                print("No accounts yet.")
            return 0
        service = _supervisor(args, store, device.mode, device.desk_id)
        try:
            if args.account_action == "add":
                added = service.add_account(args.login, Role(args.role),
                                            _read_pin(args, "New PIN"))
                print(f"Added {added.login} ({added.role.value}).")
            elif args.account_action == "disable":
                service.disable_account(args.login)
                print(f"Disabled {args.login}; it can no longer sign in.")
            else:
                service.reset_pin(args.login, _read_pin(args, "New PIN"))
                print(f"New PIN set for {args.login}; it must be changed at the next sign-in.")
        except DeskError as error:
            raise CommandError(explain(error)) from None
        return 0
    finally:
        store.close()


def register(commands: Any) -> None:
    """Add the device subcommands to the `madoguchi` parser."""
    enrol = commands.add_parser("enroll", help="make this machine a Madoguchi device")
    enrol.add_argument("--mode", required=True, choices=MODES)
    enrol.add_argument("--tenant", required=True, metavar="CODE",
                       help="6-digit local government code, e.g. 131016")
    enrol.add_argument("--gateway", metavar="URL", help="the municipality's linkage gateway")
    enrol.add_argument("--credentials", metavar="FILE",
                       help="register with the gateway: the JSON of `madoguchi gateway "
                            "add-device` ('-' for stdin); without it nothing is sent until "
                            "`madoguchi sync register`")
    enrol.add_argument("--ca-bundle", metavar="FILE",
                       help="trust only this CA for the gateway's certificate (PEM)")
    enrol.add_argument("--desk-id", help="name of this desk (default: the device id)")
    enrol.add_argument("--key-store", choices=("keyring", "passphrase"), default="keyring",
                       help="where the device key lives (passphrase: no OS keyring here)")
    enrol.add_argument("--keyring-backend", metavar="CLASS",
                       help="keyring backend, e.g. keyring.backends.SecretService.Keyring")
    add_passphrase_option(enrol)
    enrol.add_argument("--data-dir", default=argparse.SUPPRESS)
    enrol.set_defaults(handler=cmd_enroll)

    accounts = commands.add_parser("accounts", help="staff and volunteer sign-ins")
    actions = accounts.add_subparsers(dest="account_command", required=True)
    for name, text in (("add", "add an account"), ("disable", "stop an account signing in"),
                       ("reset-pin", "set a new PIN (changed at next sign-in)"),
                       ("list", "list accounts")):
        action = actions.add_parser(name, help=text)
        if name != "list":
            action.add_argument("login")
            action.add_argument("--pin-file", metavar="FILE",
                                help="read the new PIN from FILE ('-' for stdin)")
            action.add_argument("--as", dest="as_login", metavar="LOGIN",
                                help="the supervisor doing this")
            action.add_argument("--as-pin-file", metavar="FILE",
                                help="read the supervisor's PIN from FILE")
        else:
            action.add_argument("--json", action="store_true")
        if name == "add":
            action.add_argument("--role", required=True,
                                choices=[r.value for r in STAFF_ROLES])
        add_passphrase_option(action)
        action.add_argument("--data-dir", default=argparse.SUPPRESS)
        action.set_defaults(handler=cmd_accounts, account_action=name)
