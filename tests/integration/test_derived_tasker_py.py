"""Derived spans from what tasker-core's real Python worker (PyPI tasker-py) records: steps
seeded as its orchestration leaves them, claimed, executed and submitted by the worker on
tasker-core's real schema, then read back as spanbench reads a deployment's record.
Figures are printed (-s); the test checks order and consistency with the rows, not speed."""

from __future__ import annotations

import statistics

import psycopg
import pytest

from extract.derive.phases import DerivedSpan, derive_task
from extract.derive.record import parse
from instrument.systems import tasker_core
from instrument.systems.task_record import read_record
from spanbench.vocabulary import Phase
from tests.integration.test_tasker_py_boundary import (  # the worker on tasker-core's schema
    STEP_NAME,
    TASK_NAME,
    _dispatch_one,
    _seed_step,
    _states_when_settled,
    worker,  # noqa: F401 (a fixture)
)

STEPS = 12
US_TO_NS = 1000

pytestmark = pytest.mark.postgres

INSTANTS_SQL = """
SELECT (SELECT (extract(epoch FROM created_at::timestamptz) * 1000000)::bigint
        FROM tasker.workflow_step_transitions
        WHERE workflow_step_uuid = %(step)s AND to_state = %(state)s)
"""
RESULT_SENT_SQL = """
SELECT (extract(epoch FROM enqueued_at) * 1000000)::bigint
FROM pgmq.q_orchestration_step_results WHERE message->>'step_uuid' = %(step)s
"""


def _instant_us(conn: psycopg.Connection, step: str, state: str) -> int:
    row = conn.execute(INSTANTS_SQL, {"step": step, "state": state}).fetchone()
    assert row is not None and row[0] is not None, (step, state)
    return int(row[0])


def test_the_real_worker_s_steps_derive_claim_execute_submit_in_order(
        worker: str) -> None:  # noqa: F811
    tasks: list[dict[str, str]] = []
    with psycopg.connect(worker, autocommit=True) as conn:
        named_task = conn.execute("SELECT named_task_uuid FROM tasker.named_tasks "
                                  "WHERE name = %s", (TASK_NAME,)).fetchone()
        assert named_task is not None, "the worker did not register the template"
        named_step = conn.execute("INSERT INTO tasker.named_steps (name, created_at, updated_at)"
                                  " VALUES (%s, now(), now()) RETURNING named_step_uuid",
                                  (STEP_NAME,)).fetchone()
        assert named_step is not None
        for _ in range(STEPS):
            message = _seed_step(conn, named_task[0], named_step[0])
            tasks.append(message)
            _dispatch_one(conn, message)
        states = _states_when_settled(conn, [m["step_uuid"] for m in tasks])
        assert {state for state, _ in states.values()} == {"enqueued_for_orchestration"}

        record = read_record(worker, tasker_core.NAME, task_uuids=[m["task_uuid"] for m in tasks])
        derived = {task.task_uuid: derive_task(task) for task in parse(record).tasks}
        assert sorted(derived) == sorted(m["task_uuid"] for m in tasks)
        durations: dict[str, list[int]] = {Phase.CLAIM: [], Phase.EXECUTE: [], Phase.SUBMIT: []}
        for message in tasks:
            step = message["step_uuid"]
            spans: dict[str, DerivedSpan] = {s.phase: s for s in derived[message["task_uuid"]]
                                             if s.step_uuid == step}
            claim, execute, submit = spans[Phase.CLAIM], spans[Phase.EXECUTE], spans[Phase.SUBMIT]
            assert claim.start_ns <= claim.end_ns == execute.start_ns <= execute.end_ns
            assert execute.end_ns == submit.start_ns <= submit.end_ns
            enqueued, started, submitted = (
                _instant_us(conn, step, state) * US_TO_NS
                for state in ("enqueued", "in_progress", "enqueued_for_orchestration"))
            assert (claim.start_ns, execute.start_ns, execute.end_ns) == (
                enqueued, started, submitted)
            row = conn.execute(RESULT_SENT_SQL, {"step": step}).fetchone()
            assert row is not None, f"no result message for {step}"
            assert submit.end_ns == int(row[0]) * US_TO_NS
            for phase in durations:
                durations[phase].append(spans[phase].end_ns - spans[phase].start_ns)
    print(f"\nderived from tasker-py's record, {STEPS} steps (median, max):")
    for phase, values in durations.items():
        print(f"  {phase}: {statistics.median(values) / 1e6:.3f} ms, "
              f"{max(values) / 1e6:.3f} ms")
