"""Task identity as tasker-core computes it, and requested_at as its NaiveDateTime reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from stack.engine.orchestration.identity import MissingIdempotencyKey, identity_hash
from stack.engine.orchestration.requests import InvalidRequest, parse_task_request
from tests.task_request_strategies import VALID

LINEAR = UUID("0195b6a4-0000-7000-8000-000000000001")
DIAMOND = UUID("0195b6a4-0000-7000-8000-000000000002")


def test_strict_identity_is_the_named_task_and_the_context_in_any_key_order() -> None:
    first = identity_hash("strict", LINEAR, {"a": 1, "b": {"x": [1, 2], "y": None}}, None)
    assert first == identity_hash("strict", LINEAR, {"b": {"y": None, "x": [1, 2]}, "a": 1}, None)
    assert first != identity_hash("strict", LINEAR, {"a": 1, "b": {"x": [2, 1], "y": None}}, None)
    assert first != identity_hash("strict", DIAMOND, {"a": 1, "b": {"x": [1, 2], "y": None}}, None)
    assert len(first) <= 128  # tasks.identity_hash is varchar(128)


def test_an_idempotency_key_is_the_identity_whatever_the_strategy_and_context() -> None:
    keyed = {identity_hash(strategy, LINEAR, {"n": n}, "order-42")
             for strategy in ("strict", "caller_provided", "always_unique") for n in range(3)}
    assert len(keyed) == 1
    assert keyed != {identity_hash("strict", DIAMOND, {}, "order-42")}
    assert identity_hash("strict", LINEAR, {}, "") != identity_hash("strict", LINEAR, {}, None)


def test_caller_provided_needs_a_key() -> None:
    with pytest.raises(MissingIdempotencyKey, match="idempotency_key: required"):
        identity_hash("caller_provided", LINEAR, {"n": 1}, None)


def test_always_unique_is_a_new_identity_every_time() -> None:
    hashes = {identity_hash("always_unique", LINEAR, {"n": 1}, None) for _ in range(10)}
    assert len(hashes) == 10


@pytest.mark.parametrize("stamp", ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00",
                                   "2026-01-01T00:00:00.123456-05:00"])
def test_a_requested_at_with_an_offset_is_a_422_naming_the_field(stamp: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_task_request({**VALID, "requested_at": stamp})
    assert (caught.value.field, caught.value.status) == ("requested_at", 422)
    assert "naive UTC" in str(caught.value)


def test_a_naive_requested_at_is_utc_and_an_absent_one_is_now() -> None:
    parsed = parse_task_request({**VALID, "requested_at": "2026-01-01T00:00:00.123456"})
    assert parsed.requested_at == datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    body = {key: value for key, value in VALID.items() if key != "requested_at"}
    now = parse_task_request(body).requested_at
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_an_unparseable_requested_at_stays_a_400() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_task_request({**VALID, "requested_at": "yesterday"})
    assert (caught.value.field, caught.value.status) == ("requested_at", 400)
