"""The TaskRequest body every driver sends passes tasker-core's rules: the contract's schema,
a naive UTC requested_at (chrono's NaiveDateTime) and a new strict identity on every call."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from jsonschema import Draft202012Validator

from instrument.workload.tasker_client import REQUEST_ID_KEY, naive_utc_now, task_request
from stack.engine.orchestration.identity import identity_hash
from stack.engine.orchestration.openapi import document
from stack.engine.orchestration.requests import parse_task_request
from tests.contracts import ORCHESTRATION_OPENAPI

NAIVE_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
"""chrono's NaiveDateTime in serde (`%Y-%m-%dT%H:%M:%S%.f`): no offset, no `Z`."""
USER_CONTEXT = {"even_number": 6, "nested": {"b": 2, "a": [1, 2]}}


def _task_request_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """TaskRequest as a standalone JSON Schema (it holds no $ref). Its `format: date-time` is
    an annotation: RFC 3339 wants an offset that tasker-core's NaiveDateTime refuses."""
    return openapi["components"]["schemas"]["TaskRequest"]


def _contract() -> dict[str, Any]:
    if not ORCHESTRATION_OPENAPI.exists():
        pytest.skip(f"tasker's contract not at {ORCHESTRATION_OPENAPI}")
    return json.loads(ORCHESTRATION_OPENAPI.read_text())


def _body() -> dict[str, Any]:
    """The body as it travels: through JSON, as httpx sends it."""
    return json.loads(json.dumps(task_request("diamond_4", "diamond_workflow", USER_CONTEXT)))


def test_the_body_conforms_to_the_contracts_task_request() -> None:
    body = _body()
    Draft202012Validator(_task_request_schema(_contract())).validate(body)
    Draft202012Validator(_task_request_schema(document())).validate(body)


def test_a_body_missing_a_required_field_would_not_conform() -> None:
    body = _body()
    del body["initiator"]
    assert not Draft202012Validator(_task_request_schema(document())).is_valid(body)


def test_requested_at_is_naive_utc_to_the_microsecond() -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    requested_at = _body()["requested_at"]
    after = datetime.now(UTC).replace(tzinfo=None)
    assert NAIVE_DATETIME.match(requested_at), requested_at
    parsed = datetime.strptime(requested_at, "%Y-%m-%dT%H:%M:%S.%f")
    assert parsed.tzinfo is None
    assert before <= parsed <= after


def test_naive_utc_now_keeps_microseconds_even_when_they_are_zero() -> None:
    for _ in range(50):
        assert NAIVE_DATETIME.match(naive_utc_now())


def test_every_call_is_a_new_identity_keeping_the_users_context() -> None:
    bodies = [_body() for _ in range(20)]
    keys = [body["context"][REQUEST_ID_KEY] for body in bodies]
    assert len(set(keys)) == len(keys)
    assert all(UUID(hex=key).version == 4 and key == UUID(hex=key).hex for key in keys)
    for body in bodies:
        context = dict(body["context"])
        del context[REQUEST_ID_KEY]
        assert context == USER_CONTEXT
    named_task = UUID("0195b6a4-0000-7000-8000-000000000000")
    hashes = {identity_hash("strict", named_task, body["context"], None) for body in bodies}
    assert len(hashes) == len(bodies)


def test_the_users_context_is_not_changed() -> None:
    context = {"even_number": 6}
    task_request("linear_3", "linear_workflow", context)
    assert context == {"even_number": 6}


def test_the_reference_stack_accepts_the_body() -> None:
    body = _body()
    parsed = parse_task_request(body)
    assert parsed.context == body["context"]
    assert parsed.requested_at.utcoffset() == timedelta(0)
    assert parsed.requested_at.replace(tzinfo=None) == datetime.fromisoformat(
        body["requested_at"])
