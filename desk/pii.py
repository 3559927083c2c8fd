"""Keeps residents' personal data out of logs, stderr and crash reports: redaction and hooks."""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FunctionType, MethodType, TracebackType
from typing import Any, TextIO

REDACTED = "[redacted]"

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FILE_MAX_BYTES = 1_000_000
LOG_FILE_BACKUPS = 3

# Characters of Japanese (and other CJK) text: log messages are English developer text, so
# any of these in a log line is resident data (a name, an address, a 和暦 date).
_CJK = (
    "\u3000-\u303f"  # CJK symbols and punctuation: 〒 、 。 々 〆, ideographic space
    "\u3040-\u309f"  # hiragana
    "\u30a0-\u30ff"  # katakana, ・ ー
    "\u3130-\u318f"  # Hangul compatibility jamo
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3200-\u33ff"  # enclosed CJK (㈱ ㋿), CJK compatibility (㍻ ㍼)
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\ue000-\uf8ff"  # private use: 外字 in names
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\ufe00-\ufe0f"  # variation selectors
    "\ufe30-\ufe4f"  # CJK compatibility forms
    "\uff00-\uffef"  # full-width ASCII and digits, half-width kana
    "\U00020000-\U0003ffff"  # CJK extensions B and later
    "\U000e0100-\U000e01ef"  # ideographic variation selectors (IVS)
    "\U000f0000-\U0010ffff"  # supplementary private use
)
_HYPHENS = "\\-\u2010\u2011\u2012\u2013\u2212\uff0d"

# A ULID stays readable (application ids are how a log is tied to an outbox row) unless it
# holds a 12-digit run: a My Number must not be able to hide in an id-shaped token.
_ULID = re.compile(r"(?<![\w@.+\-])([0-7][0-9A-HJKMNP-TV-Z]{25})(?![\w@])")
_TWELVE_DIGITS = re.compile(r"\d{12}")

_GROUP_SEPARATORS = f"[ \t(){_HYPHENS}]{{1,2}}"


def _digit_groups(match: re.Match[str]) -> str:
    # Phone numbers and 4-4-4 個人番号 written in groups; short groups (a time, a count)
    # are not personal data and stay.
    text = match.group()
    return REDACTED if sum(ch.isdigit() for ch in text) >= 10 else text


_Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]

# Applied in order to the text between ULIDs. Each pattern either starts only at a token
# boundary or uses possessive quantifiers, so a long log line costs linear time.
_RULES: tuple[_Rule, ...] = (
    # Escaped non-ASCII text: JSON/Python \uXXXX, UTF-8 bytes in a bytes repr, URL encoding.
    (re.compile(r"(?:\\u(?!00[0-7])[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8})+"), REDACTED),
    (re.compile(r"(?:\\x[89a-fA-F][0-9a-fA-F]){2,}"), REDACTED),
    (re.compile(r"(?:%[89a-fA-F][0-9a-fA-F]){2,}"), REDACTED),
    # E-mail addresses, local part and domain.
    (re.compile(r"(?<![\w.+\-])[\w.+\-]++@[\w\-]+(?:\.[\w\-]+)+"), REDACTED),
    # Runs of Japanese text with the digits inside and around them: 窓口 太郎, 平成2年4月1日,
    # 東京都千代田区永田町1-7-1, 〒100-0014, full-width ６２１４ ９８３２ ０２５７.
    (re.compile(
        rf"(?<![0-9])[0-9]*+[{_CJK}](?:[{_CJK}\d \t.,/(){_HYPHENS}]*[{_CJK}])?[\d{_HYPHENS}]*+"
    ), REDACTED),
    # Any other word with non-ASCII letters: names in other scripts, Müller, Nguyễn.
    (re.compile(r"(?<!\w)\w*?[^\W\x00-\x7f]\w*+"), REDACTED),
    # Postal codes 100-0014.
    (re.compile(rf"(?<![\w{_HYPHENS}])\d{{3}}[{_HYPHENS}]\d{{4}}(?![\w{_HYPHENS}])"), REDACTED),
    # Dates: 1990-04-01, 1990/4/1, 1990.4.1, 4/1/1990, 19900401, H2.4.1 (和暦 with the era's
    # letter; era names in kanji are Japanese text above).
    (re.compile(r"(?<!\d)\d{4}([\-/.])\d{1,2}\1\d{1,2}(?!\d)"), REDACTED),
    (re.compile(r"(?<!\d)\d{1,2}/\d{1,2}/\d{4}(?!\d)"), REDACTED),
    (re.compile(r"(?<!\d)(?:1[89]|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)"),
     REDACTED),
    (re.compile(r"(?<![A-Za-z0-9])[MTSHRmtshr] ?\d{1,2}([./\-])\d{1,2}\1\d{1,2}(?!\d)"),
     REDACTED),
    # Numbers in groups with 10+ digits in all: 03-1234-5678, +81 90 1234 5678, 6214 9832 0257.
    (re.compile(rf"(?<![\w+])\+?\d{{1,5}}(?:{_GROUP_SEPARATORS}\d{{1,5}})+(?!\d)"),
     _digit_groups),
    # Any run of 10 or more digits: 個人番号, phone numbers without hyphens, account numbers.
    (re.compile(r"\d{10,}"), REDACTED),
)


