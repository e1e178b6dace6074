"""Hypothesis strategies for TaskRequest bodies: a valid request with hostile fields mixed in."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

VALID: dict[str, Any] = {
    "name": "single_noop", "namespace": "single_step", "version": "1.0.0",
    "context": {"even_number": 6}, "initiator": "hypothesis", "source_system": "tests",
    "reason": "hostile input", "tags": [], "requested_at": "2026-01-01T00:00:00.123456",
}

odd_texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "\udfff x", "é" * 129, "x" * 129,
                     "x" * 10_000, "'; DROP TABLE tasker.tasks; --", "\U0010ffff", "\u2028"]),
)
odd_numbers = st.one_of(
    st.integers(), st.sampled_from([2**31, -(2**31) - 1, 2**63, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
)
odd_timestamps = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-14:00",
                     "2026-02-30T00:00:00Z", "2026-01-01", "2026-01-01T25:00:00Z",
                     "2026-01-01T00:00:00+24:00", "nope", "2026-01-01T00:00:00\x00Z"]),
)
odd_uuids = st.one_of(
    st.uuids().map(str), st.text(max_size=40),
    st.sampled_from(["{12345678-1234-5678-1234-567812345678}",
                     "urn:uuid:12345678-1234-5678-1234-567812345678",
                     "00000000-0000-0000-0000-000000000000", "12345678123456781234567812345678"]),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), odd_numbers, odd_texts),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(odd_texts, children, max_size=3)
    ),
    max_leaves=10,
)

FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "name": odd_texts | json_values,
    "namespace": odd_texts | json_values,
    "version": odd_texts | json_values,
    "initiator": odd_texts | json_values,
    "source_system": odd_texts | json_values,
    "reason": odd_texts | json_values,
    "context": json_values | st.dictionaries(odd_texts, json_values, max_size=4),
    "tags": json_values | st.lists(odd_texts, max_size=4),
    "requested_at": odd_timestamps | json_values,
    "correlation_id": odd_uuids | json_values,
    "parent_correlation_id": odd_uuids | json_values,
    "priority": odd_numbers | json_values,
    "idempotency_key": odd_texts | json_values,
}


@st.composite
def task_request_bodies(draw: st.DrawFn) -> bytes:
    """A JSON body: the valid request with some fields replaced, dropped or added."""
    body: dict[str, Any] = dict(VALID)
    fields = st.lists(st.sampled_from(sorted(FIELD_VALUES)), min_size=1, max_size=3, unique=True)
    for field in draw(fields):
        if draw(st.integers(0, 4)):
            body[field] = draw(FIELD_VALUES[field])
        else:
            body.pop(field, None)
    if draw(st.booleans()):
        body[draw(st.text(max_size=8))] = draw(json_values)
    return json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass")


raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([
        b"", b"null", b"[]", b"\"x\"", b"1e999", b"{" * 100_000, b"[" * 50_000 + b"]" * 50_000,
        b"{\"name\": \"\xff\xfe\"}", b"\xef\xbb\xbf{}", b"x" * (1024 * 1024 + 1),
    ]),
    json_values.map(lambda value: json.dumps(value).encode("utf-8", "surrogatepass")),
)
