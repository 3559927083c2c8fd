"""Evaluate parsed catalog rules against a visit's answers; never raises for any answer values.

Semantics:

- A name evaluates to the item's stored answer (`scope.value(name)`), or None when the item
  is unanswered or holds the "unknown" marker `UNKNOWN_ANSWER` (the resident pressed わからない).
- Truthiness, used by `and`, `or`, `not` and for the result of `evaluate`: None, False, 0, 0.0,
  "", empty lists and empty mappings are false; everything else is true. `and`/`or` short-circuit
  and give a bool.
- `==` and `!=`: numbers compare by value (1 == 1.0), strings and bools by value, lists and
  mappings element by element; bools are never equal to numbers; other mixed types are unequal.
- Every comparison (`==`, `!=`, ordering, `in`, `not in`) is False when either side is None, so
  an unanswered item never satisfies a condition nor its negation.
- Ordering (`<`, `<=`, `>`, `>=`) is defined between two numbers or between two strings (ISO
  dates compare correctly as strings); any other pair, bools included, is False.
- `x in y`: membership when `y` is a list (multi-choice answers, list literals), substring when
  both are strings, otherwise False; `not in` is its negation (except for None, as above).
- `age(d)` is completed years from the ISO date answer `d` ("YYYY-MM-DD") to `scope.today`;
  `age(d, e)` is the age on the date answered for `e`. A birthday counts on its own day.
  A missing, unknown or malformed date, or a date before the birth, gives None.
- `count(g)` is the number of members of repeat group `g` (its answer is a list of mappings; a
  missing group has 0). `count(g, p)` counts members for which `p` is true, `any(g, p)` and
  `all(g, p)` give bools (`all` of no members is true). In `p`, names resolve first in the
  member's answers, then in the visit.
- `answered(i)` is true when `i` has an answer other than the unknown marker; `unknown(i)` is
  true when it holds the marker.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Protocol

from desk.rules.ast import (
    GROUP_FUNCTIONS,
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

# Name → (fewest, most) arguments.
FUNCTIONS: Final[Mapping[str, tuple[int, int]]] = MappingProxyType(
    {
        "age": (1, 2),
        "count": (1, 2),
        "any": (2, 2),
        "all": (2, 2),
        "answered": (1, 1),
        "unknown": (1, 1),
    }
)

# Name → positions of arguments that must be written as a plain item id: these functions look
# at the stored answer of an item (or a group), not at the value of an expression.
ITEM_ARGUMENTS: Final[Mapping[str, frozenset[int]]] = MappingProxyType(
    {
        "age": frozenset({0, 1}),
        "count": frozenset({0}),
        "any": frozenset({0}),
        "all": frozenset({0}),
        "answered": frozenset({0}),
        "unknown": frozenset({0}),
    }
)

# Name → the item type its item arguments must have, for the static check.
ITEM_ARGUMENT_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {"age": "date", "count": "group", "any": "group", "all": "group"}
)

# What the interview stores when the resident answers わからない.
UNKNOWN_ANSWER: Final[Mapping[str, bool]] = {"unknown": True}

_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Answers come from JSON and are shallow; the bound only keeps a pathological (e.g.
# self-referencing) value from exhausting the stack in `_equal`.
_MAX_VALUE_DEPTH: Final = 50


def is_unknown(value: object) -> bool:
    """Tell whether a stored answer is the "unknown" marker.

    Args:
        value: A raw stored answer of any type.

    Returns:
        True only for a mapping equal to `UNKNOWN_ANSWER` (with a real `True`, not 1).
    """
    return isinstance(value, Mapping) and len(value) == 1 and value.get("unknown") is True


def arity_text(name: str) -> str:
    """Describe how many arguments a function takes, for the `expected` of "rule.arity".

    Args:
        name: A key of `FUNCTIONS`.

    Returns:
        A phrase such as "1 argument" or "1 or 2 arguments".
    """
    low, high = FUNCTIONS[name]
    if low == high:
        return f"{low} argument" if low == 1 else f"{low} arguments"
    if high == low + 1:
        return f"{low} or {high} arguments"
    return f"{low} to {high} arguments"


class Scope(Protocol):
    """Where names get their values: a visit's answers, or a group member's then the visit's."""

    @property
    def today(self) -> datetime.date:
        """The date `age(d)` counts to."""
        ...

    def value(self, name: str) -> Any:
        """Return the raw stored answer of an item, or None when it has none."""
        ...


@dataclass(frozen=True)
class MappingScope:
    """A scope backed by a mapping of item id → raw answer, with an optional fallback scope.

    A group member's scope has the visit scope as `parent`, so a predicate can mention both
    the member's items and the visit's. A key present in `answers` shadows the parent even when
    its value is None.
    """

    answers: Mapping[str, Any]
    today: datetime.date
    parent: Scope | None = None

    def value(self, name: str) -> Any:
        """Return the raw answer for `name`, looking in the parent when this scope lacks it.

        Args:
            name: An item id.

        Returns:
            The stored answer, or None.
        """
        if name in self.answers:
            return self.answers[name]
        return None if self.parent is None else self.parent.value(name)


