"""What every administrative subcommand shares: the profile, the device, its key store, errors."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
from pathlib import Path

import platformdirs

from desk.config import DeviceConfig
from desk.enrolment import MIN_PASSPHRASE
from desk.errors import DeskError
from desk.store.keys import ManagedKeyStore, open_key_store

APP_DIR_NAME = "madoguchi-desk"
# Not a secret: the name of the variable that points at a file holding the passphrase.
PASSPHRASE_ENV = "MADOGUCHI_PASSPHRASE_FILE"  # noqa: S105

# Sentences for the errors an administrator can meet on the command line, by message id.
_EXPLANATIONS = {
    "config.missing": "This device is not enrolled: run `madoguchi enroll` first.",
    "config.invalid": "The device configuration (device.json) cannot be read.",
    "store.no_keyring": "No usable OS keyring on this machine. Enrol with "
                        "--key-store passphrase, or install a keyring service.",
    "store.key_locked": "The device key cannot be read: the keyring is locked or the key is "
                        "missing. Unlock the keyring and try again; nothing was changed.",
    "store.passphrase_needed": "This device's key is protected by a passphrase: give it with "
                               "--passphrase-file FILE or type it when asked.",
    "store.passphrase_wrong": "The passphrase is not correct; nothing was changed.",
    "store.key_exists": "This device already has a key: it is enrolled.",
    "store.damaged": "The store file is damaged. It was kept as it is; restore a backup with "
                     "`madoguchi restore FILE`.",
    "store.newer_schema": "The store was written by a newer release of Madoguchi Desk; "
                          "this release does not change it.",
    "store.backup_exists": "That file exists already; choose a new file name. "
                           "Nothing was written.",
    "store.backup_failed": "The backup could not be written (is the disk full or the folder "
                           "read-only?). No partial file was left.",
    "store.busy": "The store is in use: close Madoguchi Desk on this device, and any other "
                  "`madoguchi` command, then try again. Nothing was changed.",
    "store.backup_other_device": "This backup was made on another device, or under a device "
                                 "key this device does not have, so it cannot be opened here. "
                                 "Nothing was changed.",
    "store.backup_key_retired": "This backup was made before the device key was rotated: "
                                "`madoguchi keys rotate` removed the key it needs, so it no "
                                "longer opens. Nothing was changed.",
    "store.backup_damaged": "The backup file is damaged. Nothing was changed.",
    "store.not_a_store": "That file is not a Madoguchi Desk store or backup. "
                         "Nothing was changed.",
    "store.restore_failed": "The restore could not be completed; the current store was kept.",
    "store.key_in_use": "The key store refused to remove a key that is still in use; run "
                        "`madoguchi keys rotate` again to finish.",

    "enrol.already": "This profile is already enrolled; nothing was changed.",
    "enrol.mode": "The mode must be kiosk, desk or counter.",
    "enrol.tenant_code": "The tenant code must be the municipality's 6-digit local government "
                         "code with its check digit, e.g. 131016.",
    "enrol.desk_id": "The desk id may use a-z, 0-9, '.', '_' and '-' (at most 64).",
    "enrol.gateway_url": "The gateway URL must use https (http only on this machine).",
    "enrol.passphrase_short": f"The passphrase needs at least {MIN_PASSPHRASE} characters.",
    "account.signin_failed": "The login id or PIN is not correct.",
    "account.locked": "This account is locked after repeated wrong PINs; try again later.",
    "account.secret_weak": "That PIN is too easy to guess: use at least 4 characters, not one "
                           "digit repeated and not 1234 or 4321.",
    "account.exists": "An account with this login id already exists.",
    "account.unknown": "There is no account with this login id.",
    "account.login_invalid": "Login ids use 2-32 characters: a-z, 0-9, '.', '_' and '-'.",
    "account.role_invalid": "The role must be volunteer, staff or supervisor.",
    "policy.denied": "Only a supervisor may manage accounts on this device.",
    # Registration with the gateway (madoguchi enroll --credentials, sync register).
    "enrol.credentials_invalid": "The credentials file is not the JSON printed by "
                                 "`madoguchi gateway add-device`.",
    "enrol.gateway_needed": "Registering needs the gateway: give --gateway URL.",
    "enrol.gateway_tenant": "These credentials belong to another municipality: this device "
                            "is enrolled for tenant {tenant}. Nothing was changed.",
    "enrol.gateway_mode": "These credentials are for another kind of device: this device is "
                          "a {mode}. Create the device at the gateway with --mode {mode}. "
                          "Nothing was changed.",
    "enrol.gateway_device": "These credentials are for another device id: this device is "
                            "{device}. Create it at the gateway with --device-id {device}. "
                            "Nothing was changed.",
    "enrol.device_mismatch": "These credentials are for another device id: this device is "
                             "{device}. Create it at the gateway with --device-id {device} "
                             "(add --replace for new credentials). Nothing was changed.",
    "enrol.gateway_refused": "The gateway refused these credentials (HTTP {status}): they "
                             "may have been replaced or disabled. Nothing was changed.",
    "enrol.gateway_untrusted": "The gateway's certificate is not signed by the configured "
                               "CA bundle. Nothing was sent and nothing was changed.",
    "enrol.gateway_unreachable": "The gateway cannot be reached ({status}). Check the URL and "
                                 "the network, or enrol without --credentials and register "
                                 "later with `madoguchi sync register`. Nothing was changed.",
    # Signed catalog bundles (madoguchi catalog sign|verify, updates).
    "catalog.bundle_malformed": "The file is not a catalog bundle (damaged, truncated or "
                                "hand-edited).",
    "catalog.bundle_format": "The bundle uses a format this release does not know.",
    "catalog.bundle_unsigned": "The bundle is not signed.",
    "catalog.bundle_unknown_key": "The bundle is signed by a key this device does not trust "
                                  "(key id {key_id}).",
    "catalog.bundle_bad_signature": "The signature does not match: the bundle was altered "
                                    "after signing, or signed by another key.",
    "catalog.bundle_digest": "The bundle's files do not match the digest it declares.",
    "catalog.bundle_path": "The bundle names a file outside the catalog folder ({path}).",
    "catalog.bundle_expired": "The bundle (version {version}) expired at {expires_at}; sign it "
                              "again with a new expiry.",
    "catalog.bundle_rollback": "Version {version} is older than the installed version "
                               "{installed}.",
    "catalog.bundle_replay": "Version {version} is installed already with other content; a new "
                             "catalog needs a new version number.",
    "catalog.bundle_broken": "The catalog inside the bundle does not load: {file}:{line}: "
                             "{key}: expected {expected}.",
    "catalog.bundle_unreadable": "The bundle could not be unpacked to a temporary folder.",
    "catalog.bundle_source": "The catalog folder holds a file that cannot be signed ({file}: "
                             "{reason}; symlinks and non-UTF-8 files are refused).",
    "catalog.key_invalid": "The key file is not an Ed25519 key of the expected kind ({reason}).",
    "catalog.missing": "There is no catalog folder at {file}.",
}


class CommandError(Exception):
    """A subcommand cannot go on: print `message` on stderr and exit with `code`."""

    def __init__(self, message: str, code: int = 2, cause: DeskError | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.cause = cause  # the domain error behind it, for callers that can carry on


KNOWN_MESSAGES = frozenset(_EXPLANATIONS)
"""Message ids that have an administrator's sentence."""


