"""The reference stack runs every template to the right answer, in dependency order, once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from stack.engine.templates import BUILTIN_TEMPLATES, TaskTemplate, chain, expected_results, fanout
from tests.stack_harness import RunningStack, running_stack

pytestmark = pytest.mark.stack

MATH_TEMPLATES = [t for t in BUILTIN_TEMPLATES
                  if t.name in ("linear_3", "linear_4", "diamond_4", "tree_7", "tree_8",
                                "complex_dag_7")] + [chain(10), fanout(10)]


@pytest.fixture(scope="module")
def stack(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    # tasker's cluster tier: two orchestrators compete for step results, two workers for steps.
    with running_stack(module_db, tmp_path_factory.mktemp("logs"), workers=2,
                       orchestrators=2) as running:
        yield running


def _run(stack: RunningStack, template: TaskTemplate, even_number: int = 6) -> str:
    response = stack.create(template.name, template.namespace, {"even_number": even_number})
    assert response.status_code == 201, response.text
    task_uuid = response.json()["task_uuid"]
    final = stack.wait_final(task_uuid)
    assert final["execution_status"] == "all_complete", final
    assert final["status"] == "complete"
    return task_uuid


@pytest.mark.parametrize("template", MATH_TEMPLATES, ids=lambda t: t.name)
def test_every_step_computes_the_closed_form_result(stack: RunningStack,
                                                    template: TaskTemplate) -> None:
    task_uuid = _run(stack, template, even_number=6)
    steps = stack.steps(task_uuid)
    expected = expected_results(template, 6)
    assert {name: step["results"]["result"] for name, step in steps.items()} == expected


def test_linear_4_ends_with_six_to_the_sixteenth(stack: RunningStack) -> None:
    template = next(t for t in BUILTIN_TEMPLATES if t.name == "linear_4")
    task_uuid = _run(stack, template)
    assert stack.steps(task_uuid)["linear_step_4"]["results"] == {"result": 2821109907456}


def test_no_step_starts_before_all_its_parents_complete(stack: RunningStack,
                                                        module_db: str) -> None:
    template = next(t for t in BUILTIN_TEMPLATES if t.name == "complex_dag_7")
    task_uuid = _run(stack, template)
    with psycopg.connect(module_db) as conn:
        violations = conn.execute(
            """
            SELECT e.from_step_uuid, e.to_step_uuid
            FROM tasker.workflow_step_edges e
            JOIN tasker.workflow_steps child ON child.workflow_step_uuid = e.to_step_uuid
            WHERE child.task_uuid = %s
              AND (SELECT min(created_at) FROM tasker.workflow_step_transitions
                   WHERE workflow_step_uuid = e.to_step_uuid
                     AND to_state IN ('enqueued', 'in_progress'))
                < (SELECT min(created_at) FROM tasker.workflow_step_transitions
                   WHERE workflow_step_uuid = e.from_step_uuid AND to_state = 'complete')
            """, (task_uuid,)).fetchall()
        edges = conn.execute(
            "SELECT count(*) FROM tasker.workflow_step_edges e JOIN tasker.workflow_steps s "
            "ON s.workflow_step_uuid = e.to_step_uuid WHERE s.task_uuid = %s",
            (task_uuid,)).fetchone()
    assert edges is not None and edges[0] == 9
    assert violations == []


def test_fifty_concurrent_tasks_complete_with_each_step_executed_once(
        stack: RunningStack, module_db: str) -> None:
    mix = [t for t in MATH_TEMPLATES if t.name != "tree_8"]
    requests = [mix[i % len(mix)] for i in range(50)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(
            lambda t: stack.create(t.name, t.namespace, {"even_number": 6}), requests))
    assert [r.status_code for r in responses] == [201] * 50
    task_uuids = [r.json()["task_uuid"] for r in responses]
    for task_uuid in task_uuids:
        assert stack.wait_final(task_uuid, timeout_s=60)["execution_status"] == "all_complete"
    with psycopg.connect(module_db) as conn:
        rows = conn.execute(
            """
            SELECT ws.workflow_step_uuid, ws.attempts,
                   count(*) FILTER (WHERE t.to_state = 'in_progress') AS claims,
                   count(*) FILTER (WHERE t.to_state = 'complete') AS completions
            FROM tasker.workflow_steps ws
            JOIN tasker.workflow_step_transitions t USING (workflow_step_uuid)
            WHERE ws.task_uuid = ANY(%s::uuid[])
            GROUP BY ws.workflow_step_uuid, ws.attempts
            """, (task_uuids,)).fetchall()
    expected_steps = sum(len(t.steps) for t in requests)
    assert len(rows) == expected_steps
    assert {(attempts, claims, completions) for _, attempts, claims, completions in rows} == {
        (1, 1, 1)}


def test_a_step_that_always_fails_blocks_the_task_after_max_attempts(
        stack: RunningStack) -> None:
    response = stack.create("failing_step", "test_errors")
    assert response.status_code == 201, response.text
    final = stack.wait_final(response.json()["task_uuid"])
    assert final["execution_status"] == "blocked_by_failures"
    assert final["status"] == "blocked_by_failures"
    steps = stack.steps(final["task_uuid"])
    assert steps["failing_first"]["current_state"] == "complete"
    assert steps["failing_always"]["current_state"] == "error"
    assert steps["failing_always"]["attempts"] == 3
    assert steps["failing_always"]["results"]["error"]["type"] == "HandlerError"
    assert steps["failing_never_reached"]["current_state"] == "pending"


def _task_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM tasker.tasks").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(("change", "field"), [
    ({"name": None}, "name"),
    ({"namespace": 7}, "namespace"),
    ({"context": [1, 2]}, "context"),
    ({"tags": "a,b"}, "tags"),
    ({"correlation_id": "not-a-uuid"}, "correlation_id"),
    ({"requested_at": "yesterday"}, "requested_at"),
    ({"priority": "high"}, "priority"),
])
def test_an_invalid_task_request_gets_400_naming_the_field_and_writes_nothing(
        stack: RunningStack, module_db: str, change: dict[str, object], field: str) -> None:
    before = _task_count(module_db)
    body = {"name": "linear_3", "namespace": "linear_workflow", "version": "1.0.0",
            "context": {"even_number": 6}, "initiator": "t", "source_system": "t",
            "reason": "t", "tags": []}
    body.update(change)
    body = {key: value for key, value in body.items() if value is not None}
    response = stack.client.post("/v1/tasks", json=body)
    assert response.status_code == 400
    assert response.json()["BadRequest"]["message"].startswith(f"{field}:")
    assert _task_count(module_db) == before


def test_malformed_json_gets_400(stack: RunningStack) -> None:
    response = stack.client.post("/v1/tasks", content=b"{not json",
                                 headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "body" in response.json()["BadRequest"]["message"]


def test_an_unknown_template_gets_404_naming_it(stack: RunningStack, module_db: str) -> None:
    before = _task_count(module_db)
    response = stack.create("no_such_workflow", "linear_workflow")
    assert response.status_code == 404
    assert "linear_workflow/no_such_workflow/1.0.0" in response.json()["NotFound"]["message"]
    assert _task_count(module_db) == before


def test_templates_and_lookups_follow_the_contract(stack: RunningStack) -> None:
    listing = stack.client.get("/v1/templates").json()
    assert set(listing) == {"namespaces", "templates", "total_count"}
    assert listing["total_count"] == len(BUILTIN_TEMPLATES)
    filtered = stack.client.get("/v1/templates", params={"namespace": "tree_workflow"}).json()
    assert {t["name"] for t in filtered["templates"]} == {"tree_7", "tree_8"}
    assert stack.client.get("/v1/tasks/0195b6a4-0000-7000-8000-000000000000").status_code == 404
    assert stack.client.get("/v1/tasks/nope").status_code == 400
    assert stack.client.get("/ready").json()["status"] == "ready"
