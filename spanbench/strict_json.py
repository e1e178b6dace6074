"""Strict JSON: every JSON text spanbench writes parses with any JSON parser.

Python's `json` writes NaN and ±Infinity as the bare words `NaN`/`Infinity`, which are not JSON,
and cannot encode a string holding a lone UTF-16 surrogate as UTF-8. `dumps` first makes the
value safe (`json_safe`), then encodes it with `allow_nan=False`, so a non-finite number that
slips past (through a `default` hook) raises instead of writing a file no parser reads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

NonFinite = Callable[[float], Any]
"""What a non-finite float becomes; the value must itself be JSON-safe."""

NON_FINITE_NAMES: Final = {math.inf: "Infinity", -math.inf: "-Infinity"}


def as_null(_: float) -> None:
    """Reports' rule: a non-finite number is written null, "no number available"."""
    return None


def as_name(number: float) -> str:
    """Protobuf's JSON rule (OTLP/JSON): "NaN", "Infinity" or "-Infinity" as a string."""
    return "NaN" if math.isnan(number) else NON_FINITE_NAMES[number]


def valid_text(text: str) -> str:
    """`text` as valid Unicode: surrogate pairs joined, a lone surrogate replaced by U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def json_safe(value: Any, non_finite: NonFinite = as_null) -> Any:
    """`value` with every non-finite float mapped by `non_finite` and every string (keys too)
    valid Unicode; tuples become lists. Other values are left for `json` to encode or refuse."""
    if isinstance(value, float):
        return value if math.isfinite(value) else non_finite(value)
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, Mapping):
        return {_key(key): json_safe(item, non_finite) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item, non_finite) for item in value]
    return value


def _key(key: Any) -> Any:
    return valid_text(key) if isinstance(key, str) else key


def dumps(value: Any, *, non_finite: NonFinite = as_null, **options: Any) -> str:
    """`json.dumps` of `json_safe(value)` that refuses, never writes, NaN or Infinity.
    `options` are `json.dumps`'s own (indent, separators, ensure_ascii, sort_keys, default)."""
    return json.dumps(json_safe(value, non_finite), allow_nan=False, **options)

