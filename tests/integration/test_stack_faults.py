"""Faults the stack survives: a worker killed mid-step, PostgreSQL going away and coming back."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from stack.local import migrate, postgres
from tests.stack_harness import running_stack

pytestmark = pytest.mark.stack


def _claimer(url: str, step_uuid: str, deadline_s: float = 10.0) -> str:
    """The worker id that took the step, once it is in progress."""
    deadline = time.monotonic() + deadline_s
    with psycopg.connect(url) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT metadata->>'worker_id' FROM tasker.workflow_step_transitions "
                "WHERE workflow_step_uuid = %s AND to_state = 'in_progress' AND most_recent",
                (step_uuid,)).fetchone()
            if row is not None:
                return str(row[0])
            time.sleep(0.02)
    raise AssertionError(f"step {step_uuid} was not claimed within {deadline_s} s")


def test_a_worker_killed_mid_step_is_replaced_after_the_visibility_timeout(
        fresh_db: str, tmp_path: Path) -> None:
    env = {"SPANBENCH_VISIBILITY_TIMEOUT_S": "2"}
    with running_stack(fresh_db, tmp_path, workers=2, env=env) as stack:
        response = stack.create("single_sleep_ms", "single_step",
                                {"even_number": 6, "sleep_ms": 1500})
        assert response.status_code == 201, response.text
        task_uuid = response.json()["task_uuid"]
        step_uuid = response.json()["steps"][0]["workflow_step_uuid"]
        victim = next(w for w in stack.workers
                      if w.name == f"worker-{_claimer(fresh_db, step_uuid)}")
        os.kill(victim.pid, signal.SIGKILL)

        final = stack.wait_final(task_uuid, timeout_s=20)
        assert final["execution_status"] == "all_complete"
        step = stack.steps(task_uuid)["single_sleep_ms"]
        assert step["results"] == {"result": 6}
        assert step["attempts"] == 2
        with psycopg.connect(fresh_db) as conn:
            states = [row[0] for row in conn.execute(
                "SELECT to_state FROM tasker.workflow_step_transitions "
                "WHERE workflow_step_uuid = %s ORDER BY sort_key", (step_uuid,))]
        assert states == ["pending", "enqueued", "in_progress", "in_progress",
                          "enqueued_for_orchestration", "complete"]


def _health(url: str) -> int:
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def _wait_for_status(urls: list[str], status: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while [_health(url) for url in urls] != [status] * len(urls):
        if time.monotonic() > deadline:
            raise AssertionError(f"/health of {urls} not {status} within {timeout_s} s: "
                                 f"{[_health(url) for url in urls]}")
        time.sleep(0.1)


def test_services_report_unhealthy_without_postgres_and_recover_by_themselves(
        tmp_path: Path) -> None:
    home = tmp_path / "home"
    info = postgres.ensure_started(home, relaxed=True)
    try:
        migrate.migrate(info.database_url)
        with running_stack(info.database_url, tmp_path / "logs", workers=1) as stack:
            urls = [stack.orchestration.url, stack.workers[0].url]
            _wait_for_status(urls, 200, 10)

            postgres.stop(home)
            _wait_for_status(urls, 503, 15)

            postgres.ensure_started(home, relaxed=True)
            _wait_for_status(urls, 200, 30)
            response = stack.create("linear_3", "linear_workflow")
            assert response.status_code == 201, response.text
            final = stack.wait_final(response.json()["task_uuid"], timeout_s=30)
            assert final["execution_status"] == "all_complete"
    finally:
        postgres.remove(home)
