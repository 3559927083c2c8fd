"""Store administration subcommands: backup, restore, key rotation, audit check, retention."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from desk.config import STORE_FILE
from desk.errors import DeskError
from desk.store.keys import ManagedKeyStore
from ui.cli_common import (
    CommandError,
    add_passphrase_option,
    explain,
    load_device,
    open_device_keys,
)

CLI_ACTOR = "cli"  # audit actor of administrative commands (no one signs in on the console)

_RULE_WORDS = {
    "kiosk-draft": "kiosk drafts idle for 24 hours",
    "desk-draft": "desk drafts idle for 14 days",
    "counter-draft": "counter drafts idle for 30 days",
    "received-answers": "answers of applications received 7 days ago",
}


def _store_path(profile: Path) -> Path:
    path = profile / STORE_FILE
    if not path.exists():
        raise CommandError("This device has no store yet: there is nothing to do.")
    return path


def _open(args: argparse.Namespace) -> tuple[Path, ManagedKeyStore]:
    profile, device = load_device(args)
    keys = open_device_keys(args, profile, device)
    return profile, keys


def cmd_backup(args: argparse.Namespace) -> int:
    """Write a sealed, consistent copy of the store to a new file."""
    from desk.store.backup import backup, backup_keys_path
    from desk.store.drafts import DraftStore

    profile, keys = _open(args)
    target = Path(args.to).expanduser().absolute()
    try:
        store = DraftStore(_store_path(profile), keys)
        try:
            info = backup(store, target, actor=CLI_ACTOR)
        finally:
            store.close()
    except DeskError as error:
        raise CommandError(explain(error)) from None
    print(f"Backup written to {info.path}: {info.drafts} draft(s), all encrypted.")
    print(f"It opens only on this device, with the device key and the backup keys kept in "
          f"{backup_keys_path(store.path).name} (keep that file on this device; never copy it).")
    print("Drafts deleted from now on stay deleted, even when this backup is restored.")
    print("After `madoguchi keys rotate` this backup no longer opens: make a new one then.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Replace the store with a backup; the current store is kept beside it."""
    from desk.store.backup import restore

    profile, keys = _open(args)
    try:
        info = restore(Path(args.file).expanduser().absolute(), profile / STORE_FILE, keys,
                       actor=CLI_ACTOR)
    except DeskError as error:
        raise CommandError(explain(error)) from None
    made = ""
    if info.backup_made_at is not None:
        made = f" (made {info.backup_made_at.strftime('%Y-%m-%d %H:%M UTC')})"
    print(f"Restored {info.drafts_restored} draft(s) from the backup{made}.")
    if info.drafts_unreadable:
        print(f"{info.drafts_unreadable} draft(s) in the backup were deleted after it was made; "
              "they stay deleted.")
    if info.previous is None:
        print("There was no store before; nothing was moved aside.")
    elif info.previous_sealed:
        print(f"The previous store was kept as {info.previous.name} (encrypted like a backup; "
              "restore it the same way if needed).")
    else:
        print(f"The previous store was kept unchanged as {info.previous.name} "
              "(it did not pass its check, so it was left exactly as it was).")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Rotate the device key, or finish a rotation that was interrupted."""
    from desk.store.drafts import DraftStore
    from desk.store.rotation import rotate

    profile, keys = _open(args)
    try:
        store = DraftStore(_store_path(profile), keys)
        try:
            report = rotate(store, keys, actor=CLI_ACTOR)
        finally:
            store.close()
    except DeskError as error:
        raise CommandError(explain(error)) from None
    if report.resumed:
        print(f"Finished an interrupted key rotation; the device key is {report.new_key_id}.")
    else:
        print(f"Device key rotated; the new device key is {report.new_key_id}.")
    print(f"Re-wrapped {report.rewrapped} draft key(s) in {report.batches} batch(es); "
          "no draft was re-encrypted.")
    if report.removed_key_ids:
        print(f"Removed the old key(s): {', '.join(report.removed_key_ids)}.")
    if report.unreadable:
        print(f"{report.unreadable} draft key(s) could not be re-wrapped (damaged, or their "
              "key was missing); the keys they need were kept.")
    print("Backups made before this rotation need the removed key and no longer open: "
          "make a new backup now with `madoguchi backup --to FILE`.")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check the audit chain; exit 1 naming the first broken entry."""
    from desk.store.audit import AuditLog
    from desk.store.database import open_store_engine

    profile, _device = load_device(args)
    try:
        engine = open_store_engine(_store_path(profile))
        try:
            log = AuditLog(engine)
            check = log.verify()
            head = log.head()
        finally:
            engine.dispose()
    except DeskError as error:
        raise CommandError(explain(error)) from None
    if args.json:
        result: dict[str, Any] = {"ok": check.ok, "entries": check.entries}
        if check.ok:
            result["head"] = {"seq": head.seq, "hash": head.entry_hash}
        else:
            result.update(first_broken=check.first_broken, reason=check.reason)
        print(json.dumps(result))
    elif check.ok:
        print(f"Audit chain ok: {check.entries} entries; head #{head.seq} {head.entry_hash}.")
    else:
        print(f"Audit chain broken at entry #{check.first_broken}: {check.reason}.")
    return 0 if check.ok else 1


