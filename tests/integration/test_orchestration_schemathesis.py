"""schemathesis against the orchestration service's own OpenAPI document (a running stack).

Checks every documented operation with generated requests, valid and invalid: no 5xx,
status codes and content types documented, bodies conforming to the documented schemas.
Real task uuids are checked as well, so TaskResponse and StepResponse are validated whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from stack.engine.orchestration.openapi import OPENAPI_PATH, document
from tests.stack_harness import RunningStack, running_stack, task_request

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    log_dir: Path = tmp_path_factory.mktemp("schemathesis-logs")
    with running_stack(module_db, log_dir) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(stack: RunningStack) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{stack.orchestration.url}{OPENAPI_PATH}")


# schemathesis.pytest.from_fixture fails under pytest 9 (it reads Function._nodeid), so each
# documented operation is a parametrized test drawing cases from the operation's strategy.
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
CASES = [
    pytest.param(path, method.upper(), mode, id=f"{method.upper()} {path} {mode.value}")
    for path, item in sorted(document()["paths"].items())
    for method, operation in item.items()
    # Invalid input exists only where a body or a non-path parameter can carry it (path
    # parameters are typed as plain strings, which any path segment is).
    for mode in (POSITIVE, NEGATIVE)
    if mode is POSITIVE or "requestBody" in operation
    or any(parameter["in"] != "path" for parameter in operation.get("parameters", []))
]
EXCLUDED_CHECKS = [schemathesis.checks.positive_data_acceptance]
"""The contract types task uuids as plain strings and TaskRequest's text fields without a
minimum length, but the service (like tasker) answers 400 for a malformed uuid or an empty
name: the document's own words, kept field for field, are looser than the validation."""


@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_every_operation_conforms(api_schema: schemathesis.BaseSchema, path: str, method: str,
                                  mode: schemathesis.GenerationMode) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=max(5, settings.default.max_examples // 8),
              suppress_health_check=list(HealthCheck))
    def conforms(case: schemathesis.Case) -> None:
        case.call_and_validate(timeout=10, excluded_checks=EXCLUDED_CHECKS)

    conforms()


@pytest.mark.parametrize("path", ["/v1/tasks/{uuid}", "/v1/tasks/{uuid}/workflow_steps"])
def test_real_tasks_conform(stack: RunningStack, api_schema: schemathesis.BaseSchema,
                            path: str) -> None:
    created = stack.client.post("/v1/tasks", json=task_request("diamond_4", "diamond_workflow"))
    assert created.status_code == 201, created.text
    task_uuid = created.json()["task_uuid"]
    stack.wait_final(task_uuid)
    case = api_schema[path]["GET"].Case(path_parameters={"uuid": task_uuid})
    response = case.call_and_validate(timeout=10)
    assert response.status_code == 200
