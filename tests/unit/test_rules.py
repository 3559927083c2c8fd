"""The catalog rule language: tokenizer, parser, evaluator, static check, and fuzzing."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.errors import RuleError
from desk.rules import FUNCTIONS, Rule, Scope, evaluate, parse
from desk.rules.ast import And, Call, Compare, ListLiteral, Name, Not, Number, Or, Reference, String
from desk.rules.check import RuleProblem, check
from desk.rules.evaluate import UNKNOWN_ANSWER, MappingScope, is_unknown, truthy
from desk.rules.lexer import Kind, tokenize
from desk.rules.parser import MAX_DEPTH, MAX_LENGTH

D = datetime.date
TODAY = D(2024, 4, 1)

# Hypothesis must not write a .hypothesis directory into the shared working tree.
FUZZ = settings(max_examples=2000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def run(source: str, answers: Mapping[str, Any] | None = None, today: D = TODAY) -> bool:
    return evaluate(parse(source), MappingScope(answers or {}, today))


def syntax(source: str) -> dict[str, Any]:
    with pytest.raises(RuleError) as caught:
        parse(source)
    assert caught.value.message_id == "rule.syntax"
    return caught.value.params


# --- tokenizer ---------------------------------------------------------------------------------


def test_tokens_carry_kind_text_and_column() -> None:
    tokens = list(tokenize("age(x)>=6.5 and\u3000'ほげ' != \"a'b\""))
    assert [(t.kind, t.text, t.column) for t in tokens] == [
        (Kind.NAME, "age", 1),
        (Kind.LPAREN, "(", 4),
        (Kind.NAME, "x", 5),
        (Kind.RPAREN, ")", 6),
        (Kind.OPERATOR, ">=", 7),
        (Kind.NUMBER, "6.5", 9),
        (Kind.KEYWORD, "and", 13),
        (Kind.STRING, "'ほげ'", 17),
        (Kind.OPERATOR, "!=", 22),
        (Kind.STRING, "\"a'b\"", 25),
        (Kind.END, "", 30),
    ]


def test_full_width_space_tab_and_newline_are_whitespace() -> None:
    assert run("a\u3000==\t1\nand\u3000b", {"a": 1, "b": True})


def test_keywords_are_case_sensitive_and_reserved() -> None:
    assert parse("AND").node == Name("AND", 1)
    assert syntax("and") == {"column": 1, "expected": "a value", "found": "and"}
    assert syntax("in == 1")["found"] == "in"


def test_numbers_are_int_or_float() -> None:
    assert parse("12").node == Number(12, 1)
    assert isinstance(parse("12").node.value, int)  # type: ignore[union-attr]
    assert parse("0.25").node == Number(0.25, 1)
    assert parse("'12'").node == String("12", 1)


# --- parser ------------------------------------------------------------------------------------


def test_precedence_not_binds_tighter_than_and_tighter_than_or() -> None:
    node = parse("not a and b or c").node
    assert node == Or((And((Not(Name("a", 5), 1), Name("b", 11)), 1), Name("c", 16)), 1)
    assert run("not a and b or c", {"a": False, "b": True, "c": False})
    assert not run("not a and b or c", {"a": True, "b": True, "c": False})
    assert run("not a and b or c", {"a": True, "b": False, "c": True})


def test_parentheses_override_precedence() -> None:
    assert not run("not (a or b)", {"a": False, "b": True})
    assert run("(not a) and (b or c)", {"a": False, "b": False, "c": 1})


def test_not_applies_to_a_whole_comparison() -> None:
    assert parse("not a == 1").node == Not(Compare("==", Name("a", 5), Number(1, 10), 7), 1)


def test_long_and_or_chains_are_flat() -> None:
    source = " or ".join(f"a{i}" for i in range(100))
    node = parse(source).node
    assert isinstance(node, Or)
    assert len(node.operands) == 100
    assert run(source, {"a99": 1})


def test_list_literals_and_calls() -> None:
    assert parse("[]").node == ListLiteral((), 1)
    assert parse("x in [1, 'a', y]").node == Compare(
        "in", Name("x", 1), ListLiteral((Number(1, 7), String("a", 10), Name("y", 15)), 6), 3
    )
    assert parse("answered(x)").node == Call("answered", (Name("x", 10),), 1)


def test_a_name_may_share_a_function_name_when_not_called() -> None:
    assert run("count == 2", {"count": 2})


def test_rule_is_cached_and_immutable() -> None:
    rule = parse("a == 1")
    assert parse("a == 1") is rule
    with pytest.raises(AttributeError):
        rule.source = "b"  # type: ignore[misc]


def test_names_and_references_include_function_arguments_and_predicates() -> None:
    rule = parse("age(umare, kijunbi) >= 65 or count(x_kodomo, age(seinengappi) < 15 and kazoku)")
    assert rule.names() == frozenset({"umare", "kijunbi", "x_kodomo", "seinengappi", "kazoku"})
    assert rule.references() == [
        Reference("umare", 5, "visit"),
        Reference("kijunbi", 12, "visit"),
        Reference("x_kodomo", 36, "visit"),
        Reference("seinengappi", 50, "x_kodomo"),
        Reference("kazoku", 72, "x_kodomo"),
    ]


@pytest.mark.parametrize(
    ("source", "column", "expected", "found"),
    [
        ("age(seinengappi >= 65", 22, "a closing )", "end of rule"),
        ("a < b < c", 7, "end of rule", "<"),
        ("a == 1 == 1", 8, "end of rule", "=="),
        ("a b", 3, "end of rule", "b"),
        ("", 1, "a value", "end of rule"),
        ("\u3000 ", 3, "a value", "end of rule"),
        ("a and", 6, "a value", "end of rule"),
        ("a ==", 5, "a value", "end of rule"),
        ("(a or b", 8, "a closing )", "end of rule"),
        ("(a or b]", 8, "a closing )", "]"),
        ("[1, 2", 6, "a closing ]", "end of rule"),
        ("[1, 2,]", 7, "a value", "]"),
        ("[1 2]", 4, "a closing ]", "2"),
        ("count(g, a b)", 12, "a closing )", "b"),
        ("a not b", 7, "in after not", "b"),
        ("a = 1", 3, "==", "="),
        ("a ! b", 3, "!=", "!"),
        ("x == 'abc", 10, "a closing quote", "end of rule"),
        ('x == "abc\'', 11, "a closing quote", "end of rule"),
        ("1.", 3, "a digit after the decimal point", "end of rule"),
        ("1.x", 3, "a digit after the decimal point", "x"),
        (".5", 1, "a value", "."),
        ("a == ５", 6, "a value", "５"),
        ("氏名 == 'x'", 1, "a value", "氏"),
        ("a == 1 ) ", 8, "end of rule", ")"),
        ("a and or b", 7, "a value", "or"),
        ("a " + "b" * 30, 3, "end of rule", "b" * 20),
    ],
)
def test_syntax_errors_give_column_expected_and_found(
    source: str, column: int, expected: str, found: str
) -> None:
    assert syntax(source) == {"column": column, "expected": expected, "found": found}


def test_errors_come_in_source_order() -> None:
    # The "=" would be a lexer error, but the parser reaches the earlier problem first.
    assert syntax("a b = 'x")["column"] == 3


def test_length_limit() -> None:
    assert parse("a" * MAX_LENGTH).names() == frozenset({"a" * MAX_LENGTH})
    with pytest.raises(RuleError) as caught:
        parse("a" * (MAX_LENGTH + 1))
    assert (caught.value.message_id, caught.value.params) == ("rule.too_long", {"max": 1000})


@pytest.mark.parametrize(
    ("opening", "closing", "levels"),
    [("(", ")", 1), ("[", "]", 1), ("not ", "", 1), ("not (", ")", 2),
     ("answered(x) or count(g, ", ")", 1)],
)
def test_depth_limit(opening: str, closing: str, levels: int) -> None:
    """Every "(", "[", call and "not" is one level of nesting."""
    most = MAX_DEPTH // levels
    parse(opening * most + "a" + closing * most)
    deep = opening * (most + 1) + "a" + closing * (most + 1)
    with pytest.raises(RuleError) as caught:
        parse(deep)
    assert (caught.value.message_id, caught.value.params) == ("rule.too_deep", {"max": 32})


def test_worst_case_nesting_within_the_length_limit_is_a_rule_error() -> None:
    for source in ("(" * MAX_LENGTH, "[" * MAX_LENGTH, "not " * 250, "count(g," * 125):
        with pytest.raises(RuleError) as caught:
            parse(source)
        assert caught.value.message_id == "rule.too_deep"


def test_non_string_source_is_a_rule_error() -> None:
    with pytest.raises(RuleError) as caught:
        parse(True)  # type: ignore[arg-type]
    assert caught.value.params == {"column": 1, "expected": "a rule", "found": "bool"}


def test_unknown_function() -> None:
    with pytest.raises(RuleError) as caught:
        parse("a and nenrei(b) > 3")
    assert caught.value.message_id == "rule.unknown_function"
    assert caught.value.params == {"name": "nenrei", "column": 7}


@pytest.mark.parametrize(
    ("source", "column", "expected"),
    [
        ("age()", 1, "1 or 2 arguments"),
        ("age(a, b, c)", 1, "1 or 2 arguments"),
        ("x and any(g)", 7, "2 arguments"),
        ("all(g, a, b)", 1, "2 arguments"),
        ("answered(a, b)", 1, "1 argument"),
        ("count()", 1, "1 or 2 arguments"),
        ("age('2000-01-01')", 5, "an item id"),
        ("age(a, '2020-01-01')", 8, "an item id"),
        ("count([1, 2])", 7, "an item id"),
        ("unknown(1)", 9, "an item id"),
    ],
)
def test_arity_and_item_arguments(source: str, column: int, expected: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse(source)
    assert caught.value.message_id == "rule.arity"
    assert caught.value.params["column"] == column
    assert caught.value.params["expected"] == expected
    assert caught.value.params["name"] == source.split("(")[0].split()[-1]


def test_functions_table() -> None:
    assert dict(FUNCTIONS) == {
        "age": (1, 2), "count": (1, 2), "any": (2, 2), "all": (2, 2),
        "answered": (1, 1), "unknown": (1, 1),
    }


# --- evaluation: operators and None ------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        ("a == 1", {"a": 1}, True),
        ("a == 1.0", {"a": 1}, True),
        ("a == 'x'", {"a": "x"}, True),
        ("a == true", {"a": True}, True),
        ("a == 1", {"a": True}, False),
        ("a != 1", {"a": True}, True),
        ("a == '1'", {"a": 1}, False),
        ("a != 2", {"a": 1}, True),
        ("a != 1", {"a": 1}, False),
        ("a < 3", {"a": 2}, True),
        ("a < 2", {"a": 2}, False),
        ("a <= 2", {"a": 2}, True),
        ("a > 1.5", {"a": 2}, True),
        ("a >= 3", {"a": 2}, False),
        ("a < 'b'", {"a": "a"}, True),
        ("a >= '2020-04-01'", {"a": "2021-01-01"}, True),
        ("a < 3", {"a": "2"}, False),
        ("a > 3", {"a": "x"}, False),
        ("a <= 3", {"a": "x"}, False),
        ("a > 0", {"a": True}, False),
        ("a < 1", {"a": False}, False),
        ("a == [1, 'x']", {"a": [1, "x"]}, True),
        ("a == [1]", {"a": [True]}, False),
        ("a in [1, 2]", {"a": 2}, True),
        ("a in [1, 2]", {"a": 3}, False),
        ("a in [1, 2]", {"a": True}, False),
        ("a not in [1, 2]", {"a": 3}, True),
        ("'kokuho' in a", {"a": ["kokuho", "nenkin"]}, True),
        ("'jidou' in a", {"a": ["kokuho", "nenkin"]}, False),
        ("'jidou' not in a", {"a": ["kokuho"]}, True),
        ("'市' in a", {"a": "架空市"}, True),
        ("'町' in a", {"a": "架空市"}, False),
        ("1 in a", {"a": "123"}, False),
        ("1 not in a", {"a": "123"}, True),
        ("'a' in a", {"a": 5}, False),
        ("'a' in a", {"a": {"a": 1}}, False),
        ("a and b", {"a": 1, "b": "x"}, True),
        ("a and b", {"a": 1, "b": ""}, False),
        ("a or b", {"a": 0, "b": []}, False),
        ("a or b", {"a": 0, "b": [0]}, True),
        ("not a", {"a": 0.0}, True),
        ("a", {"a": {}}, False),
        ("a", {"a": {"x": 1}}, True),
        ("true", {}, True),
        ("false or 0 or '' or []", {}, False),
        ("a == b", {"a": {"k": [1]}, "b": {"k": [1.0]}}, True),
        ("a == b", {"a": {"k": 1}, "b": {"j": 1}}, False),
    ],
)
def test_operators(source: str, answers: dict[str, Any], expected: bool) -> None:
    assert run(source, answers) is expected


@pytest.mark.parametrize(
    "source",
    ["a == 1", "a != 1", "a < 1", "a <= 1", "a > 1", "a >= 1", "a == a", "a != a",
     "a in [1]", "a not in [1]", "1 in a", "1 not in a", "'x' in a", "'x' not in a",
     "a", "a == true"],
)
def test_none_never_satisfies_a_comparison(source: str) -> None:
    assert run(source, {}) is False
    assert run(source, {"a": None}) is False
    assert run(source, {"a": dict(UNKNOWN_ANSWER)}) is False


def test_none_in_a_list_literal_is_just_an_element() -> None:
    assert run("[a] != [1]", {}) is True
    assert run("1 in [a, 1]", {}) is True


# --- evaluation: functions ---------------------------------------------------------------------


def test_age_at_the_birthday_boundary() -> None:
    answers = {"seinengappi": "2000-03-02"}
    assert run("age(seinengappi) == 14", answers, today=D(2015, 3, 1))
    assert run("age(seinengappi) == 15", answers, today=D(2015, 3, 2))
    at = {**answers, "kijunbi": "2015-03-01"}
    assert run("age(seinengappi, kijunbi) == 14", at)
    assert run("age(seinengappi, kijunbi) == 15", {**at, "kijunbi": "2015-03-02"})


def test_age_on_the_day_of_birth_and_leap_day() -> None:
    assert run("age(b) == 0", {"b": "2024-04-01"})
    assert run("age(b) == 3", {"b": "2020-02-29"}, today=D(2024, 2, 28))
    assert run("age(b) == 4", {"b": "2020-02-29"}, today=D(2024, 2, 29))


@pytest.mark.parametrize(
    "birth",
    [None, dict(UNKNOWN_ANSWER), "2000-13-01", "2000-02-30", "2000/01/01", "20000101",
     "２０００-０１-０１", "", 2000, True, ["2000-01-01"], "2025-01-01"],
)
def test_age_of_a_missing_unknown_or_bad_date_is_none(birth: object) -> None:
    answers = {"b": birth}
    assert run("age(b) >= 0 or age(b) < 0 or age(b) == 0", answers) is False
    assert run("not age(b)", answers) is True


def test_age_accepts_date_objects_and_datetime_today() -> None:
    scope = MappingScope({"b": D(2000, 1, 1)}, datetime.datetime(2024, 1, 1, 9, 30))
    assert evaluate(parse("age(b) == 24"), scope)


KODOMO = [
    {"seinengappi": "2020-05-05", "shimei": "架空 一郎"},
    {"seinengappi": "2001-01-01", "shimei": "架空 二郎"},
    {"seinengappi": dict(UNKNOWN_ANSWER)},
]


def test_count_with_a_predicate_over_group_members() -> None:
    answers = {"x_kodomo": KODOMO, "seinengappi": "1980-01-01"}
    assert run("count(x_kodomo, age(seinengappi) < 15) > 0", answers)
    assert run("count(x_kodomo, age(seinengappi) < 15) == 1", answers)
    assert run("count(x_kodomo) == 3", answers)
    assert run("count(x_kodomo, unknown(seinengappi)) == 1", answers)
    assert not run("count(x_kodomo, age(seinengappi) < 15) > 0", {"x_kodomo": KODOMO[1:]})


def test_predicate_names_fall_back_to_the_visit() -> None:
    answers = {"x_kodomo": KODOMO, "setai": "tandoku"}
    assert run("count(x_kodomo, setai == 'tandoku') == 3", answers)
    # A member's own answer shadows the visit's, even an empty one.
    shadowed = {"x_kodomo": [{"setai": None}], "setai": "tandoku"}
    assert run("count(x_kodomo, setai == 'tandoku') == 0", shadowed)


def test_nested_groups() -> None:
    answers = {"g": [{"h": [{"n": 1}, {"n": 2}]}, {"h": []}]}
    assert run("count(g, any(h, n == 2)) == 1", answers)
    assert run("count(g, all(h, n > 0)) == 2", answers)


def test_any_and_all() -> None:
    answers = {"x_kodomo": KODOMO}
    assert run("any(x_kodomo, age(seinengappi) < 15)", answers)
    assert not run("all(x_kodomo, age(seinengappi) < 15)", answers)
    assert run("all(x_kodomo, answered(shimei) or unknown(seinengappi))", answers)
    assert run("all(x_kodomo, false)", {"x_kodomo": []})
    assert not run("any(x_kodomo, true)", {"x_kodomo": []})


@pytest.mark.parametrize("group", [None, dict(UNKNOWN_ANSWER), "x", 3, {"a": 1}, []])
def test_group_functions_on_a_missing_or_malformed_group(group: object) -> None:
    answers = {"g": group}
    assert run("count(g) == 0 and count(g, true) == 0", answers)
    assert run("not any(g, true) and all(g, false)", answers)


def test_group_members_that_are_not_mappings_see_only_the_visit() -> None:
    answers = {"g": [1, "x", None, {"a": 1}], "a": 2}
    assert run("count(g) == 4", answers)
    assert run("count(g, a == 2) == 3", answers)


def test_answered_and_unknown() -> None:
    unknown = {"a": dict(UNKNOWN_ANSWER)}
    assert run("unknown(a) and not answered(a)", unknown)
    assert run("answered(a) and not unknown(a)", {"a": "hai"})
    assert run("answered(a)", {"a": False})
    assert run("not answered(a) and not unknown(a)", {})
    assert run("not unknown(a)", {"a": {"unknown": 1}})
    assert run("not unknown(a)", {"a": {"unknown": True, "x": 1}})


def test_unknown_marker() -> None:
    assert UNKNOWN_ANSWER == {"unknown": True}
    assert is_unknown({"unknown": True})
    assert not is_unknown({"unknown": False})
    assert not is_unknown({"unknown": 1})
    assert not is_unknown(None)
    assert not is_unknown([{"unknown": True}])
    assert run("not a", {"a": dict(UNKNOWN_ANSWER)})


def test_truthiness() -> None:
    falsy: list[object] = [None, False, 0, 0.0, "", [], (), {}]
    truthy_values: list[object] = [True, 1, -1, 0.5, "0", [0], {"k": None}, D(2000, 1, 1)]
    assert [truthy(value) for value in falsy] == [False] * len(falsy)
    assert [truthy(value) for value in truthy_values] == [True] * len(truthy_values)


def test_mapping_scope_fallback() -> None:
    visit = MappingScope({"a": 1, "b": 2}, TODAY)
    member = MappingScope({"b": 3}, TODAY, parent=visit)
    assert (member.value("a"), member.value("b"), member.value("c")) == (1, 3, None)
    scope: Scope = member  # satisfies the protocol
    assert scope.today == TODAY


def test_evaluate_never_raises_on_hand_built_trees() -> None:
    scope = MappingScope({}, TODAY)
    for node in (Call("nenrei", (), 1), Call("age", (), 1), Call("count", (Number(1, 1),), 1)):
        assert evaluate(Rule("", node), scope) is False


def test_self_referencing_answers_do_not_exhaust_the_stack() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert run("a == b", {"a": loop, "b": loop}) is False
    assert run("a in b", {"a": loop, "b": [loop]}) is False


# --- static check ------------------------------------------------------------------------------

ITEM_TYPES = {
    "seinengappi": "date",
    "kijunbi": "date",
    "x_kodomo": "group",
    "kokuho": "yes_no",
    "shotoku": "number",
}
GROUPS = {"x_kodomo": ("kodomo_seinengappi", "kodomo_shimei")}


def problems(source: str) -> list[RuleProblem]:
    return check(parse(source), item_types=ITEM_TYPES, group_members=GROUPS)


def test_check_accepts_a_good_rule() -> None:
    assert problems(
        "age(seinengappi, kijunbi) >= 65 and kokuho"
        " or count(x_kodomo, age(kodomo_seinengappi) < 15 and shotoku < 100) > 0"
    ) == []


def test_check_unknown_items() -> None:
    assert problems("kokuho and nashi or count(x_kodomo, kodomo_shimei == mada)") == [
        RuleProblem("rule.unknown_item", {"name": "nashi", "column": 12}),
        RuleProblem("rule.unknown_item", {"name": "mada", "column": 54}),
    ]


def test_check_group_members_are_only_known_inside_their_predicate() -> None:
    assert problems("kodomo_shimei == 'x'") == [
        RuleProblem("rule.unknown_item", {"name": "kodomo_shimei", "column": 1})
    ]


def test_check_wrong_types() -> None:
    assert problems("age(kokuho) > 1 or count(seinengappi) > 0 or any(shotoku, true)") == [
        RuleProblem("rule.wrong_type", {"name": "kokuho", "column": 5, "expected": "date"}),
        RuleProblem("rule.wrong_type", {"name": "seinengappi", "column": 26,
                                        "expected": "group"}),
        RuleProblem("rule.wrong_type", {"name": "shotoku", "column": 50, "expected": "group"}),
    ]


def test_check_does_not_report_a_type_for_an_unknown_item() -> None:
    assert problems("age(nashi) > 1") == [
        RuleProblem("rule.unknown_item", {"name": "nashi", "column": 5})
    ]


def test_check_reports_function_problems_in_hand_built_trees() -> None:
    rule = Rule("", And((Call("nenrei", (Name("nashi", 8),), 1),
                         Call("age", (Number(1, 20), Name("kijunbi", 23), Name("a", 30)), 16)), 1))
    assert check(rule, item_types=ITEM_TYPES, group_members=GROUPS) == [
        RuleProblem("rule.unknown_function", {"name": "nenrei", "column": 1}),
        RuleProblem("rule.unknown_item", {"name": "nashi", "column": 8}),
        RuleProblem("rule.arity", {"name": "age", "column": 16, "expected": "1 or 2 arguments"}),
        RuleProblem("rule.arity", {"name": "age", "column": 20, "expected": "an item id"}),
        RuleProblem("rule.unknown_item", {"name": "a", "column": 30}),
    ]


# --- fuzzing -----------------------------------------------------------------------------------

PROBLEM_IDS = {"rule.syntax", "rule.too_long", "rule.too_deep", "rule.unknown_function",
               "rule.arity"}


def parse_or_rule_error(source: str) -> Rule | None:
    """Parse, insisting that failure is a well-formed RuleError and nothing else."""
    try:
        rule = parse(source)
    except RuleError as error:
        assert error.message_id in PROBLEM_IDS
        if "column" in error.params:
            assert 1 <= error.params["column"] <= len(source) + 1
        if error.message_id == "rule.syntax":
            assert isinstance(error.params["expected"], str)
            assert isinstance(error.params["found"], str)
            assert len(error.params["found"]) <= 20
        return None
    assert isinstance(rule, Rule)
    assert rule.source == source
    return rule


TOKENS = [
    "a", "b", "x_kodomo", "seinengappi", "_9", "age", "count", "any", "all", "answered",
    "unknown", "nenrei", "and", "or", "not", "in", "true", "false", "==", "!=", "<", "<=",
    ">", ">=", "=", "!", "(", ")", "[", "]", ",", "0", "12", "3.5", "1.", ".", "'s'", '"t"',
    "'", '"', "'日本'", "あ", "５", "\u3000", "\t", "\n", "#", "-", "+", "*", "/", "\\", "\x00",
]
SEPARATORS = ["", "", " ", "\u3000"]
glued = st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(SEPARATORS)),
                 max_size=40).map(lambda parts: "".join(t + s for t, s in parts))

NAMES = ["a", "b", "g", "seinengappi", "x_kodomo"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4)
    | st.sampled_from(["2000-03-02", "2015-03-01", "1999-02-29", "x", ""])
    | st.just(dict(UNKNOWN_ANSWER)),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=2), inner, max_size=3),
    max_leaves=8,
)
answers_strategy = st.dictionaries(st.sampled_from(NAMES), json_values, max_size=5)
dates = st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31))


def scope_for(answers: dict[str, Any], today: D) -> Scope:
    return MappingScope(answers, today)


@FUZZ
@given(st.text())
def test_fuzz_any_text_parses_or_raises_rule_error(source: str) -> None:
    parse_or_rule_error(source)


# Hypothesis is slow at drawing long strings directly; a repeated short pattern is cheap and
# still reaches the length and depth limits.
long_texts = st.tuples(
    st.text(alphabet=st.sampled_from("()[]not a,'\u3000"), min_size=1, max_size=12),
    st.integers(min_value=900, max_value=1100),
).map(lambda t: (t[0] * 1100)[: t[1]])


@settings(max_examples=500, deadline=None, database=None)
@given(long_texts)
def test_fuzz_long_text_parses_or_raises_rule_error(source: str) -> None:
    parse_or_rule_error(source)


GLUED_SCOPE = MappingScope(
    {"a": "2000-03-02", "b": dict(UNKNOWN_ANSWER), "x_kodomo": KODOMO, "seinengappi": 3},
    TODAY,
)


@FUZZ
@given(glued)
def test_fuzz_glued_tokens_parse_or_raise_rule_error(source: str) -> None:
    rule = parse_or_rule_error(source)
    if rule is not None:
        assert isinstance(evaluate(rule, GLUED_SCOPE), bool)
        check(rule, item_types={"a": "date", "g": "group"}, group_members={"g": ("b",)})


leaf = (
    st.sampled_from(NAMES)
    | st.integers(min_value=0, max_value=10**6).map(str)
    | st.tuples(st.integers(0, 99), st.integers(0, 99)).map(lambda p: f"{p[0]}.{p[1]}")
    | st.text(alphabet=st.characters(blacklist_characters="'"), max_size=4).map(
        lambda s: f"'{s}'")
    | st.sampled_from(["true", "false", "[]"])
)
operators = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"])
names = st.sampled_from(NAMES)


def _compound(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    # Every compound is an atom or wrapped in parentheses, so it can stand where an operand goes.
    return st.one_of(
        st.tuples(inner, operators, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({' '.join(t)})"),
        inner.map(lambda s: f"(not {s})"),
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        names.map(lambda n: f"age({n})"),
        st.tuples(names, names).map(lambda t: f"age({t[0]}, {t[1]})"),
        names.map(lambda n: f"count({n})"),
        st.tuples(st.sampled_from(["count", "any", "all"]), names, inner).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(st.sampled_from(["answered", "unknown"]), names).map(
            lambda t: f"{t[0]}({t[1]})"),
    )


valid_rules = st.recursive(leaf, _compound, max_leaves=12)


@FUZZ
@given(valid_rules, answers_strategy, dates)
def test_fuzz_evaluation_never_raises(source: str, answers: dict[str, Any], today: D) -> None:
    try:
        rule = parse(source)
    except RuleError as error:
        # The generator has no depth bound of its own; anything else is a generator bug.
        assert error.message_id in {"rule.too_deep", "rule.too_long"}
        return
    assert isinstance(evaluate(rule, scope_for(answers, today)), bool)
    for problem in check(rule, item_types={"a": "date", "g": "group"},
                         group_members={"g": ("b",)}):
        assert problem.message_id in {"rule.unknown_item", "rule.wrong_type"}
