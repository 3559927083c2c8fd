"""Visit answers → per-procedure linkage data keyed by 基本データリスト item ids.

Names get a full-width space between family and given name, dates stay ISO (Western), a
partly unknown date travels as `null` with `<item>_fusho` and `<item>_hyoki`, the chosen
address splits into its parts, a repeat group becomes a list of member objects, and every
「わからない」 answer is `null` and listed in `x_mikakunin` for staff.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from desk.catalog.model import Item, Procedure, Step
from desk.interview.validation import is_partial_date
from desk.rules.evaluate import MappingScope, Scope, evaluate, is_unknown

FULL_WIDTH_SPACE = "\u3000"
UNCONFIRMED_KEY = "x_mikakunin"


def procedure_data(
    procedure: Procedure, answers: Mapping[str, Any], scope: Scope
) -> dict[str, Any]:
    """The linkage data of one procedure: every item its shown steps ask, in wire form."""
    data: dict[str, Any] = {}
    unconfirmed: list[str] = []
    local = answers.get("@" + procedure.id)
    local = local if isinstance(local, Mapping) else {}
    for step in procedure.steps:
        if step.when is not None and not evaluate(step.when, scope):
            continue
        if step.is_group:
            group = step.items[0]
            if group.id in answers:
                data[group.id] = _members(step, answers[group.id], scope, group.id, unconfirmed)
            continue
        source = local if step.items[0].per_procedure else answers
        _put(step, source, data, unconfirmed, prefix="")
    if unconfirmed:
        data[UNCONFIRMED_KEY] = unconfirmed
    return data


def _members(step: Step, members: Any, scope: Scope, group_id: str,
             unconfirmed: list[str]) -> list[dict[str, Any]]:
    result = []
    for index, member in enumerate(members if isinstance(members, list) else []):
        member_scope = MappingScope(member, scope.today, parent=scope)
        member_data: dict[str, Any] = {}
        for member_step in step.members:
            if member_step.when is not None and not evaluate(member_step.when, member_scope):
                continue
            _put(member_step, member, member_data, unconfirmed,
                 prefix=f"{group_id}[{index}].")
        result.append(member_data)
    return result


def _put(step: Step, answers: Mapping[str, Any], data: dict[str, Any],
         unconfirmed: list[str], *, prefix: str) -> None:
    for item in step.items:
        if item.id not in answers:
            continue
        value = answers[item.id]
        if is_unknown(value):
            data[item.id] = None
            unconfirmed.append(prefix + item.id)
            continue
        data.update(wire_values(item, value))


def wire_values(item: Item, value: Any) -> dict[str, Any]:
    """One answer in its wire form; some items become several keys."""
    if item.type in ("name", "kana_name"):
        return {item.id: f"{value['family']}{FULL_WIDTH_SPACE}{value['given']}"}
    if item.type == "date" and is_partial_date(value):
        return {item.id: None, f"{item.id}_fusho": True, f"{item.id}_hyoki": value["hyoki"]}
    if item.type == "address_candidate":
        return {
            f"{item.id}_todofuken": value["prefecture"],
            f"{item.id}_shikuchoson": value["city"],
            f"{item.id}_choaza": value.get("town", ""),
            f"{item.id}_shikuchosonkodo": value.get("jis_code", ""),
        }
    return {item.id: value}
