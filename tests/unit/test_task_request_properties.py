"""TaskRequest parsing under hostile input: only InvalidRequest escapes, and what it accepts
the database can store (no NUL, no lone surrogate, no NaN, int32 priority, varchar(128))."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from hypothesis import given

from stack.engine.orchestration.requests import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    InvalidRequest,
    TaskRequest,
    decode_body,
    parse_task_request,
    read_body,
)
from tests.task_request_strategies import VALID, raw_bodies, task_request_bodies


def _parse(raw: bytes) -> TaskRequest | None:
    try:
        return parse_task_request(decode_body(raw))
    except InvalidRequest as error:
        assert error.field and str(error).startswith(f"{error.field}: ")
        assert 400 <= error.status < 500
        str(error).encode("utf-8")  # the message itself can be sent
        return None


def _storable(value: object) -> None:
    """What PostgreSQL text and jsonb can hold, as json.dumps(allow_nan=False) proves."""
    text = json.dumps(value, allow_nan=False)
    assert "\\u0000" not in text
    text.encode("utf-8")


@given(task_request_bodies() | raw_bodies)
def test_only_invalid_request_escapes_and_accepted_values_are_storable(raw: bytes) -> None:
    request = _parse(raw)
    if request is None:
        return
    for text in (request.name, request.namespace, request.version, request.initiator,
                 request.source_system, request.reason, request.idempotency_key or ""):
        _storable(text)
    _storable(request.context)
    _storable(request.tags)
    assert -(2**31) <= request.priority < 2**31
    assert max(map(len, (request.initiator, request.source_system, request.reason))) <= 128


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"initiator": "a\x00b"}, "initiator"),
        ({"reason": "\ud800"}, "reason"),
        ({"source_system": "x" * 129}, "source_system"),
        ({"priority": 2**31}, "priority"),
        ({"priority": -(2**31) - 1}, "priority"),
        ({"context": {"x": "\x00"}}, "context.x"),
        ({"context": {"\x00": 1}}, "context"),
        ({"tags": ["ok", "\x00"]}, "tags[1]"),
        ({"idempotency_key": "\x00"}, "idempotency_key"),
        ({"": {"\ud800": None}}, 'body[""]'),
        ({"context": {"a b": [1, "\x00"]}}, 'context["a b"][1]'),
    ],
)
def test_values_the_database_refuses_are_400s_naming_the_field(
    patch: dict[str, object], field: str
) -> None:
    raw = json.dumps({**VALID, **patch}).encode("utf-8", "surrogatepass")
    with pytest.raises(InvalidRequest) as caught:
        parse_task_request(decode_body(raw))
    assert (caught.value.field, caught.value.status) == (field, 400)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused(constant: str) -> None:
    raw = json.dumps(VALID)[:-1].encode() + b', "context": {"x": ' + constant.encode() + b"}}"
    with pytest.raises(InvalidRequest, match=r"context\.x: number out of range|not valid JSON"):
        decode_body(raw)


def test_nesting_is_bounded() -> None:
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(InvalidRequest, match="nested deeper"):
        decode_body(f'{{"context": {deep}}}'.encode())
    with pytest.raises(InvalidRequest, match="nested deeper"):
        decode_body(b"[" * 100_000)


def test_a_body_over_the_limit_is_413() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield bytes(65536)

    with pytest.raises(InvalidRequest) as caught:
        asyncio.run(read_body(chunks()))
    assert caught.value.status == 413


def test_the_valid_request_parses() -> None:
    request = parse_task_request(decode_body(json.dumps(VALID).encode()))
    assert (request.namespace, request.name, request.context) == (
        "single_step", "single_noop", {"even_number": 6}
    )


@given(task_request_bodies() | raw_bodies.filter(lambda raw: len(raw) <= MAX_BODY_BYTES))
def test_memory_is_bounded_by_the_body(raw: bytes) -> None:
    tracemalloc.start()
    try:
        _parse(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * len(raw) + (1 << 20)
