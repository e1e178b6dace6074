"""Run the reference stack's processes for a test, and talk to its API."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from instrument.workload.tasker_client import task_request as client_task_request
from stack.local import supervisor
from stack.local.supervisor import Service, ServiceSpec

FINAL_STATUSES = ("all_complete", "blocked_by_failures")


@dataclass
class RunningStack:
    orchestrators: list[Service]
    workers: list[Service]
    client: httpx.Client
    """Talks to the first orchestrator; every orchestrator consumes step results."""

    @property
    def orchestration(self) -> Service:
        return self.orchestrators[0]

    def create(self, name: str, namespace: str, context: Mapping[str, Any] | None = None,
               headers: Mapping[str, str] | None = None, **fields: Any) -> httpx.Response:
        body = task_request(name, namespace, context, **fields)
        return self.client.post("/v1/tasks", json=body, headers=dict(headers or {}))

    def wait_final(self, task_uuid: str, timeout_s: float = 30.0) -> dict[str, Any]:
        """Poll GET /v1/tasks/{uuid} until the task is complete or blocked."""
        deadline = time.monotonic() + timeout_s
        while True:
            body = self.client.get(f"/v1/tasks/{task_uuid}").json()
            if body["execution_status"] in FINAL_STATUSES:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_uuid} not final after {timeout_s} s: "
                                     f"{body['execution_status']}")
            time.sleep(0.02)

    def steps(self, task_uuid: str) -> dict[str, dict[str, Any]]:
        rows = self.client.get(f"/v1/tasks/{task_uuid}/workflow_steps").json()
        return {row["name"]: row for row in rows}


def task_request(name: str, namespace: str, context: Mapping[str, Any] | None = None,
                 **fields: Any) -> dict[str, Any]:
    """The drivers' body (naive UTC requested_at, a unique key in the context, so repeating a
    context is never a duplicate identity) with the tests' initiator, source and tags."""
    body = client_task_request(name, namespace,
                               context if context is not None else {"even_number": 6},
                               initiator="pytest", source_system="spanbench-tests",
                               reason="test", tags=["test"])
    body.update(fields)
    return body


@contextmanager
def running_stack(database_url: str, log_dir: Path, workers: int = 1, orchestrators: int = 1,
                  env: Mapping[str, str] | None = None) -> Iterator[RunningStack]:
    """Start the orchestration and worker processes; stop them after."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("OTEL_")}
    environment.update(DATABASE_URL=database_url, SPANBENCH_POLL_INTERVAL_MS="200")
    environment.update(env or {})
    orchestration = supervisor.start_all(
        [ServiceSpec(f"orchestration-{i}", "stack.engine.orchestration")
         for i in range(1, orchestrators + 1)], environment, log_dir)
    worker_services: list[Service] = []
    try:
        worker_services = supervisor.start_all(
            [ServiceSpec(f"worker-{i}", "stack.engine.worker", ("--worker-id", str(i)))
             for i in range(1, workers + 1)], environment, log_dir)
        with httpx.Client(base_url=orchestration[0].url, timeout=10) as client:
            yield RunningStack(orchestration, worker_services, client)
    finally:
        supervisor.stop([*worker_services, *orchestration])
