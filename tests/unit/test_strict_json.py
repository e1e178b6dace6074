"""spanbench.strict_json: what it writes every strict parser reads, and what it refuses."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spanbench import strict_json
from tests.strict_parse import deep, expected_value, json_like, strict_loads


@pytest.mark.parametrize(("number", "name"), [(math.nan, "NaN"), (math.inf, "Infinity"),
                                              (-math.inf, "-Infinity")])
def test_non_finite_numbers_become_null_or_their_protobuf_name(number: float, name: str) -> None:
    assert strict_json.dumps({"x": number}) == '{"x": null}'
    assert strict_json.dumps([number], non_finite=strict_json.as_name) == f'["{name}"]'


def test_finite_numbers_and_big_integers_are_written_unchanged() -> None:
    value = {"f": 0.1, "neg": -0.0, "big": 2**64 + 1, "small": -(2**70)}
    assert strict_loads(strict_json.dumps(value)) == value
    assert strict_json.dumps(2**53 + 1) == str(2**53 + 1)


def test_surrogates_become_valid_unicode() -> None:
    spelt_pair = "\ud83d\ude00"
    assert strict_json.valid_text(f"a{spelt_pair}b") == "a\U0001f600b"
    assert strict_json.valid_text("a\ud800b\udfff") == "a\ufffdb\ufffd"
    written = strict_json.dumps({"k\udc00": "v\ud800"}, ensure_ascii=False)
    assert strict_loads(written.encode("utf-8")) == {"k\ufffd": "v\ufffd"}


def test_a_nan_that_slips_past_the_sanitiser_fails_loudly() -> None:
    class Reading:
        pass

    with pytest.raises(ValueError, match="JSON compliant"):
        strict_json.dumps({"reading": Reading()}, default=lambda _: math.nan)


def test_tuples_become_lists_and_other_values_are_left_to_json() -> None:
    assert strict_json.json_safe((1, (math.inf,))) == [1, [None]]
    with pytest.raises(TypeError):
        strict_json.dumps({"when": object()})


@given(json_like, st.booleans(), st.sampled_from([None, 2]))
def test_anything_written_parses_strictly_and_round_trips(value: Any, ascii_only: bool,
                                                          indent: int | None) -> None:
    text = strict_json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    assert strict_loads(text.encode("utf-8")) == expected_value(value)


@given(st.integers(1, 300), st.sampled_from([math.nan, -math.inf, "\udfff", 2**64]))
def test_deep_nesting_is_written_strictly(levels: int, leaf: Any) -> None:
    text = strict_json.dumps(deep(levels, leaf), ensure_ascii=False)
    assert strict_loads(text.encode("utf-8")) == expected_value(deep(levels, leaf))
