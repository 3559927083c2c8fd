"""Load catalog YAML into frozen dataclasses; errors name the file, line and key path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import yaml

from desk.catalog.model import ITEM_TYPES, Catalog, Channel, Item, ItemType, Option, Procedure, Step
from desk.catalog.text import LocalizedText
from desk.errors import CatalogError
from desk.resources import resources_dir

SUPPORTED_SCHEMA_VERSIONS = {1}
ITEMS_FILE = "items.yaml"
_CHANNELS = ("kiosk", "desk", "counter")
# Scalars go through PyYAML's safe constructor, so ints, bools and dates keep their YAML types.
_SCALARS = yaml.constructor.SafeConstructor()


class _Source:
    """A parsed YAML file that remembers the line of every key path, for error messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[str, int] = {}
        try:
            text = path.read_text(encoding="utf-8")
            node = yaml.compose(text)
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(
                "catalog.unreadable", file=path.name, reason=type(exc).__name__
            ) from exc
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise CatalogError(
                "catalog.syntax",
                file=path.name,
                line=(mark.line + 1) if mark else 0,
                reason=str(getattr(exc, "problem", "")),
            ) from exc
        self.data = self._convert(node, "") if node is not None else None

    def _convert(self, node: yaml.Node, path: str) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                result[key] = self._convert(value_node, f"{path}.{key}" if path else key)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self._convert(v, f"{path}[{i}]") for i, v in enumerate(node.value)]
        return _SCALARS.construct_object(node, deep=True)

    def error(self, key_path: str, expected: str) -> CatalogError:
        """Build an error naming this file, the line of `key_path`, and what was expected."""
        line = self.lines.get(key_path)
        probe = key_path
        while line is None and probe:
            probe = probe.rpartition(".")[0] if "." in probe else ""
            line = self.lines.get(probe)
        return CatalogError(
            "catalog.invalid", file=self.path.name, line=line or 1, key=key_path, expected=expected
        )


def _mapping(src: _Source, value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise src.error(key, "a mapping (key: value)")
    return value


def _string(src: _Source, value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise src.error(key, "a non-empty string")
    return value


def _text(src: _Source, value: Any, key: str, *, required: bool = True) -> LocalizedText:
    if value is None and not required:
        return LocalizedText()
    mapping = _mapping(src, value, key)
    values = {lang: _string(src, text, f"{key}.{lang}") for lang, text in mapping.items()}
    if "ja" not in values:
        raise src.error(key, "a Japanese text under `ja` (every other language falls back to it)")
    return LocalizedText(values)


def _check_schema(src: _Source, data: Mapping[str, Any]) -> None:
    version = data.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise src.error("schema_version", f"one of {sorted(SUPPORTED_SCHEMA_VERSIONS)}")


def load_items(path: Path) -> dict[str, Item]:
    """Load the shared data dictionary."""
    src = _Source(path)
    data = _mapping(src, src.data, "")
    _check_schema(src, data)
    items: dict[str, Item] = {}
    for item_id, raw in _mapping(src, data.get("items"), "items").items():
        key = f"items.{item_id}"
        spec = _mapping(src, raw, key)
        item_type = spec.get("type")
        if item_type not in ITEM_TYPES:
            raise src.error(f"{key}.type", f"one of {', '.join(ITEM_TYPES)}")
        for int_key in ("max_length", "min", "max"):
            if int_key in spec and not isinstance(spec[int_key], int):
                raise src.error(f"{key}.{int_key}", "a whole number")
        required = spec.get("required", True)
        if not isinstance(required, bool):
            raise src.error(f"{key}.required", "true or false")
        items[item_id] = Item(
            id=item_id,
            type=cast(ItemType, item_type),
            label=_text(src, spec.get("label"), f"{key}.label"),
            required=required,
            max_length=spec.get("max_length"),
            minimum=spec.get("min"),
            maximum=spec.get("max"),
        )
    return items


def load_procedure(path: Path, items: Mapping[str, Item]) -> Procedure:
    """Load one procedure file, resolving its steps against the data dictionary."""
    src = _Source(path)
    data = _mapping(src, src.data, "")
    _check_schema(src, data)
    channels = data.get("channels")
    if not isinstance(channels, list) or not channels or any(c not in _CHANNELS for c in channels):
        raise src.error("channels", f"a list of {', '.join(_CHANNELS)}")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise src.error("steps", "a non-empty list of steps")
    steps: list[Step] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_steps):
        key = f"steps[{index}]"
        spec = _mapping(src, raw, key)
        step_id = _string(src, spec.get("id"), f"{key}.id")
        if step_id in seen:
            raise src.error(f"{key}.id", f"a step id not used before (`{step_id}` is repeated)")
        seen.add(step_id)
        item_ids = spec.get("items", [spec.get("item")])
        if not isinstance(item_ids, list) or not item_ids:
            raise src.error(f"{key}.item", "an item id, or `items:` with a list of item ids")
        step_items = []
        for item_id in item_ids:
            if item_id not in items:
                raise src.error(f"{key}.item", f"an item of {ITEMS_FILE} (`{item_id}` is not)")
            step_items.append(items[item_id])
        options = tuple(
            Option(
                value=_string(src, _mapping(src, o, f"{key}.options[{i}]").get("value"),
                              f"{key}.options[{i}].value"),
                label=_text(src, o.get("label"), f"{key}.options[{i}].label"),
            )
            for i, o in enumerate(spec.get("options") or [])
        )
        if step_items[0].type == "choice" and not options:
            raise src.error(f"{key}.options", "a list of options for a choice item")
        postal_item = spec.get("postal_item")
        if step_items[0].type == "address_candidate" and postal_item not in seen_items(steps):
            raise src.error(
                f"{key}.postal_item", "the id of a postal_code item asked in an earlier step"
            )
        steps.append(
            Step(
                id=step_id,
                items=tuple(step_items),
                question=_text(src, spec.get("question"), f"{key}.question"),
                help=_text(src, spec.get("help"), f"{key}.help", required=False),
                options=options,
                postal_item=postal_item,
            )
        )
    docs = data.get("documents_to_bring") or []
    if not isinstance(docs, list):
        raise src.error("documents_to_bring", "a list of texts")
    identity_check = data.get("identity_check")
    if not isinstance(identity_check, bool):
        raise src.error("identity_check", "true or false")
    return Procedure(
        id=_string(src, data.get("id"), "id"),
        form_version=str(data.get("form_version", "1")),
        business_area=_string(src, data.get("business_area"), "business_area"),
        form_name=_string(src, data.get("form_name"), "form_name"),
        channels=tuple(cast(list[Channel], channels)),
        identity_check=identity_check,
        title=_text(src, data.get("title"), "title"),
        steps=tuple(steps),
        documents_to_bring=tuple(
            _text(src, d, f"documents_to_bring[{i}]") for i, d in enumerate(docs)
        ),
        declaration=_text(src, data.get("declaration"), "declaration"),
    )


def seen_items(steps: list[Step]) -> set[str]:
    """Return the ids of every item asked in `steps`."""
    return {item.id for step in steps for item in step.items}


def load_catalog(folder: Path | None = None) -> Catalog:
    """Load the data dictionary and every procedure file of a catalog folder."""
    folder = folder or resources_dir() / "procedures"
    items = load_items(folder / ITEMS_FILE)
    procedures: dict[str, Procedure] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name == ITEMS_FILE:
            continue
        procedure = load_procedure(path, items)
        procedures[procedure.id] = procedure
    return Catalog(items=items, procedures=procedures)
