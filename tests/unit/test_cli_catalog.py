"""`madoguchi catalog keygen|sign|verify` as a catalog maintainer runs them."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from desk.catalog.bundle import KEYS_DIR, install_bundle, load_trusted_keys
from ui import cli_catalog
from ui.cli_common import CommandError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"


def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Parse and run like `madoguchi catalog ...` (main prints CommandError and exits)."""
    parser = argparse.ArgumentParser(prog="madoguchi")
    catalog = parser.add_subparsers(dest="command").add_parser("catalog")
    cli_catalog.register(catalog.add_subparsers(dest="catalog_command", required=True))
    args = parser.parse_args(["catalog", *argv])
    try:
        code = args.handler(args)
    except CommandError as error:
        print(error, file=sys.stderr)
        code = error.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def signer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    key = tmp_path / "keys" / "signer.pem"
    key.parent.mkdir()
    code, out, _ = run("keygen", "--out", str(key), capsys=capsys)
    assert code == 0
    assert out.startswith("key id: ") and "BEGIN PUBLIC KEY" in out
    return key


def test_keygen_writes_a_private_key_only_its_owner_reads(
        signer: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert b"BEGIN PRIVATE KEY" in signer.read_bytes()
    public = signer.with_name("signer.pub.pem")
    keys, problems = load_trusted_keys([public.parent])
    assert len(keys) == 1 and [p.params["file"] for p in problems] == ["signer.pem"]
    if os.name == "posix":
        assert signer.stat().st_mode & 0o777 == 0o600
    code, _, err = run("keygen", "--out", str(signer), capsys=capsys)
    assert code == 2 and "never overwritten" in err


def test_sign_then_verify_round_trip(signer: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "catalog.bundle"
    code, _, err = run("sign", str(FIXTURE), "--key", str(signer), "--version", "4",
                       "--expires-days", "30", "--out", str(bundle), capsys=capsys)
    assert code == 0, err
    assert json.loads(bundle.read_bytes())["version"] == 4
    code, out, err = run("verify", str(bundle), "--key",
                         str(signer.with_name("signer.pub.pem")), capsys=capsys)
    assert code == 0, err
    assert "version: 4" in out and "procedures: 2" in out


def test_verify_uses_the_profile_keys_by_default(signer: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "catalog.bundle"
    run("sign", str(FIXTURE), "--key", str(signer), "--version", "1", "--out", str(bundle),
        capsys=capsys)
    profile = tmp_path / "profile"
    code, _, err = run("verify", str(bundle), "--data-dir", str(profile), capsys=capsys)
    assert code == 2 and "--key PUBFILE" in err
    (profile / KEYS_DIR).mkdir(parents=True)
    shutil.copy(signer.with_name("signer.pub.pem"), profile / KEYS_DIR)
    code, out, err = run("verify", str(bundle), "--data-dir", str(profile), capsys=capsys)
    assert code == 0 and "version: 1" in out, err


def test_verify_refuses_a_tampered_bundle_with_a_clear_message(
        signer: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "catalog.bundle"
    run("sign", str(FIXTURE), "--key", str(signer), "--version", "1", "--out", str(bundle),
        capsys=capsys)
    document = json.loads(bundle.read_bytes())
    document["files"]["koseki/alpha.yaml"] += "# changed\n"
    bundle.write_text(json.dumps(document), encoding="utf-8")
    code, out, err = run("verify", str(bundle), "--key", str(signer.with_name("signer.pub.pem")),
                         capsys=capsys)
    assert (code, out) == (1, "")
    assert "altered after signing" in err and "(catalog.bundle_bad_signature)" in err


def test_verify_names_an_unknown_key(signer: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "catalog.bundle"
    run("sign", str(FIXTURE), "--key", str(signer), "--version", "1", "--out", str(bundle),
        capsys=capsys)
    other = tmp_path / "other.pem"
    run("keygen", "--out", str(other), capsys=capsys)
    code, _, err = run("verify", str(bundle), "--key", str(tmp_path / "other.pub.pem"),
                       capsys=capsys)
    assert code == 1 and "(catalog.bundle_unknown_key)" in err and "does not trust" in err


def test_sign_refuses_a_broken_catalog_and_names_file_and_line(
        signer: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "catalog"
    shutil.copytree(FIXTURE, folder)
    (folder / "koseki" / "alpha.yaml").write_text(
        (FIXTURE / "koseki" / "alpha.yaml").read_text(encoding="utf-8").replace(
            "id: alpha", "id: Alpha!"), encoding="utf-8")
    out_file = tmp_path / "catalog.bundle"
    code, _, err = run("sign", str(folder), "--key", str(signer), "--version", "1",
                       "--out", str(out_file), capsys=capsys)
    assert code == 1 and "koseki/alpha.yaml:2: id: expected" in err
    assert not out_file.exists()


@pytest.mark.parametrize(("option", "value", "text"), [
    ("--version", "0", "--version"), ("--expires-days", "0", "--expires-days"),
])
def test_sign_refuses_bad_numbers(signer: Path, tmp_path: Path, option: str, value: str,
                                  text: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = {"--version": "1", "--expires-days": "30", option: value}
    code, _, err = run("sign", str(FIXTURE), "--key", str(signer), "--out",
                       str(tmp_path / "b"), *[x for kv in argv.items() for x in kv],
                       capsys=capsys)
    assert code == 2 and text in err


def test_sign_refuses_a_public_key_or_a_missing_file(
        signer: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for key in (signer.with_name("signer.pub.pem"), tmp_path / "missing.pem"):
        code, _, err = run("sign", str(FIXTURE), "--key", str(key), "--version", "1",
                           "--out", str(tmp_path / "b"), capsys=capsys)
        assert code == 2 and err


def test_a_signed_shipped_catalog_installs(signer: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The real catalog signs, verifies and installs (the maintainer's whole path)."""
    from datetime import UTC, datetime

    bundle = tmp_path / "catalog.bundle"
    code, _, err = run("sign", "--key", str(signer), "--version", "1", "--out", str(bundle),
                       capsys=capsys)
    assert code == 0, err
    keys, _ = load_trusted_keys([signer.parent])
    result = install_bundle(tmp_path / "profile", bundle.read_bytes(), keys,
                            now=datetime.now(UTC))
    assert result.outcome == "installed" and result.catalog is not None
    assert len(result.catalog.procedures) > 2