def cmd_retention_run(args: argparse.Namespace) -> int:
    """Shred what the retention policy says is due, now."""
    from desk.store.drafts import DraftStore
    from desk.store.retention import apply_retention

    profile, keys = _open(args)
    try:
        store = DraftStore(_store_path(profile), keys)
        try:
            report = apply_retention(store)
        finally:
            store.close()
    except DeskError as error:
        raise CommandError(explain(error)) from None
    if args.json:
        print(json.dumps({"expired": report.expired, "total": report.total,
                          "payloads_purged": report.payloads_purged,
                          "backup_keys_forgotten": report.backup_keys_forgotten}))
        return 0
    if report.total:
        parts = [f"{count} {_RULE_WORDS.get(rule, rule)}"
                 for rule, count in report.expired.items()]
        print(f"Retention shredded {report.total} draft(s): {'; '.join(parts)}.")
    else:
        print("Retention found nothing due.")
    if report.payloads_purged:
        print(f"Purged {report.payloads_purged} leftover outbox payload(s) of delivered "
              "applications.")
    return 0


def _common(parser: argparse.ArgumentParser, *, keys: bool = True) -> None:
    parser.add_argument("--data-dir", default=argparse.SUPPRESS, help="profile folder")
    if keys:
        add_passphrase_option(parser)


def register(commands: Any) -> None:
    """Add the store subcommands to the `madoguchi` parser."""
    backup = commands.add_parser("backup", help="write an encrypted copy of the store")
    backup.add_argument("--to", required=True, metavar="FILE", help="new backup file")
    _common(backup)
    backup.set_defaults(handler=cmd_backup)

    restore = commands.add_parser("restore", help="replace the store with a backup")
    restore.add_argument("file", metavar="FILE", help="a backup made on this device")
    _common(restore)
    restore.set_defaults(handler=cmd_restore)

    keys = commands.add_parser("keys", help="device key administration")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_commands.add_parser("rotate", help="re-wrap every draft key under a new key")
    _common(rotate)
    rotate.set_defaults(handler=cmd_keys_rotate)

    audit = commands.add_parser("audit", help="audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="check the hash chain")
    verify.add_argument("--json", action="store_true", help="print JSON")
    _common(verify, keys=False)
    verify.set_defaults(handler=cmd_audit_verify)

    retention = commands.add_parser("retention", help="retention policy")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    run = retention_commands.add_parser("run", help="shred what is due now")
    run.add_argument("--json", action="store_true", help="print JSON")
    _common(run)
    run.set_defaults(handler=cmd_retention_run)
