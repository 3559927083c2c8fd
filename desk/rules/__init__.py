"""A small, safe expression language for catalog rules: when a step shows, who a procedure fits."""

from desk.rules.ast import Rule
from desk.rules.evaluate import FUNCTIONS, Scope, evaluate
from desk.rules.parser import parse

__all__ = ["FUNCTIONS", "Rule", "Scope", "evaluate", "parse"]
