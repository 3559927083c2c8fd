"""Tokenizer for catalog rules: source text to tokens with 1-based columns, produced lazily."""

from __future__ import annotations

import enum
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from desk.errors import RuleError

KEYWORDS: Final = frozenset({"and", "or", "not", "in", "true", "false"})
END_OF_RULE: Final = "end of rule"
FOUND_MAX: Final = 20  # characters of the offending text quoted back in an error

# Rules are typed with Japanese input methods, which produce the full-width space U+3000.
_WHITESPACE: Final = frozenset(" \t\r\n\u3000")
# ASCII only: str.isdigit() and str.isalpha() would accept full-width and other scripts.
_DIGITS: Final = frozenset(string.digits)
_NAME_START: Final = frozenset(string.ascii_letters + "_")
_NAME_REST: Final = _NAME_START | _DIGITS
_QUOTES: Final = frozenset("'\"")
# Two-character operators first, so "<=" is not read as "<" followed by "=".
_OPERATORS: Final = ("==", "!=", "<=", ">=", "<", ">")


class Kind(enum.Enum):
    """The kinds of token."""

    NUMBER = "number"
    STRING = "string"
    NAME = "name"
    KEYWORD = "keyword"
    OPERATOR = "operator"
    LPAREN = "("
    RPAREN = ")"
    LBRACKET = "["
    RBRACKET = "]"
    COMMA = ","
    INVALID = "invalid"  # a character no token starts with; the parser reports it in context
    END = "end"


_PUNCTUATION: Final = {
    "(": Kind.LPAREN,
    ")": Kind.RPAREN,
    "[": Kind.LBRACKET,
    "]": Kind.RBRACKET,
    ",": Kind.COMMA,
}


@dataclass(frozen=True)
class Token:
    """One token: its kind, exact source text and 1-based column of its first character."""

    kind: Kind
    text: str
    column: int

    def found(self) -> str:
        """Return the token as quoted back in a syntax error.

        Returns:
            "end of rule" for the end token, otherwise the text cut to 20 characters.
        """
        return END_OF_RULE if self.kind is Kind.END else self.text[:FOUND_MAX]


def syntax_error(column: int, expected: str, found: str) -> RuleError:
    """Build the `rule.syntax` error every syntax problem is reported with.

    Args:
        column: 1-based column of the problem.
        expected: A short English phrase for what should have been there.
        found: The offending text or "end of rule"; cut to 20 characters here.

    Returns:
        The error, to be raised by the caller.
    """
    return RuleError("rule.syntax", column=column, expected=expected, found=found[:FOUND_MAX])


def tokenize(source: str) -> Iterator[Token]:
    """Yield the tokens of a rule, ending with one `Kind.END` token.

    Lazy on purpose: the parser pulls tokens one at a time, so a bad token late in the rule is
    only reported once everything before it has parsed, and errors come in source order.
    Columns count characters from the start of the rule, line breaks included.

    Args:
        source: The rule text.

    Yields:
        Tokens in source order.

    Raises:
        RuleError: "rule.syntax" for an unterminated string, a number ending in ".", or a lone
            "=" or "!".
    """
    index = 0
    length = len(source)
    while True:
        while index < length and source[index] in _WHITESPACE:
            index += 1
        if index >= length:
            yield Token(Kind.END, "", length + 1)
            return
        char = source[index]
        column = index + 1
        if char in _DIGITS:
            end = _skip(source, index, _DIGITS)
            if end < length and source[end] == ".":
                fraction_end = _skip(source, end + 1, _DIGITS)
                if fraction_end == end + 1:
                    raise _error_at(source, fraction_end, "a digit after the decimal point")
                end = fraction_end
            yield Token(Kind.NUMBER, source[index:end], column)
        elif char in _NAME_START:
            end = _skip(source, index, _NAME_REST)
            text = source[index:end]
            yield Token(Kind.KEYWORD if text in KEYWORDS else Kind.NAME, text, column)
        elif char in _QUOTES:
            close = source.find(char, index + 1)
            if close < 0:
                raise syntax_error(length + 1, "a closing quote", END_OF_RULE)
            end = close + 1
            yield Token(Kind.STRING, source[index:end], column)
        elif char in _PUNCTUATION:
            end = index + 1
            yield Token(_PUNCTUATION[char], char, column)
        else:
            operator = next((op for op in _OPERATORS if source.startswith(op, index)), None)
            if operator is not None:
                end = index + len(operator)
                yield Token(Kind.OPERATOR, operator, column)
            elif char == "=":
                raise syntax_error(column, "==", char)
            elif char == "!":
                raise syntax_error(column, "!=", char)
            else:
                end = index + 1
                yield Token(Kind.INVALID, char, column)
        index = end


def _skip(source: str, index: int, allowed: frozenset[str]) -> int:
    while index < len(source) and source[index] in allowed:
        index += 1
    return index


def _error_at(source: str, index: int, expected: str) -> RuleError:
    found = source[index] if index < len(source) else END_OF_RULE
    return syntax_error(index + 1, expected, found)