def evaluate(rule: Rule, scope: Scope) -> bool:
    """Evaluate a rule against answers.

    Args:
        rule: A parsed rule.
        scope: Answers and today's date.

    Returns:
        The truthiness of the rule's value (see the module docstring); never raises for any
        answer values.
    """
    return truthy(_value(rule.node, scope))


def truthy(value: object) -> bool:
    """Return the rule language's truthiness of a value.

    Args:
        value: Any value a rule can produce or an answer can hold.

    Returns:
        False for None, False, zero, and empty strings, lists and mappings; True otherwise.
    """
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | Sequence | Mapping):
        return len(value) > 0
    return True


def _value(node: Node, scope: Scope) -> object:
    if isinstance(node, Number | String | Boolean):
        return node.value
    if isinstance(node, Name):
        raw = scope.value(node.name)
        return None if is_unknown(raw) else raw
    if isinstance(node, ListLiteral):
        return [_value(item, scope) for item in node.items]
    if isinstance(node, Not):
        return not truthy(_value(node.operand, scope))
    if isinstance(node, And):
        return all(truthy(_value(operand, scope)) for operand in node.operands)
    if isinstance(node, Or):
        return any(truthy(_value(operand, scope)) for operand in node.operands)
    if isinstance(node, Compare):
        return _compare(node.op, _value(node.left, scope), _value(node.right, scope))
    return _call(node, scope)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(op: str, left: object, right: object) -> bool:
    if left is None or right is None:
        return False
    if op == "==":
        return _equal(left, right, 0)
    if op == "!=":
        return not _equal(left, right, 0)
    if op == "in":
        return _contains(right, left)
    if op == "not in":
        return not _contains(right, left)
    return _order(op, left, right)


def _equal(left: object, right: object, depth: int) -> bool:
    if depth > _MAX_VALUE_DEPTH:
        return False
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, str) or isinstance(right, str):
        return isinstance(left, str) and isinstance(right, str) and left == right
    if _is_list(left) and _is_list(right):
        assert isinstance(left, Sequence) and isinstance(right, Sequence)  # for mypy
        return len(left) == len(right) and all(
            _equal(a, b, depth + 1) for a, b in zip(left, right, strict=True)
        )
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return len(left) == len(right) and all(
            key in right and _equal(value, right[key], depth + 1) for key, value in left.items()
        )
    if left is None or right is None:
        return left is right
    return type(left) is type(right) and bool(left == right)


def _is_list(value: object) -> bool:
    return isinstance(value, list | tuple)


def _contains(container: object, item: object) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, list | tuple | set | frozenset):
        return any(_equal(item, element, 0) for element in container)
    return False


def _order(op: str, left: object, right: object) -> bool:
    if _is_number(left) and _is_number(right):
        assert isinstance(left, int | float) and isinstance(right, int | float)  # for mypy
        a: Any = left
        b: Any = right
    elif isinstance(left, str) and isinstance(right, str):
        a, b = left, right
    else:
        return False
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    return False


def _call(node: Call, scope: Scope) -> object:
    limits = FUNCTIONS.get(node.name)
    # The parser rejects both cases; a tree built by hand still must not raise.
    if limits is None or not limits[0] <= len(node.args) <= limits[1]:
        return None
    if node.name == "age":
        return _age(node.args, scope)
    if node.name in GROUP_FUNCTIONS:
        return _group_function(node.name, node.args, scope)
    raw = _raw(node.args[0], scope)
    if node.name == "answered":
        return raw is not None and not is_unknown(raw)
    return is_unknown(raw)


def _raw(node: Node, scope: Scope) -> object:
    """The stored answer an item argument names, unknown marker included."""
    if isinstance(node, Name):
        return scope.value(node.name)
    return _value(node, scope)


def _age(args: tuple[Node, ...], scope: Scope) -> int | None:
    birth = _as_date(_raw(args[0], scope))
    on = _as_date(scope.today if len(args) == 1 else _raw(args[1], scope))
    if birth is None or on is None or on < birth:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _as_date(value: object) -> datetime.date | None:
    # A datetime is a date subclass, but comparing one with a plain date raises TypeError.
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _group_function(name: str, args: tuple[Node, ...], scope: Scope) -> object:
    group = _raw(args[0], scope)
    members: Sequence[object] = group if isinstance(group, list | tuple) else ()
    if len(args) == 1:
        return len(members)
    predicate = args[1]
    results = (truthy(_value(predicate, _member_scope(member, scope))) for member in members)
    if name == "count":
        return sum(results)
    if name == "any":
        return any(results)
    return all(results)


def _member_scope(member: object, scope: Scope) -> Scope:
    answers: Mapping[str, Any] = member if isinstance(member, Mapping) else {}
    return MappingScope(answers, scope.today, scope)
