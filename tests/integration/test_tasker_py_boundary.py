"""tasker-core's real foreign-language boundary: its Rust worker core (PyPI tasker-py) hands a
step event to Python and accepts the handler's result, on a database from tasker-core's
migrations. What handler_overhead's foreign case would time instead of spanbench's own pipe.

One step per task, seeded as orchestration leaves it (task `steps_in_process`, step
`pending → enqueued`) and announced with tasker-core's `pgmq_send_with_notify`; Python polls
the event as tasker-py's EventPoller does (`poll_step_events`), runs the handler and submits
the result as its StepExecutionSubscriber does (`complete_step_event`). The boundary is the
poll call that returns the event through the accepted completion. Figures are printed (-s);
the test checks the path, not the speed: every step must end `enqueued_for_orchestration`
with the handler's result stored by the Rust side.
"""

from __future__ import annotations

import json
import re
import socket
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.tasker_core_db import CONTRACTS

core = pytest.importorskip("tasker_core", reason="tasker-py (tasker-core's Python worker) is "
                           "not installed: pip install 'spanbench[tasker]'")
types = pytest.importorskip("tasker_core.types", reason="tasker-py without tasker_core.types")

NAMESPACE = "spanbench_ffi"
TASK_NAME = "ffi_boundary"
STEP_NAME = "square"
QUEUE = f"worker_{NAMESPACE}_queue"
TEMPLATE = f"""
name: {TASK_NAME}
namespace_name: {NAMESPACE}
version: 1.0.0
description: one Python step, to time tasker-core's Rust to Python dispatch
steps:
  - name: {STEP_NAME}
    description: square the task's even_number
    handler:
      callable: {NAMESPACE}.square
    dependencies: []
"""
WARMUP = 3
SAMPLES = 20
EVENT_TIMEOUT_S = 10.0


def _loopback_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def _with_password(url: str) -> str:
    """tasker-core's configuration check wants `user:password@` in DATABASE_URL."""
    if re.match(r"^postgresql://[^@/:]+:[^@/]*@", url):
        return url
    if re.match(r"^postgresql://[^@/]+@", url):
        return re.sub(r"^postgresql://([^@/]+)@", r"postgresql://\1:unused@", url)
    return url.replace("postgresql://", "postgresql://postgres:unused@", 1)


