"""Derived spans from what tasker-core's real Python worker (PyPI tasker-py) records: steps
seeded as its orchestration leaves them (instrument.workload.tasker_py_boundary) are claimed,
executed and submitted by the worker on tasker-core's real schema, then read back as spanbench
reads a deployment's record. Figures are printed (-s); the test checks order and consistency
with the rows, not speed."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import psycopg

from extract.derive.phases import DerivedSpan, derive_task
from extract.derive.record import parse
from instrument.systems import tasker_core
from instrument.systems.base import Endpoints
from instrument.systems.task_record import read_record
from instrument.workload.tasker_py_boundary import TaskerPyBoundary
from instrument.workload.tasker_py_worker import NAMESPACE
from spanbench.vocabulary import Phase
from tests.integration.test_tasker_py_boundary import (  # skips without tasker-py
    worker_config,  # noqa: F401 (a fixture)
)

STEPS = 12
TIMEOUT_S = 10.0
US_TO_NS = 1000

TASKS_SQL = """
SELECT workflow_step_uuid::text, task_uuid::text FROM tasker.workflow_steps
WHERE workflow_step_uuid = ANY(%s::uuid[])
"""
INSTANT_SQL = """
SELECT (extract(epoch FROM created_at::timestamptz) * 1000000)::bigint
FROM tasker.workflow_step_transitions WHERE workflow_step_uuid = %s AND to_state = %s
"""
RESULT_SENT_SQL = """
SELECT (extract(epoch FROM enqueued_at) * 1000000)::bigint
FROM pgmq.q_orchestration_step_results WHERE message->>'step_uuid' = %s
"""


def _one(conn: psycopg.Connection, query: str, *args: str) -> int:
    row = conn.execute(query, args).fetchone()
    assert row is not None and row[0] is not None, (query, args)
    return int(row[0]) * US_TO_NS


def test_the_real_worker_s_steps_derive_claim_execute_submit_in_order(
        tasker_core_db: str, worker_config: Path) -> None:  # noqa: F811
    system = tasker_core.TaskerCore(Endpoints("", tasker_core_db))
    with TaskerPyBoundary(tasker_core_db, worker_config, queue=system.worker_queue(NAMESPACE),
                          send_sql=system.send_with_notify_sql) as boundary:
        steps = []
        for _ in range(STEPS):
            step = boundary.seed_step()
            boundary.hand_over(step, time.monotonic() + TIMEOUT_S)
            boundary.stored_result(step, time.monotonic() + TIMEOUT_S)
            steps.append(step)

    with psycopg.connect(tasker_core_db, autocommit=True) as conn:
        task_of = dict(conn.execute(TASKS_SQL, (steps,)).fetchall())
        record = read_record(tasker_core_db, tasker_core.NAME,
                             task_uuids=sorted(set(task_of.values())))
        derived = {task.task_uuid: derive_task(task) for task in parse(record).tasks}
        assert sorted(derived) == sorted(task_of.values())
        durations: dict[str, list[int]] = {Phase.CLAIM: [], Phase.EXECUTE: [], Phase.SUBMIT: []}
        for step in steps:
            spans: dict[str, DerivedSpan] = {s.phase: s for s in derived[task_of[step]]
                                             if s.step_uuid == step}
            claim, execute, submit = spans[Phase.CLAIM], spans[Phase.EXECUTE], spans[Phase.SUBMIT]
            assert claim.start_ns <= claim.end_ns == execute.start_ns <= execute.end_ns
            assert execute.end_ns == submit.start_ns <= submit.end_ns
            assert (claim.start_ns, execute.start_ns, execute.end_ns) == tuple(
                _one(conn, INSTANT_SQL, step, state)
                for state in ("enqueued", "in_progress", "enqueued_for_orchestration"))
            assert submit.end_ns == _one(conn, RESULT_SENT_SQL, step)
            for phase in durations:
                durations[phase].append(spans[phase].end_ns - spans[phase].start_ns)
    print(f"\nderived from tasker-py's record, {STEPS} steps (median, max):")
    for phase, values in durations.items():
        print(f"  {phase}: {statistics.median(values) / 1e6:.3f} ms, {max(values) / 1e6:.3f} ms")
