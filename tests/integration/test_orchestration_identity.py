"""The reference stack refuses what tasker-core refuses, so drivers are tested against the same
rules: a requested_at with an offset is a 422, a repeated strict identity a 409; the drivers'
own requests (naive UTC, a unique key in the context) are accepted however often repeated."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from instrument.workload.tasker_client import REQUEST_ID_KEY, TaskerClient, task_request
from stack.engine.orchestration.identity import DUPLICATE_MESSAGE
from tests.stack_harness import RunningStack, running_stack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(module_db, tmp_path_factory.mktemp("identity-logs"),
                       orchestrators=2) as running:
        yield running


def _fixed_body(context: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A body whose identity is only what it says: no unique key added."""
    body = {"name": "single_noop", "namespace": "single_step", "version": "1.0.0",
            "context": context, "initiator": "pytest", "source_system": "spanbench-tests",
            "reason": "identity", "tags": [], "requested_at": "2026-01-01T00:00:00.123456"}
    body.update(fields)
    return body


def _task_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM tasker.tasks").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("stamp", ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123456+00:00",
                                   "2026-01-01T02:00:00+02:00"])
def test_a_requested_at_with_an_offset_is_a_422_and_writes_nothing(
        stack: RunningStack, module_db: str, stamp: str) -> None:
    before = _task_count(module_db)
    body = _fixed_body({"even_number": 6, "case": uuid4().hex}, requested_at=stamp)
    response = stack.client.post("/v1/tasks", json=body)
    assert response.status_code == 422, response.text
    message = response.json()["BadRequest"]["message"]
    assert message.startswith("requested_at:") and "naive UTC" in message
    assert _task_count(module_db) == before


def test_a_repeated_strict_identity_is_a_409_and_writes_nothing(
        stack: RunningStack, module_db: str) -> None:
    context = {"even_number": 6, "case": uuid4().hex}
    first = stack.client.post("/v1/tasks", json=_fixed_body(context))
    assert first.status_code == 201, first.text
    before = _task_count(module_db)
    # the same template and context; key order, metadata and timestamp do not matter
    again = _fixed_body(dict(reversed(list(context.items()))), initiator="someone else",
                        reason="again", tags=["x"], correlation_id=str(uuid4()))
    del again["requested_at"]
    second = stack.client.post("/v1/tasks", json=again)
    assert second.status_code == 409, second.text
    assert second.json() == {"Conflict": {"message": DUPLICATE_MESSAGE}}
    assert _task_count(module_db) == before
    other_template = stack.client.post("/v1/tasks",
                                       json=_fixed_body(context, name="single_sleep_ms"))
    assert other_template.status_code == 201, other_template.text


def test_simultaneous_duplicates_create_one_task(stack: RunningStack) -> None:
    body = _fixed_body({"even_number": 6, "case": uuid4().hex})
    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: stack.client.post("/v1/tasks", json=body).status_code,
                                   range(8)))
    assert statuses == [201] + [409] * 7


def test_an_idempotency_key_is_the_identity_instead_of_the_context(stack: RunningStack) -> None:
    key = f"order-{uuid4().hex}"
    first = stack.client.post("/v1/tasks", json=_fixed_body({"even_number": 6, "n": 1},
                                                            idempotency_key=key))
    assert first.status_code == 201, first.text
    other_context = stack.client.post("/v1/tasks", json=_fixed_body({"even_number": 6, "n": 2},
                                                                    idempotency_key=key))
    assert other_context.status_code == 409, other_context.text
    other_key = stack.client.post("/v1/tasks", json=_fixed_body({"even_number": 6, "n": 1},
                                                                idempotency_key=f"{key}-2"))
    assert other_key.status_code == 201, other_key.text


def test_the_drivers_requests_repeat_the_same_context_and_run(stack: RunningStack) -> None:
    with TaskerClient(stack.orchestration.url) as client:
        bodies = [task_request("linear_3", "linear_workflow", {"even_number": 6})
                  for _ in range(3)]
        tasks = [client.create_task(body) for body in bodies]
        assert len({task["task_uuid"] for task in tasks}) == 3
        for task in tasks:
            final = stack.wait_final(task["task_uuid"])
            assert final["execution_status"] == "all_complete"
            assert final["context"]["even_number"] == 6
            assert final["context"][REQUEST_ID_KEY]
        steps = stack.steps(tasks[0]["task_uuid"])
        assert steps["linear_step_3"]["results"]["result"] == 6 ** 8


def test_registered_templates_record_their_identity_strategy(
        stack: RunningStack, module_db: str) -> None:
    assert stack.create("linear_3", "linear_workflow").status_code == 201
    with psycopg.connect(module_db) as conn:
        rows = conn.execute("SELECT DISTINCT identity_strategy::text FROM tasker.named_tasks"
                            ).fetchall()
    assert rows == [("strict",)]