def _redact_segment(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def redact(text: str) -> str:
    """Remove personal data from a piece of log or error text.

    Replaces names and other Japanese text, 12-digit numbers (個人番号) and any run of 10+
    digits, phone numbers, e-mail addresses, dates, and postal codes with ``[redacted]``.
    ULIDs, message ids such as ``store.write_failed``, reference codes such as ``K7QX-3MPA``,
    HTTP status codes and exception class names stay readable.

    Args:
        text: Any text: a log message, an exception message, a formatted traceback.

    Returns:
        The text with every match replaced by ``[redacted]``.
    """
    parts = _ULID.split(text)
    # split() with one group alternates: text, ULID, text, ULID, ..., text.
    for index, part in enumerate(parts):
        if index % 2 == 0:
            parts[index] = _redact_segment(part)
        elif _TWELVE_DIGITS.search(part):
            parts[index] = REDACTED
    return "".join(parts)


# Attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_traceback_formatter = logging.Formatter()


def redact_record(record: logging.LogRecord) -> None:
    """Redact a log record in place: message, exception, stack and string extras.

    The message is formatted once and stored back with no arguments; an exception is
    formatted and redacted into ``exc_text`` and ``exc_info`` cleared, so no later formatter
    renders the raw traceback again.

    Args:
        record: The record, changed in place.
    """
    try:
        message = record.getMessage()
    except Exception as exc:  # noqa: BLE001 - a bad format string must not stop the log call
        message = f"unformattable log message ({type(exc).__name__})"
    record.msg = redact(message)
    record.args = ()
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = _traceback_formatter.formatException(record.exc_info)
    record.exc_info = None
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    for key, value in record.__dict__.items():
        if key not in _STANDARD_ATTRIBUTES and isinstance(value, str):
            record.__dict__[key] = redact(value)


class PiiFilter(logging.Filter):
    """A handler filter that redacts every record passing through (it never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place and let it through."""
        redact_record(record)
        return True


# -- process-wide installation ---------------------------------------------------------------


@dataclass
class _Installation:
    """What install_logging changed, so a second call replaces it and uninstall undoes it."""

    handlers: list[logging.Handler] = field(default_factory=list)
    previous_factory: Callable[..., logging.LogRecord] | None = None
    previous_excepthook: Callable[..., Any] | None = None
    previous_thread_hook: Callable[..., Any] | None = None
    previous_unraisable_hook: Callable[..., Any] | None = None


_installed = _Installation()
_ExcInfo = (tuple[type[BaseException], BaseException, TracebackType | None]
            | tuple[None, None, None])


_crash_log = logging.getLogger("madoguchi.crash")


def _record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    factory = _installed.previous_factory or logging.LogRecord
    record = factory(*args, **kwargs)
    redact_record(record)
    return record


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    _log_unhandled("Unhandled exception", (exc_type, exc, tb))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:  # as the default hook: a thread's normal way out
        return
    thread = args.thread.name if args.thread is not None else "<unknown>"
    _log_unhandled(f"Unhandled exception in thread {thread}",
                   _exc_info(args.exc_type, args.exc_value, args.exc_traceback))


def _unraisable_hook(args: sys.UnraisableHookArgs) -> None:
    # The default hook prints repr(args.object), which can hold data; name its type only.
    what = args.err_msg or "Exception ignored in"
    culprit = args.object
    name = (culprit.__qualname__ if isinstance(culprit, FunctionType | MethodType | type)
            else type(culprit).__name__)
    _log_unhandled(f"{what}: {name}",
                   _exc_info(args.exc_type, args.exc_value, args.exc_traceback))


def _exc_info(
    exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None
) -> _ExcInfo:
    return (exc_type, exc, tb) if exc is not None else (None, None, None)


def _log_unhandled(summary: str, exc_info: _ExcInfo) -> None:
    try:
        _crash_log.critical("%s", summary, exc_info=exc_info)
    except Exception:  # noqa: BLE001 - logging itself broken: still say what happened
        text = "".join(traceback.format_exception(*exc_info))
        stream = sys.__stderr__
        if stream is not None:
            stream.write(redact(f"{summary}\n{text}"))


def install_logging(
    level: int, *, stream: TextIO | None = None, log_file: Path | None = None
) -> None:
    """Configure process-wide logging that never writes personal data.

    The root logger gets a stream handler (and a rotating file handler when ``log_file``
    is given), each with a `PiiFilter`. Records are also redacted when they are created,
    so handlers that libraries attach themselves (uvicorn's own stderr handler does not
    propagate to the root) print redacted text too. Unhandled exceptions in the main thread,
    in other threads and in finalizers are logged redacted instead of printed raw, and
    warnings go through logging. Calling it again replaces the earlier configuration.

    Args:
        level: Root logger level, e.g. ``logging.INFO``.
        stream: Where log lines go; ``sys.stderr`` when None.
        log_file: A log file to append to (parent folders are created), or None.
    """
    _remove_handlers()
    formatter = logging.Formatter(LOG_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.touch(mode=0o600, exist_ok=True)  # readable by this user only
        handlers.append(logging.handlers.RotatingFileHandler(
            log_file, maxBytes=LOG_FILE_MAX_BYTES, backupCount=LOG_FILE_BACKUPS,
            encoding="utf-8"))
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(PiiFilter())
        root.addHandler(handler)
    _installed.handlers = handlers
    root.setLevel(level)

    if logging.getLogRecordFactory() is not _record_factory:
        _installed.previous_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_record_factory)
    if sys.excepthook is not _excepthook:
        _installed.previous_excepthook = sys.excepthook
        sys.excepthook = _excepthook
    if threading.excepthook is not _thread_excepthook:
        _installed.previous_thread_hook = threading.excepthook
        threading.excepthook = _thread_excepthook
    if sys.unraisablehook is not _unraisable_hook:
        _installed.previous_unraisable_hook = sys.unraisablehook
        sys.unraisablehook = _unraisable_hook
    logging.captureWarnings(True)


def uninstall_logging() -> None:
    """Undo `install_logging`: remove its handlers and restore the hooks it replaced."""
    _remove_handlers()
    logging.captureWarnings(False)
    if _installed.previous_factory is not None:
        logging.setLogRecordFactory(_installed.previous_factory)
        _installed.previous_factory = None
    if _installed.previous_excepthook is not None:
        sys.excepthook = _installed.previous_excepthook
        _installed.previous_excepthook = None
    if _installed.previous_thread_hook is not None:
        threading.excepthook = _installed.previous_thread_hook
        _installed.previous_thread_hook = None
    if _installed.previous_unraisable_hook is not None:
        sys.unraisablehook = _installed.previous_unraisable_hook
        _installed.previous_unraisable_hook = None


def _remove_handlers() -> None:
    root = logging.getLogger()
    for handler in _installed.handlers:
        root.removeHandler(handler)
        handler.close()
    _installed.handlers = []
