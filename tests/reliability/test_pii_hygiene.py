"""Acceptance test 18: full flows with DEBUG logs and forced errors leave no personal data behind.

A child process (tests/reliability/pii_child.py) walks visits with canary answers through the
real store, catalog, gateway and main window, forces validation, store and HTTP errors and
ends with an unhandled exception. Its HOME, TMPDIR and XDG folders are all inside tmp_path;
afterwards every byte it left there, and its stdout and stderr, are searched for the canaries.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from desk.pii import REDACTED, redact

REPO = Path(__file__).parents[2]

# What must never appear: the resident's data as the child enters it.
CANARIES = {
    "family name": "窓口",
    "given name": "太郎",
    "furigana": "マドグチ",
    "My Number": "621498320257",
    "My Number (full-width)": "６２１４９８３２０２５７",
    "birth date": "1990-04-01",
    "phone number": "1234-5678",
    "e-mail address": "madoguchi@example.jp",
}
TWELVE_DIGITS = re.compile(r"\d{12}")
SQLITE_HEADER = b"SQLite format 3\x00"

STEPS = ["open", "validation", "http-received", "http-refused", "http-down", "store-full",
         "qt", "crash"]
# Redacted log lines that show each forced error really happened (and stays diagnosable).
EVIDENCE = [
    "answer not accepted: ['date.invalid']",
    "answer not accepted: ['phone.format']",
    "input refused by parse_wareki",
    "desk.errors.FieldError",
    "sqlalchemy.engine.Engine: INSERT INTO drafts",
    "httpx: HTTP Request: POST",
    "HTTP/1.1 201 Created",
    "HTTP/1.1 400 Bad Request",
    "ConnectionRefusedError",
    "autosave failed: store.write_failed",
    "sqlite3.OperationalError: database or disk is full",
    "Unhandled exception in thread pii-worker",
    f"ValueError: worker failed for {REDACTED}",
    f"UserWarning: odd answer for {REDACTED}",
    f"RuntimeError: unhandled error for {REDACTED} born {REDACTED} number {REDACTED}",
]


def _encodings(text: str) -> dict[str, bytes]:
    forms = {"UTF-8": text.encode(), "UTF-16-LE": text.encode("utf-16-le"),
             "JSON escape": json.dumps(text).strip('"').encode(),
             "URL encoding": quote(text).encode()}
    return {name: form for name, form in forms.items()
            if name == "UTF-8" or form != text.encode()}


def _findings(where: str, data: bytes) -> list[str]:
    """What personal data a file holds, by kind and encoding: never the text itself."""
    found = [f"{where}: {kind} ({encoding})"
             for kind, canary in CANARIES.items()
             for encoding, form in _encodings(canary).items() if form in data]
    sqlite = data.startswith(SQLITE_HEADER) or where.endswith(("-wal", "-shm", "-journal"))
    if not sqlite:  # database pages hold hex digests and ULIDs: only canaries count there
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        if TWELVE_DIGITS.search(text):
            found.append(f"{where}: a 12-digit number")
    return found


def test_no_personal_data_in_logs_stderr_settings_temp_files_or_wal(tmp_path: Path) -> None:
    device = tmp_path / "device"  # everything the app may write to
    folders = {name: device / name for name in
               ("tmp", "home", "config", "data", "cache", "state", "runtime")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    folders["runtime"].chmod(0o700)
    profile = folders["data"] / "madoguchi-desk"
    log_file = folders["state"] / "madoguchi-desk" / "log" / "madoguchi.log"
    env = {
        **os.environ,
        "TMPDIR": str(folders["tmp"]), "HOME": str(folders["home"]),
        "XDG_CONFIG_HOME": str(folders["config"]), "XDG_DATA_HOME": str(folders["data"]),
        "XDG_CACHE_HOME": str(folders["cache"]), "XDG_STATE_HOME": str(folders["state"]),
        "XDG_RUNTIME_DIR": str(folders["runtime"]), "QT_QPA_PLATFORM": "offscreen",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.reliability.pii_child", "--profile", str(profile),
         "--log", str(log_file), "--server", str(tmp_path / "server")],
        cwd=REPO, env=env, capture_output=True, timeout=120,
    )

    # The child ends with an unhandled exception on purpose; it must have got that far.
    stdout, stderr = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    steps = [line.removeprefix("step ") for line in stdout.splitlines()]
    assert (result.returncode, steps) == (1, STEPS), redact(stderr[-3000:])
    log_text = log_file.read_text(encoding="utf-8")
    missing = [line for line in EVIDENCE if line not in log_text or line not in stderr]
    assert not missing, missing
    store_files = {p.name for p in profile.iterdir()}
    assert {"drafts.sqlite3", "drafts.sqlite3-wal", "drafts.sqlite3-shm"} <= store_files

    findings = _findings("stdout", result.stdout) + _findings("stderr", result.stderr)
    scanned = 0
    for path in sorted(device.rglob("*")):
        if path.is_file():
            findings += _findings(str(path.relative_to(device)), path.read_bytes())
            scanned += 1
    assert scanned >= 5  # device.json, store, -wal, -shm, the log at least
    assert not findings, "\n".join(findings)
