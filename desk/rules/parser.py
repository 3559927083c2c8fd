"""Recursive-descent parser for catalog rules; any text either parses or raises RuleError."""

from __future__ import annotations

import functools
from typing import Final, NoReturn

from desk.errors import RuleError
from desk.rules.ast import (
    And,
    Boolean,
    Call,
    Compare,
    ListLiteral,
    Name,
    Node,
    Not,
    Number,
    Or,
    Rule,
    String,
)
from desk.rules.evaluate import FUNCTIONS, ITEM_ARGUMENTS, arity_text
from desk.rules.lexer import Kind, Token, syntax_error, tokenize

MAX_LENGTH: Final = 1000
# Counted per "(", "[", function call and "not". The bound keeps both this parser and the
# evaluator far from Python's recursion limit, so deep input is a RuleError, not RecursionError.
MAX_DEPTH: Final = 32
_CACHE_SIZE: Final = 4096


def parse(source: str) -> Rule:
    """Parse a rule.

    Results are cached by source text: rules are immutable, and catalogs evaluate the same few
    rules on every screen.

    Args:
        source: The rule text, at most 1000 characters.

    Returns:
        The parsed rule.

    Raises:
        RuleError: "rule.syntax" (params `column`, `expected`, `found`), "rule.too_long"
            (`max`), "rule.too_deep" (`max`), "rule.unknown_function" (`name`, `column`) or
            "rule.arity" (`name`, `column`, `expected`).
    """
    # Catalog YAML can hand over a number or bool where a rule was meant.
    if not isinstance(source, str):
        raise syntax_error(1, "a rule", type(source).__name__)
    return _parse_cached(source)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse_cached(source: str) -> Rule:
    if len(source) > MAX_LENGTH:
        raise RuleError("rule.too_long", max=MAX_LENGTH)
    return Rule(source, _Parser(source).rule())


class _Parser:
    def __init__(self, source: str) -> None:
        self._tokens = tokenize(source)
        self._token = next(self._tokens)
        self._depth = 0

    def rule(self) -> Node:
        node = self._or()
        if self._token.kind is not Kind.END:
            self._fail("end of rule")
        return node

    def _advance(self) -> Token:
        token = self._token
        if token.kind is not Kind.END:
            self._token = next(self._tokens)
        return token

    def _at(self, kind: Kind, text: str | None = None) -> bool:
        return self._token.kind is kind and (text is None or self._token.text == text)

    def _expect(self, kind: Kind, expected: str) -> Token:
        if not self._at(kind):
            self._fail(expected)
        return self._advance()

    def _fail(self, expected: str) -> NoReturn:
        raise syntax_error(self._token.column, expected, self._token.found())

    def _enter(self) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise RuleError("rule.too_deep", max=MAX_DEPTH)

    def _leave(self) -> None:
        self._depth -= 1

    def _or(self) -> Node:
        operands = [self._and()]
        while self._at(Kind.KEYWORD, "or"):
            self._advance()
            operands.append(self._and())
        if len(operands) == 1:
            return operands[0]
        return Or(tuple(operands), operands[0].column)

    def _and(self) -> Node:
        operands = [self._not()]
        while self._at(Kind.KEYWORD, "and"):
            self._advance()
            operands.append(self._not())
        if len(operands) == 1:
            return operands[0]
        return And(tuple(operands), operands[0].column)

    def _not(self) -> Node:
        if not self._at(Kind.KEYWORD, "not"):
            return self._comparison()
        keyword = self._advance()
        self._enter()
        operand = self._not()
        self._leave()
        return Not(operand, keyword.column)

    def _comparison(self) -> Node:
        left = self._operand()
        if self._at(Kind.OPERATOR) or self._at(Kind.KEYWORD, "in"):
            operator = self._advance()
            return Compare(operator.text, left, self._operand(), operator.column)
        if self._at(Kind.KEYWORD, "not"):
            operator = self._advance()
            if not self._at(Kind.KEYWORD, "in"):
                self._fail("in after not")
            self._advance()
            return Compare("not in", left, self._operand(), operator.column)
        return left

    def _operand(self) -> Node:
        token = self._token
        if token.kind is Kind.NUMBER:
            self._advance()
            value = float(token.text) if "." in token.text else int(token.text)
            return Number(value, token.column)
        if token.kind is Kind.STRING:
            self._advance()
            return String(token.text[1:-1], token.column)
        if self._at(Kind.KEYWORD, "true") or self._at(Kind.KEYWORD, "false"):
            self._advance()
            return Boolean(token.text == "true", token.column)
        if token.kind is Kind.LBRACKET:
            return self._list()
        if token.kind is Kind.NAME:
            self._advance()
            if self._at(Kind.LPAREN):
                return self._call(token)
            return Name(token.text, token.column)
        if token.kind is Kind.LPAREN:
            self._advance()
            self._enter()
            node = self._or()
            self._expect(Kind.RPAREN, "a closing )")
            self._leave()
            return node
        self._fail("a value")

    def _list(self) -> Node:
        opening = self._advance()
        self._enter()
        items: list[Node] = []
        if not self._at(Kind.RBRACKET):
            items.append(self._operand())
            while self._at(Kind.COMMA):
                self._advance()
                items.append(self._operand())
        self._expect(Kind.RBRACKET, "a closing ]")
        self._leave()
        return ListLiteral(tuple(items), opening.column)

    def _call(self, name: Token) -> Node:
        if name.text not in FUNCTIONS:
            raise RuleError("rule.unknown_function", name=name.text, column=name.column)
        self._advance()
        self._enter()
        args: list[Node] = []
        if not self._at(Kind.RPAREN):
            args.append(self._or())
            while self._at(Kind.COMMA):
                self._advance()
                args.append(self._or())
        self._expect(Kind.RPAREN, "a closing )")
        self._leave()
        low, high = FUNCTIONS[name.text]
        if not low <= len(args) <= high:
            raise RuleError(
                "rule.arity", name=name.text, column=name.column, expected=arity_text(name.text)
            )
        for position in sorted(ITEM_ARGUMENTS[name.text]):
            if position < len(args) and not isinstance(args[position], Name):
                raise RuleError(
                    "rule.arity",
                    name=name.text,
                    column=args[position].column,
                    expected="an item id",
                )
        return Call(name.text, tuple(args), name.column)
