"""A parsed catalog YAML file that remembers the line of every key path, for precise errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from desk.errors import CatalogError

# Scalars go through PyYAML's safe constructor, so ints, bools and dates keep their YAML types.
_SCALARS = yaml.constructor.SafeConstructor()
# LibYAML's parser when PyYAML has it (every PyPI wheel does): about ten times faster, with
# the same marks for line numbers.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Severity = Literal["error", "warning"]
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a catalog: where it is and what was expected there."""

    severity: Severity
    file: str
    line: int
    key: str
    expected: str

    def __str__(self) -> str:
        where = f"{self.key}: " if self.key else ""
        label = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}: {label}{where}{self.expected}"

    @classmethod
    def of(cls, error: CatalogError, severity: Severity = "error") -> Problem:
        """The problem a loader error describes."""
        params = error.params
        expected = params.get("expected") or params.get("reason") or error.message_id
        return cls(severity, str(params.get("file", "")), int(params.get("line", 1) or 1),
                   str(params.get("key", "")), f"expected {expected}"
                   if "expected" in params else str(expected))


class Source:
    """A YAML file parsed into plain data, with the line of every key path.

    Key paths look like ``steps[2].question.ja``; `name` is the path shown in messages
    (relative to the catalog folder).
    """

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.lines: dict[str, int] = {}
        try:
            text = path.read_text(encoding="utf-8")
            node = yaml.compose(text, Loader=_LOADER)
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(
                "catalog.unreadable", file=name, line=1, reason=type(exc).__name__
            ) from exc
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise CatalogError(
                "catalog.syntax", file=name, line=(mark.line + 1) if mark else 1, key="",
                expected=f"valid YAML ({getattr(exc, 'problem', None) or 'syntax error'})",
            ) from exc
        try:
            self.data = self._convert(node, "") if node is not None else None
        except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
            raise CatalogError(
                "catalog.syntax", file=name, line=1, key="",
                expected=f"valid YAML values ({type(exc).__name__})",
            ) from exc

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
        if node.tag == _STR_TAG:  # most catalog scalars: skip the constructor's bookkeeping
            return node.value
        return _SCALARS.construct_object(node, deep=True)

    def line(self, key_path: str) -> int:
        """The line of `key_path`, or of its nearest parent that exists."""
        probe = key_path
        while True:
            if probe in self.lines:
                return self.lines[probe]
            if not probe:
                return 1
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""

    def error(self, key_path: str, expected: str) -> CatalogError:
        """Build an error naming this file, the line of `key_path`, and what was expected."""
        return CatalogError(
            "catalog.invalid", file=self.name, line=self.line(key_path), key=key_path,
            expected=expected,
        )

    def problem(self, key_path: str, expected: str, severity: Severity = "error") -> Problem:
        """A problem at `key_path` (for checks that do not stop loading)."""
        text = expected if expected.startswith("expected") else f"expected {expected}"
        return Problem(severity, self.name, self.line(key_path), key_path, text)
