"""Redaction of personal data from log text, the logging filter and the process-wide hooks."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.errors import StoreError
from desk.ids import new_reference_code, new_ulid
from desk.pii import REDACTED, PiiFilter, install_logging, redact, uninstall_logging

MY_NUMBER = "621498320257"
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

LEAKS = [
    # (text, the personal data in it)
    ("name 窓口 太郎 given", "窓口"),
    ("name 窓口 太郎 given", "太郎"),
    ("kana マドグチ タロウ", "マドグチ"),
    ("half-width ﾏﾄﾞｸﾞﾁ ﾀﾛｳ", "ﾏﾄﾞｸﾞﾁ"),
    ("hiragana まどぐち", "まどぐち"),
    (f"my number {MY_NUMBER}.", MY_NUMBER),
    ("full width ６２１４９８３２０２５７", "６２１４９８３２０２５７"),
    ("full width ６２１４ ９８３２ ０２５７", "９８３２"),
    ("spaced 6214 9832 0257", "6214 9832 0257"),
    ("hyphens 6214-9832-0257", "9832"),
    (f"glued id{MY_NUMBER}x", MY_NUMBER),
    ("any long run 98765432109876", "98765432109876"),
    ("ten digits 0312345678", "0312345678"),
    ("phone 03-1234-5678", "1234-5678"),
    ("mobile 090-1234-5678", "1234-5678"),
    ("intl +81-90-1234-5678", "1234-5678"),
    ("intl +81 3 1234 5678", "1234 5678"),
    ("parens (03) 1234-5678", "1234-5678"),
    ("mail madoguchi@example.jp", "madoguchi"),
    ("mail madoguchi@example.jp", "example.jp"),
    ("iso 1990-04-01", "1990-04-01"),
    ("slashed 1990/4/1", "1990/4/1"),
    ("compact born19900401", "19900401"),
    ("us 4/1/1990", "4/1/1990"),
    ("wareki 平成2年4月1日", "平成2年4月1日"),
    ("wareki 平成2年4月1日", "2年4月1日"),
    ("era letter H2.4.1", "H2.4.1"),
    ("era letter S63-1-7", "S63-1-7"),
    ("era ligature ㍻2年", "㍻"),
    ("postal 100-0014", "100-0014"),
    ("postal 〒1000014", "1000014"),
    ("postal 〒100-0014", "0014"),
    ("address 東京都千代田区永田町1-7-1", "永田町"),
    ("address 東京都千代田区永田町1-7-1", "1-7-1"),
    ("json escapes \\u7a93\\u53e3", "\\u7a93"),
    ("bytes repr b'\\xe7\\xaa\\x93\\xe5\\x8f\\xa3'", "\\xe7\\xaa"),
    ("url /search?q=%E7%AA%93%E5%8F%A3", "%E7%AA%93"),
    ("other scripts Müller Nguyễn 김민수", "ller"),
    ("other scripts Müller Nguyễn 김민수", "Nguy"),
    ("other scripts Müller Nguyễn 김민수", "김민수"),
    ("外字 \ue000 and IVS 葛\U000e0100", "\ue000"),
]


@pytest.mark.parametrize(("text", "secret"), LEAKS)
def test_personal_data_is_redacted(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted
    assert REDACTED in redacted


def test_the_english_around_personal_data_stays() -> None:
    assert redact("answer for 窓口 太郎 refused (field shimei)") == (
        f"answer for {REDACTED} refused (field shimei)")


def test_ids_codes_and_error_names_stay_readable() -> None:
    ulid, code = new_ulid(), new_reference_code()
    text = (f"draft {ulid} ref {code} K7QX-3MPA: store.write_failed HTTP 503 StoreError "
            f"sqlite3.OperationalError: database or disk is full; delivery deferred "
            f"(status 503) /api/v1/applications/{ulid} line 1234 in save, 3 of 5 at 10:14:55")
    assert redact(text) == text


def test_a_ulid_that_holds_a_twelve_digit_run_is_not_kept() -> None:
    shaped = f"01J{MY_NUMBER}ABCDEFGHJKM"
    assert len(shaped) == 26
    assert MY_NUMBER not in redact(f"id {shaped}")


def test_a_traceback_keeps_its_frames_and_exception_class() -> None:
    try:
        raise StoreError("store.write_failed", reason="OperationalError") from ValueError(
            f"bad value 窓口 太郎 {MY_NUMBER}")
    except StoreError as error:
        import traceback

        text = redact("".join(traceback.format_exception(error)))
    assert "Traceback (most recent call last)" in text
    assert "desk.errors.StoreError: store.write_failed" in text
    assert f"ValueError: bad value {REDACTED} {REDACTED}" in text
    assert "test_pii.py" in text


_ASCII = st.text(st.characters(max_codepoint=127), max_size=40)


@given(before=_ASCII, digits=st.text("0123456789", min_size=12, max_size=12), after=_ASCII)
def test_no_twelve_digit_number_survives_in_any_ascii_text(
    before: str, digits: str, after: str
) -> None:
    redacted = redact(before + digits + after)
    assert digits not in redacted
    assert not re.search(r"\d{12}", redacted)


@given(st.text(max_size=80))
def test_redaction_is_stable_and_never_fails(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
    assert not re.search(r"\d{12}", once)


# -- the logging filter ----------------------------------------------------------------------


def _format(record: logging.LogRecord) -> str:
    PiiFilter().filter(record)
    return logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)


def _record(msg: str, *args: object, exc_info: ExcInfo | None = None) -> logging.LogRecord:
    return logging.getLogger("desk.test").makeRecord(
        "desk.test", logging.INFO, __file__, 1, msg, args, exc_info)


def test_filter_redacts_the_formatted_message_and_drops_the_arguments() -> None:
    record = _record("answers %s for %s", {"shimei": "窓口 太郎"}, "621498320257")
    text = _format(record)
    assert text == f"INFO desk.test: answers {{'shimei': '{REDACTED}'}} for {REDACTED}"
    assert record.args == ()


def test_filter_redacts_the_exception_and_no_later_handler_sees_it_raw() -> None:
    try:
        raise ValueError(f"birth date 1990-04-01 of 窓口 太郎, tel 03-1234-5678 {MY_NUMBER}")
    except ValueError as error:
        record = _record("save failed", exc_info=(ValueError, error, error.__traceback__))
    text = _format(record)
    assert record.exc_info is None
    again = logging.Formatter().format(record)  # a second handler formats it again
    for output in (text, again):
        assert "ValueError: birth date" in output and "Traceback" in output
        for secret in ("1990-04-01", "窓口", "1234-5678", MY_NUMBER):
            assert secret not in output


def test_filter_redacts_stack_info_and_extras() -> None:
    record = _record("here")
    record.stack_info = "Stack (most recent call last):\n  窓口 太郎"
    record.__dict__["resident"] = "窓口 太郎"
    _format(record)
    assert "窓口" not in record.stack_info and record.__dict__["resident"] == REDACTED


def test_filter_survives_a_broken_format_string() -> None:
    record = _record("%d items for %s", "not a number", "窓口 太郎")
    assert _format(record) == "INFO desk.test: unformattable log message (TypeError)"


# -- install_logging in this process ---------------------------------------------------------


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[tuple[io.StringIO, Path]]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream, log_file = io.StringIO(), tmp_path / "logs" / "madoguchi.log"
    install_logging(logging.DEBUG, stream=stream, log_file=log_file)
    try:
        yield stream, log_file
    finally:
        uninstall_logging()
        root.setLevel(level)
        assert root.handlers == handlers


def test_every_logger_reaches_the_handlers_redacted(installed: tuple[io.StringIO, Path]) -> None:
    stream, log_file = installed
    logging.getLogger("sync.outbox").info("[parameters: ('窓口 太郎', %s)]", MY_NUMBER)
    logging.getLogger("httpx").debug("HTTP Request: POST http://x/?q=%E7%AA%93%E5%8F%A3")
    for handler in logging.getLogger().handlers:
        handler.flush()
    for text in (stream.getvalue(), log_file.read_text(encoding="utf-8")):
        assert "sync.outbox: [parameters: ('[redacted]', [redacted])]" in text
        assert "httpx: HTTP Request: POST http://x/?q=[redacted]" in text
        assert "窓口" not in text and MY_NUMBER not in text


def test_a_library_handler_that_does_not_propagate_prints_redacted_text(
    installed: tuple[io.StringIO, Path],
) -> None:
    # uvicorn configures its own stderr handler on "uvicorn" with propagate=False.
    own = io.StringIO()
    library = logging.getLogger("test_pii.library")
    handler = logging.StreamHandler(own)
    library.addHandler(handler)
    library.propagate = False
    try:
        try:
            raise RuntimeError(f"payload {{'shimei': '窓口 太郎', 'kojin_bango': '{MY_NUMBER}'}}")
        except RuntimeError:
            library.exception("Exception in ASGI application")
    finally:
        library.removeHandler(handler)
        library.propagate = True
    assert "Exception in ASGI application" in own.getvalue()
    assert "RuntimeError: payload" in own.getvalue()
    assert "窓口" not in own.getvalue() and MY_NUMBER not in own.getvalue()


def test_installing_twice_does_not_double_the_handlers(
    installed: tuple[io.StringIO, Path],
) -> None:
    stream, log_file = installed
    count = len(logging.getLogger().handlers)
    install_logging(logging.DEBUG, stream=stream, log_file=log_file)
    assert len(logging.getLogger().handlers) == count
    logging.getLogger("desk.test").warning("once")
    assert stream.getvalue().count("once") == 1


def test_warnings_are_logged_redacted(installed: tuple[io.StringIO, Path]) -> None:
    stream, _log_file = installed
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(True)  # catch_warnings restored showwarning; capture again
        warnings.warn("odd answer 窓口 太郎", UserWarning, stacklevel=1)
    assert "UserWarning: odd answer [redacted]" in stream.getvalue()
    assert "窓口" not in stream.getvalue()


# -- crash hooks, in a real process ----------------------------------------------------------

_CRASHING = textwrap.dedent("""
    import logging, sys, threading
    from pathlib import Path
    from desk.pii import install_logging

    install_logging(logging.INFO, stream=sys.stderr, log_file=Path(sys.argv[1]))
    secret = "窓口 太郎 " + "6214" + "98320257"
    thread = threading.Thread(target=lambda: 1 / 0 if secret else None, name="worker")
    thread.start()
    thread.join()

    class Holder:
        def __del__(self):
            raise ValueError("holder of " + secret)

    Holder()
    raise RuntimeError("unhandled for " + secret)
""")


def test_unhandled_exceptions_are_reported_redacted(tmp_path: Path) -> None:
    log_file = tmp_path / "crash.log"
    result = subprocess.run([sys.executable, "-c", _CRASHING, str(log_file)],
                            capture_output=True, text=True, encoding="utf-8", timeout=60,
                            cwd=Path(__file__).parents[2])
    assert result.returncode == 1
    logged = log_file.read_text(encoding="utf-8")
    for text in (result.stderr, logged):
        assert "Unhandled exception in thread worker" in text
        assert "ZeroDivisionError" in text
        assert "Exception ignored in: Holder.__del__" in text and "ValueError: holder of" in text
        assert f"RuntimeError: unhandled for {REDACTED}" in text
        assert "窓口" not in text and MY_NUMBER not in text


def test_the_thread_hook_ignores_system_exit(installed: tuple[io.StringIO, Path]) -> None:
    stream, _log_file = installed

    def leave() -> None:
        raise SystemExit(0)

    thread = threading.Thread(target=leave)
    thread.start()
    thread.join()
    assert "Unhandled" not in stream.getvalue()
