"""The syntax tree of a catalog rule: immutable nodes, the parsed `Rule` and its references."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

# Context of a reference made outside any group predicate.
VISIT: Final = "visit"

# Functions whose first argument names a repeat group and whose later arguments are predicates
# evaluated once per member; the parser, evaluator and checker all need this one fact.
GROUP_FUNCTIONS: Final = frozenset({"count", "any", "all"})


@dataclass(frozen=True)
class Number:
    """A number literal (`int` when written without a decimal point)."""

    value: int | float
    column: int


@dataclass(frozen=True)
class String:
    """A quoted string literal, without its quotes."""

    value: str
    column: int


@dataclass(frozen=True)
class Boolean:
    """`true` or `false`."""

    value: bool
    column: int


@dataclass(frozen=True)
class ListLiteral:
    """A bracketed list of operands, such as `['a', 'b']`."""

    items: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Name:
    """An item id; it evaluates to that item's answer."""

    name: str
    column: int


@dataclass(frozen=True)
class Call:
    """A call of one of the built-in functions."""

    name: str
    args: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Not:
    """Logical negation."""

    operand: Node
    column: int


@dataclass(frozen=True)
class And:
    """Logical conjunction of two or more operands (kept flat so long chains stay shallow)."""

    operands: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Or:
    """Logical disjunction of two or more operands (kept flat so long chains stay shallow)."""

    operands: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Compare:
    """One comparison: `op` is ==, !=, <, <=, >, >=, `in` or `not in`; column is the operator's."""

    op: str
    left: Node
    right: Node
    column: int


Node: TypeAlias = (
    Number | String | Boolean | ListLiteral | Name | Call | Not | And | Or | Compare
)


@dataclass(frozen=True)
class Reference:
    """One use of an item id in a rule.

    `context` is `"visit"` for a name outside any group predicate, otherwise the id of the
    innermost group whose predicate contains it (the name may then be a member of that group).
    """

    name: str
    column: int
    context: str


@dataclass(frozen=True)
class Rule:
    """A parsed rule: its source text and the root of its syntax tree."""

    source: str
    node: Node

    def names(self) -> frozenset[str]:
        """Return every item id the rule refers to, including those inside function arguments.

        Returns:
            The set of names; inside group predicates these may be group members or visit items.
        """
        return frozenset(reference.name for reference in self.references())

    def references(self) -> list[Reference]:
        """Return every use of an item id in source order, with its column and context.

        Returns:
            A new list of references.
        """
        found: list[Reference] = []
        _collect(self.node, VISIT, found)
        return found


def children(node: Node) -> tuple[Node, ...]:
    """Return the direct sub-nodes of a node, in source order.

    Args:
        node: Any syntax tree node.

    Returns:
        The sub-nodes; empty for literals and names.
    """
    if isinstance(node, ListLiteral):
        return node.items
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Not):
        return (node.operand,)
    if isinstance(node, And | Or):
        return node.operands
    if isinstance(node, Compare):
        return (node.left, node.right)
    return ()


def _collect(node: Node, context: str, found: list[Reference]) -> None:
    if isinstance(node, Name):
        found.append(Reference(node.name, node.column, context))
        return
    if isinstance(node, Call) and node.name in GROUP_FUNCTIONS and node.args:
        group, *predicates = node.args
        _collect(group, context, found)
        inner = group.name if isinstance(group, Name) else context
        for predicate in predicates:
            _collect(predicate, inner, found)
        return
    for child in children(node):
        _collect(child, context, found)
