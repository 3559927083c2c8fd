"""Static check of a parsed rule against a catalog's items: unknown ids and wrong item types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from desk.rules.ast import GROUP_FUNCTIONS, Call, Name, Node, Rule, children
from desk.rules.evaluate import FUNCTIONS, ITEM_ARGUMENT_TYPES, ITEM_ARGUMENTS, arity_text


@dataclass(frozen=True)
class RuleProblem:
    """One problem found in a rule: a message id and its parameters (never personal data)."""

    message_id: str
    params: dict[str, Any] = field(default_factory=dict)


def check(
    rule: Rule,
    *,
    item_types: Mapping[str, str],
    group_members: Mapping[str, tuple[str, ...]],
) -> list[RuleProblem]:
    """Find the problems a rule has in a given catalog, in source order.

    Item types come only from `item_types`; a group member that is not listed there is accepted
    inside its group's predicate but its type is not checked.

    Args:
        rule: A parsed rule.
        item_types: Item id → item type ("date", "group", "yes_no", …) of every item the rule
            may refer to.
        group_members: Group item id → the ids of the items each member answers.

    Returns:
        Problems with message ids "rule.unknown_item" (`name`, `column`), "rule.wrong_type"
        (`name`, `column`, `expected`), "rule.unknown_function" (`name`, `column`) and
        "rule.arity" (`name`, `column`, `expected`); empty when the rule is fine.
    """
    checker = _Checker(item_types, group_members)
    checker.visit(rule.node, ())
    return checker.problems


class _Checker:
    def __init__(
        self, item_types: Mapping[str, str], group_members: Mapping[str, tuple[str, ...]]
    ) -> None:
        self._item_types = item_types
        self._group_members = group_members
        self.problems: list[RuleProblem] = []

    def _add(self, message_id: str, **params: Any) -> None:
        self.problems.append(RuleProblem(message_id, params))

    def visit(self, node: Node, groups: tuple[str, ...]) -> None:
        """Check a node; `groups` are the groups whose predicates enclose it, innermost last."""
        if isinstance(node, Name):
            self._name(node, groups)
        elif isinstance(node, Call):
            self._call(node, groups)
        else:
            for child in children(node):
                self.visit(child, groups)

    def _known(self, name: str, groups: tuple[str, ...]) -> bool:
        return name in self._item_types or any(
            name in self._group_members.get(group, ()) for group in groups
        )

    def _name(self, node: Name, groups: tuple[str, ...]) -> bool:
        if self._known(node.name, groups):
            return True
        self._add("rule.unknown_item", name=node.name, column=node.column)
        return False

    def _call(self, node: Call, groups: tuple[str, ...]) -> None:
        limits = FUNCTIONS.get(node.name)
        if limits is None:
            self._add("rule.unknown_function", name=node.name, column=node.column)
            for arg in node.args:
                self.visit(arg, groups)
            return
        if not limits[0] <= len(node.args) <= limits[1]:
            self._add(
                "rule.arity", name=node.name, column=node.column, expected=arity_text(node.name)
            )
        item_positions = ITEM_ARGUMENTS[node.name]
        wanted_type = ITEM_ARGUMENT_TYPES.get(node.name)
        inner = groups
        for position, arg in enumerate(node.args):
            if position not in item_positions:
                continue
            if not isinstance(arg, Name):
                self._add("rule.arity", name=node.name, column=arg.column, expected="an item id")
                self.visit(arg, groups)
                continue
            if node.name in GROUP_FUNCTIONS and position == 0:
                inner = (*groups, arg.name)
            if not self._name(arg, groups) or wanted_type is None:
                continue
            actual = self._item_types.get(arg.name)
            if actual is not None and actual != wanted_type:
                self._add("rule.wrong_type", name=arg.name, column=arg.column, expected=wanted_type)
        for position, arg in enumerate(node.args):
            if position not in item_positions:
                self.visit(arg, inner)