@pytest.fixture
def worker(tasker_core_db: str, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A tasker-py worker bootstrapped on the database; its URL."""
    url = _with_password(tasker_core_db)
    config = (CONTRACTS / "config" / "worker-test.toml").read_text()
    config, changed = re.subn(r"(\[common\.cache\][^\[]*?)enabled = true", r"\1enabled = false",
                              config, count=1)
    assert changed == 1, "worker-test.toml no longer has [common.cache] enabled = true"
    (tmp_path / "worker.toml").write_text(config)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / f"{TASK_NAME}.yaml").write_text(TEMPLATE)
    for name, value in {"TASKER_ENV": "test", "DATABASE_URL": url,
                        "TASKER_CONFIG_PATH": str(tmp_path / "worker.toml"),
                        "TASKER_TEMPLATE_PATH": str(tmp_path / "templates"),
                        "TASKER_WEB_BIND_ADDRESS": _loopback_address(),
                        "TASKER_WORKER_GRPC_BIND_ADDRESS": _loopback_address()}.items():
        monkeypatch.setenv(name, value)
    started = core.bootstrap_worker(core.BootstrapConfig(namespace=NAMESPACE))
    assert started.success, started.error_message
    try:
        yield url
    finally:
        core.stop_worker()


def _seed_step(conn: psycopg.Connection, named_task: Any, named_step: Any) -> dict[str, str]:
    """A task and its one step as orchestration leaves them; the message announcing it."""
    task, step, correlation = (str(uuid.uuid4()) for _ in range(3))
    conn.execute("INSERT INTO tasker.tasks (task_uuid, named_task_uuid, requested_at, context, "
                 "identity_hash, created_at, updated_at, correlation_id) "
                 "VALUES (%s, %s, now(), '{\"even_number\": 6}', %s, now(), now(), %s)",
                 (task, named_task, uuid.uuid4().hex, correlation))
    states = ["pending", "initializing", "enqueuing_steps", "steps_in_process"]
    for key, (before, state) in enumerate(zip([None, *states], states, strict=False), 1):
        conn.execute("INSERT INTO tasker.task_transitions (task_uuid, to_state, from_state, "
                     "sort_key, most_recent, created_at, updated_at) "
                     "VALUES (%s, %s, %s, %s, %s, now(), now())",
                     (task, state, before, key, key == len(states)))
    conn.execute("INSERT INTO tasker.workflow_steps (workflow_step_uuid, task_uuid, "
                 "named_step_uuid, created_at, updated_at) VALUES (%s, %s, %s, now(), now())",
                 (step, task, named_step))
    for key, (before, state) in enumerate([(None, "pending"), ("pending", "enqueued")], 1):
        conn.execute("INSERT INTO tasker.workflow_step_transitions (workflow_step_uuid, "
                     "to_state, from_state, sort_key, most_recent, created_at, updated_at) "
                     "VALUES (%s, %s, %s, %s, %s, now(), now())", (step, state, before, key,
                                                                    key == 2))
    return {"task_uuid": task, "step_uuid": step, "correlation_id": correlation}


def _square(event: dict[str, Any]) -> dict[str, Any]:
    """The Python handler: reads its input from what the Rust side handed over."""
    step = event["task_sequence_step"]
    assert step["step_definition"]["handler"]["callable"] == f"{NAMESPACE}.square"
    return {"value": step["task"]["task"]["context"]["even_number"] ** 2}


def _dispatch_one(conn: psycopg.Connection, message: dict[str, str]) -> dict[str, float]:
    """Send, poll until the Rust side hands the event over, run, complete; the timings (ms)."""
    sent = time.perf_counter_ns()
    conn.execute("SELECT tasker.pgmq_send_with_notify(%s, %s::jsonb, 0)",
                 (QUEUE, json.dumps(message)))
    expires = time.monotonic() + EVENT_TIMEOUT_S
    event = None
    while event is None:
        assert time.monotonic() < expires, f"no step event in {EVENT_TIMEOUT_S} s"
        polled = time.perf_counter_ns()
        event = core.poll_step_events()
    handed = time.perf_counter_ns()
    assert event["step_uuid"] == message["step_uuid"]
    completion = types.StepExecutionResult.success_result(
        step_uuid=uuid.UUID(event["step_uuid"]), task_uuid=uuid.UUID(event["task_uuid"]),
        result=_square(event), execution_time_ms=0, worker_id="spanbench",
        correlation_id=uuid.UUID(event["correlation_id"])).model_dump(mode="json")
    returned = time.perf_counter_ns()
    assert core.complete_step_event(str(event["event_id"]), completion)
    accepted = time.perf_counter_ns()
    return {"send_to_event": (handed - sent) / 1e6, "poll_call": (handed - polled) / 1e6,
            "handler": (returned - handed) / 1e6, "complete_call": (accepted - returned) / 1e6,
            "boundary": (accepted - polled) / 1e6}


def _states_when_settled(conn: psycopg.Connection, steps: list[str]) -> dict[str, Any]:
    expires = time.monotonic() + EVENT_TIMEOUT_S
    while True:
        rows = conn.execute(
            "SELECT s.workflow_step_uuid::text, t.to_state, s.results "
            "FROM tasker.workflow_steps s JOIN tasker.workflow_step_transitions t "
            "USING (workflow_step_uuid) WHERE t.most_recent AND s.workflow_step_uuid = ANY(%s)",
            ([uuid.UUID(step) for step in steps],)).fetchall()
        states = {step: (state, results) for step, state, results in rows}
        if all(state == "enqueued_for_orchestration" for state, _ in states.values()) \
                or time.monotonic() > expires:
            return states
        time.sleep(0.05)


def test_tasker_py_hands_steps_to_python_and_accepts_the_results(worker: str) -> None:
    timings: list[dict[str, float]] = []
    with psycopg.connect(worker, autocommit=True) as conn:
        named_task = conn.execute("SELECT named_task_uuid FROM tasker.named_tasks "
                                  "WHERE name = %s", (TASK_NAME,)).fetchone()
        assert named_task is not None, "the worker did not register the template"
        named_step = conn.execute("INSERT INTO tasker.named_steps (name, created_at, updated_at)"
                                  " VALUES (%s, now(), now()) RETURNING named_step_uuid",
                                  (STEP_NAME,)).fetchone()
        assert named_step is not None
        steps = []
        for _ in range(WARMUP + SAMPLES):
            message = _seed_step(conn, named_task[0], named_step[0])
            steps.append(message["step_uuid"])
            timings.append(_dispatch_one(conn, message))
        states = _states_when_settled(conn, steps)
    assert sorted(states) == sorted(steps)
    for step, (state, results) in states.items():
        assert state == "enqueued_for_orchestration", f"step {step} ended {state}"
        assert results["result"] == {"value": 36}, results
    measured = timings[WARMUP:]
    print(f"\ntasker-py {core.get_version()}: {len(measured)} steps after {WARMUP} warm-up")
    for key in measured[0]:
        values = [timing[key] for timing in measured]
        print(f"  {key}: mean {statistics.mean(values):.3f} ms, median "
              f"{statistics.median(values):.3f} ms, max {max(values):.3f} ms")
