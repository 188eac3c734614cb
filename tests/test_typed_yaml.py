"""sciml.typed_yaml: YAML values converted to annotations (shared by setups and train configs)."""

from typing import Any

import pytest
import yaml

from sciml.typed_yaml import convert, describe, describe_value, inline, load_yaml, loose, members


def test_load_yaml_reads_only_true_and_false_as_booleans():
    assert load_yaml("true") is True and load_yaml("False") is False
    for word in ("yes", "no", "on", "off", "y", "n"):
        assert load_yaml(word) == word  # yaml.safe_load reads most of these as booleans
    assert load_yaml("{a: yes, b: [on, 1, 2.5, null]}") == {"a": "yes", "b": ["on", 1, 2.5, None]}
    assert load_yaml("1e-3") == "1e-3"  # YAML 1.1: no dot, no float
    with pytest.raises(yaml.YAMLError):
        load_yaml("[1,")


@pytest.mark.parametrize(
    "value, tp, want",
    [
        (True, bool, True),
        (3, int, 3),
        (3, float, 3.0),
        ("1e-3", float, 1e-3),
        (" 2.5E+2 ", float, 250.0),
        ("abc", str, "abc"),
        (None, type(None), None),
        ([1, 2], tuple[int, ...], (1, 2)),
        ([[1], []], tuple[tuple[int, ...], ...], ((1,), ())),
        ([1, "a"], tuple[int, str], (1, "a")),
        ([1, "1e-3"], tuple, (1, 1e-3)),
        ({"nu": "1e-3"}, dict[str, float], {"nu": 1e-3}),
        ({"a": [1, {"b": "2e3"}]}, dict[str, Any], {"a": [1, {"b": 2e3}]}),
        ({"a": 1}, dict, {"a": 1}),
        (None, int | None, None),
        (4, int | None, 4),
        ("x", int | str, "x"),
        ("1e-3", Any, 1e-3),
        ("yes", Any, "yes"),
    ],
)  # fmt: skip
def test_convert_each_annotation_kind(value, tp, want):
    got = convert(value, tp)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize(
    "value, tp, message",
    [
        (1, bool, "expected true or false, found 1"),
        ("yes", bool, "expected true or false, found 'yes'"),
        (True, int, "expected an integer, found True"),
        (2.5, int, "expected an integer, found 2.5"),
        ("abc", float, "expected a float, found 'abc'"),
        (None, float, "expected a float, found null"),
        (3, str, "expected a string, found 3"),
        ([1, 2.5], tuple[int, ...], "expected a list of integers, found [1, 2.5]"),
        ([1], tuple[int, str], "expected a list of 2 items, found [1]"),
        ({"a": "x"}, dict[str, float], "expected a mapping, found {'a': 'x'}"),
        ("many", int | None, "expected an integer or null, found 'many'"),
    ],
)  # fmt: skip
def test_convert_refuses_with_expected_and_found(value, tp, message):
    with pytest.raises(ValueError) as err:
        convert(value, tp)
    assert str(err.value) == message


def test_convert_has_no_converter_for_other_types():
    with pytest.raises(TypeError, match="no converter"):
        convert(1, complex)


def test_describe_members_and_describe_value():
    assert describe(tuple[tuple[int, ...], ...]) == "a list of lists of integers"
    assert describe(float | None) == "a float or null" and describe(Any) == "any value"
    assert describe(dict[str, int]) == "a mapping" and describe(bool) == "true or false"
    assert members(int | None) == (int, type(None)) and members(int) == (int,)
    assert describe_value(None) == "null" and describe_value("a") == "'a'"


def test_loose_turns_exponent_text_into_floats_only():
    assert loose("1e-3") == 1e-3 and loose("-2.5E4") == -2.5e4
    assert loose(["1e3", {"a": "3e0", "b": "x"}]) == [1e3, {"a": 3.0, "b": "x"}]
    for kept in ("abc", "1.5", "12", "e3", 7, None, True):
        assert loose(kept) == kept and type(loose(kept)) is type(kept)


@pytest.mark.parametrize(
    "value",
    [
        None, True, False, 0, -3, 0.1, 2.5e-7, "text", "yes", "true", "1", "null", "", "a: b",
        "it's", [1, 2.5, "x"], {"nu": 0.5, "names": ["a", "b"], "flag": False}, [[1, 2], []],
    ],
)  # fmt: skip
def test_inline_is_one_line_that_load_yaml_reads_back(value):
    text = inline(value)
    assert "\n" not in text
    back = load_yaml(text)
    if isinstance(value, float):  # YAML 1.1 reads repr's 2.5e-07 as text: convert takes it
        back = convert(back, float)
    assert back == value and type(back) is type(value)
    assert inline((1, 2)) == "[1, 2]" and load_yaml(inline((1, 2))) == [1, 2]