def explain(error: DeskError) -> str:
    """A sentence for an administrator; the message id is always included for support."""
    text = _EXPLANATIONS.get(error.message_id, "The operation failed.")
    # A sentence missing one of its parameters is still better than none.
    with contextlib.suppress(KeyError, IndexError, ValueError):
        text = text.format(**error.params)
    return f"{text} ({error.message_id})"


def default_data_dir() -> Path:
    """Where this user's profile lives unless --data-dir says otherwise."""
    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))


def profile_dir(args: argparse.Namespace) -> Path:
    """The profile folder chosen by --data-dir, or the default."""
    chosen = getattr(args, "data_dir", None)
    return Path(chosen) if chosen else default_data_dir()


def load_device(args: argparse.Namespace) -> tuple[Path, DeviceConfig]:
    """The enrolled device of the chosen profile."""
    profile = profile_dir(args)
    try:
        return profile, DeviceConfig.load(profile)
    except DeskError as error:
        raise CommandError(explain(error)) from None


def read_passphrase(args: argparse.Namespace, *, confirm: bool = False) -> str | None:
    """The passphrase from --passphrase-file, $MADOGUCHI_PASSPHRASE_FILE, or the terminal."""
    source = getattr(args, "passphrase_file", None) or os.environ.get(PASSPHRASE_ENV)
    if source:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        return text.rstrip("\r\n")
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass("Passphrase: ")
    if confirm and getpass.getpass("Passphrase again: ") != first:
        raise CommandError("The two passphrases differ; nothing was changed.")
    return first


def open_device_keys(args: argparse.Namespace, profile: Path,
                     device: DeviceConfig) -> ManagedKeyStore:
    """The device's key store, ready to use, or a CommandError saying why not."""
    passphrase = read_passphrase(args) if device.key_store == "passphrase" else None
    try:
        return open_key_store(profile, device.key_store, passphrase=passphrase,
                              backend=device.keyring_backend, profile_name=device.device_id)
    except DeskError as error:
        raise CommandError(explain(error), cause=error) from None


def add_passphrase_option(parser: argparse.ArgumentParser) -> None:
    """--passphrase-file for commands that open the device key."""
    parser.add_argument("--passphrase-file", metavar="FILE",
                        help="read the device passphrase from FILE ('-' for stdin)")
