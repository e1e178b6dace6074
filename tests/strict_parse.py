"""What a strict JSON reader accepts, and values that try it: JSON-ish Python values with
non-finite floats, integers past 2^53 and int64, lone surrogates and deep nesting."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import strategies as st

SURROGATES = range(0xD800, 0xE000)


def _refuse(word: str) -> Any:
    raise ValueError(f"{word} is not JSON")


def strict_loads(data: str | bytes) -> Any:
    """Parse as a strict parser does: UTF-8 bytes (a lone surrogate is no character), no
    NaN/Infinity words, and no escaped lone surrogate (serde_json and others refuse those)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    text.encode("utf-8")
    document = json.loads(text, parse_constant=_refuse)
    _check_strings(document)
    return document


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # an escaped lone surrogate decodes to one: refuse it
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


hostile_text = st.lists(st.one_of(st.characters(), st.sampled_from(SURROGATES).map(chr)),
                        max_size=8).map("".join)
"""Text that may hold lone surrogates, surrogate pairs spelt as two code points, and neither."""

hostile_floats = st.one_of(st.floats(), st.sampled_from([math.nan, math.inf, -math.inf]))
hostile_ints = st.one_of(st.integers(), st.integers(2**53, 2**70), st.integers(-(2**70), -(2**63)))

json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), hostile_ints, hostile_floats, hostile_text),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(hostile_text, children, max_size=3)),
    max_leaves=12,
)
"""Any value a writer might be handed: scalars of every JSON kind, nested lists and maps."""


def deep(levels: int, leaf: Any) -> Any:
    """`leaf` inside `levels` alternating lists and maps."""
    value = leaf
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


def expected_text(text: str) -> str:
    """What strict JSON can carry of `text`: a spelt surrogate pair joined, a lone one U+FFFD."""
    out, index = [], 0
    while index < len(text):
        code = ord(text[index])
        following = ord(text[index + 1]) if index + 1 < len(text) else 0
        if 0xD800 <= code < 0xDC00 and 0xDC00 <= following < 0xE000:
            out.append(chr(0x10000 + ((code - 0xD800) << 10) + (following - 0xDC00)))
            index += 2
            continue
        out.append("\ufffd" if code in SURROGATES else text[index])
        index += 1
    return "".join(out)


def expected_value(value: Any) -> Any:
    """What a strict JSON writer gives back of `value` when non-finite numbers become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return expected_text(value)
    if isinstance(value, dict):
        merged: dict[str, Any] = {}
        for key, item in value.items():
            merged[expected_text(key)] = expected_value(item)
        return merged
    if isinstance(value, list | tuple):
        return [expected_value(item) for item in value]
    return value
