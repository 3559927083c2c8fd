"""`madoguchi catalog keygen|sign|verify`: signing keys and signed bundles for maintainers."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from desk.catalog.bundle import (
    MAX_VERSION,
    generate_signing_key,
    key_id,
    load_private_key,
    load_public_key,
    load_trusted_keys,
    private_key_pem,
    public_key_pem,
    sign_catalog,
    trusted_key_folders,
    verify_bundle,
)
from desk.durable import atomic_write
from desk.errors import CatalogError, DeskError
from ui.cli_common import KNOWN_MESSAGES, CommandError, profile_dir
from ui.cli_common import explain as common_explain

MAX_VALID_DAYS = 3650

def explain(error: DeskError) -> str:
    """A sentence for a catalog maintainer, with the message id for support."""
    params = error.params
    if error.message_id not in KNOWN_MESSAGES and "file" in params and "expected" in params:
        # A loader error of the folder being signed: point at file:line: key.
        return (f"{params['file']}:{params.get('line', 1)}: {params.get('key', '')}: "
                f"expected {params['expected']}. Run `madoguchi catalog lint`. "
                f"({error.message_id})")
    return common_explain(error)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(f"Cannot read the {what} {path}: {exc.strerror or exc}.") from None


def public_key_path(private_path: Path) -> Path:
    """Where keygen writes the public half: ``signer.pem`` → ``signer.pub.pem``."""
    stem = private_path.name.removesuffix(".pem")
    return private_path.with_name(f"{stem}.pub.pem")


def cmd_catalog_keygen(args: argparse.Namespace) -> int:
    """Create a signing key (0600, never overwritten) and print its public key and key id."""
    out = Path(args.out)
    public_out = public_key_path(out)
    key = generate_signing_key()
    public_pem = public_key_pem(key.public_key())
    try:
        atomic_write(out, private_key_pem(key), create=True)
    except FileExistsError:
        raise CommandError(f"{out} exists already; a signing key is never overwritten.") from None
    except OSError as exc:
        raise CommandError(f"Cannot write {out}: {exc.strerror or exc}.") from None
    try:
        atomic_write(public_out, public_pem)
    except OSError as exc:
        raise CommandError(f"Cannot write {public_out}: {exc.strerror or exc}.") from None
    print(f"key id: {key_id(key.public_key())}")
    print(public_pem.decode("ascii"), end="")
    print(f"Private key: {out} (keep it off the devices). Public key: {public_out} — copy it "
          "into the devices' catalog-keys/ folder.", file=sys.stderr)
    return 0


def cmd_catalog_sign(args: argparse.Namespace) -> int:
    """Sign a catalog folder into a bundle that devices will install."""
    if not 1 <= args.bundle_version <= MAX_VERSION:
        raise CommandError("--version must be a positive whole number.")
    if not 1 <= args.expires_days <= MAX_VALID_DAYS:
        raise CommandError(f"--expires-days must be between 1 and {MAX_VALID_DAYS}.")
    key_path = Path(args.key)
    key_data = _read(key_path, "key file")
    if os.name == "posix" and key_path.stat().st_mode & 0o077:
        print(f"warning: {key_path} can be read by other users; chmod 600 it.", file=sys.stderr)
    try:
        key = load_private_key(key_data)
    except CatalogError as error:
        raise CommandError(explain(error)) from None
    folder = Path(args.path) if args.path else None
    try:
        data = sign_catalog(folder, key, version=args.bundle_version,
                            issued_at=datetime.now(UTC).replace(microsecond=0),
                            valid_for=timedelta(days=args.expires_days))
    except CatalogError as error:
        print(explain(error), file=sys.stderr)
        return 1
    out = Path(args.out)
    try:
        atomic_write(out, data)
    except OSError as exc:
        raise CommandError(f"Cannot write {out}: {exc.strerror or exc}.") from None
    print(f"Signed catalog version {args.bundle_version} with key {key_id(key.public_key())}, "
          f"valid for {args.expires_days} days: {out}", file=sys.stderr)
    return 0


def cmd_catalog_verify(args: argparse.Namespace) -> int:
    """Check a bundle as a device would (signature, paths, expiry, that it loads)."""
    data = _read(Path(args.bundle), "bundle")
    if args.key:
        try:
            public_key = load_public_key(_read(Path(args.key), "key file"))
        except CatalogError as error:
            raise CommandError(explain(error)) from None
        keys = {key_id(public_key): public_key}
    else:
        keys, problems = load_trusted_keys(trusted_key_folders(profile_dir(args)))
        for problem in problems:
            print(f"warning: {problem.params.get('file')}: {explain(problem)}", file=sys.stderr)
        if not keys:
            raise CommandError("No trusted catalog key on this machine: give the signer's "
                               "public key with --key PUBFILE.")
    try:
        verified = verify_bundle(data, keys, now=datetime.now(UTC))
    except CatalogError as error:
        print(explain(error), file=sys.stderr)
        return 1
    bundle, catalog = verified.bundle, verified.catalog
    print(f"version: {bundle.version}\nkey id: {bundle.key_id}\n"
          f"issued: {bundle.issued_at.isoformat()}\nexpires: {bundle.expires_at.isoformat()}\n"
          f"files: {len(bundle.files)}\nprocedures: {len(catalog.procedures)}\n"
          f"life events: {len(catalog.life_events)}\nsha256: {bundle.content_sha256}")
    return 0


def register(catalog_commands: Any) -> None:
    """Add keygen, sign and verify to the `madoguchi catalog` subcommands."""
    keygen = catalog_commands.add_parser("keygen", help="create a catalog signing key pair")
    keygen.add_argument("--out", required=True, metavar="KEYFILE",
                        help="private key file to create (0600); the public key is written "
                             "next to it as NAME.pub.pem")
    keygen.set_defaults(handler=cmd_catalog_keygen)

    sign = catalog_commands.add_parser("sign", help="sign a catalog folder into a bundle")
    sign.add_argument("path", nargs="?", metavar="FOLDER",
                      help="catalog folder (default: the app's own)")
    sign.add_argument("--key", required=True, metavar="KEYFILE", help="private signing key")
    sign.add_argument("--version", required=True, type=int, dest="bundle_version",
                      metavar="N", help="release number, higher than any before")
    sign.add_argument("--expires-days", type=int, default=90, metavar="D",
                      help="days until devices refuse to install it (default 90)")
    sign.add_argument("--out", required=True, metavar="BUNDLE", help="bundle file to write")
    sign.set_defaults(handler=cmd_catalog_sign)

    verify = catalog_commands.add_parser("verify", help="check a bundle as a device would")
    verify.add_argument("bundle", metavar="BUNDLE")
    verify.add_argument("--key", metavar="PUBFILE",
                        help="trust only this public key (default: the keys the app ships "
                             "and this profile's catalog-keys/)")
    verify.add_argument("--data-dir", default=argparse.SUPPRESS)
    verify.set_defaults(handler=cmd_catalog_verify)
