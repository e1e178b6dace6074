"""Completion seen without a finalization NOTIFY: the task states polled in the database.

On our stack, with a System that announces nothing, e2e_latency polls its task_transitions:
every workflow completes and its root carries the window in which its end was seen, which lies
inside the workflow, ends after the final transition was written and begins before the NOTIFY
the stack still sends (heard here, beside the driver) arrived. Against a database built from
tasker-core's migrations, a task moved to complete by tasker-core's own
transition_task_state_atomic is seen within the window the poller reports. How wide the
windows are is a speed figure (benchmarks/completion_window.py), not asserted here.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid

import psycopg
import pytest

from instrument.drivers import e2e_latency
from instrument.drivers.base import DriverContext
from instrument.systems.base import Endpoints
from instrument.systems.spanbench_stack import SpanbenchStack
from instrument.systems.tasker_core import TaskerCore
from instrument.workload.completion import API_POLL, DB_POLL, NOTIFY, FinalizationListener
from instrument.workload.load import LoadProfile
from instrument.workload.state_poller import DatabaseStatePoller
from spanbench.vocabulary import FINALIZED_CHANNEL, Attr, Phase
from tests.driver_harness import DriverEnv
from tests.otlp_capture import CapturedSpan

WORKFLOWS = {name: e2e_latency.SCENARIOS[name] for name in ("linear_3", "diamond_4")}
@dataclasses.dataclass(frozen=True)
class SilentStack(SpanbenchStack):
    """Our stack as a system that announces no finalization (as tasker-core)."""

    finalized_channel = None


def test_e2e_without_notify_polls_the_database_within_a_few_ms(driver_env: DriverEnv) -> None:
    base = driver_env.context(e2e_latency.SUITE, quick=False, samples=6, warmup=1)
    ctx = dataclasses.replace(base, system=SilentStack(driver_env.system.endpoints))
    with FinalizationListener(driver_env.database_url, FINALIZED_CHANNEL) as listener:
        outcome = e2e_latency.run(ctx, workflows=WORKFLOWS)
        notified_ns = {task: ctx.recorder.wall_ns(finalization.received_ns)
                       for task in _tasks(driver_env, ctx)
                       if (finalization := listener.wait(task, 5.0)) is not None}
    assert ctx.failures == []
    assert len(outcome.samples) == 12
    roots = [s for s in driver_env.spans_of(ctx, settle_s=0.3) if s.name == Phase.E2E_WORKFLOW]
    assert len(roots) == 14 and all(r.status_code != "ERROR" for r in roots)
    assert {r.attributes[Attr.COMPLETION_SOURCE] for r in roots} == {DB_POLL}
    assert all(0 < _window(r) <= r.end_ns - r.start_ns for r in roots), [
        _window(r) for r in roots]
    finals = _final_transitions_ns(driver_env.database_url, list(notified_ns))
    for root in roots:
        task = str(root.attributes[Attr.TASK_UUID])
        window_start_ns = root.end_ns - _window(root)
        assert finals[task] <= root.end_ns, "seen final before its transition was written"
        assert window_start_ns <= notified_ns[task], "the window begins after the commit"


def _tasks(driver_env: DriverEnv, ctx: DriverContext) -> list[str]:
    return [str(s.attributes[Attr.TASK_UUID]) for s in driver_env.spans_of(ctx, settle_s=0.3)
            if s.name == Phase.E2E_WORKFLOW]


def _final_transitions_ns(database_url: str, tasks: list[str]) -> dict[str, int]:
    """Each task's final transition's created_at (our stack: clock_timestamp() as the row is
    written, before its commit), wall-clock ns: this machine's clock, as the spans'."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT task_uuid::text, floor(extract(epoch FROM created_at) * 1000000)::bigint "
            "FROM tasker.task_transitions WHERE most_recent AND task_uuid = ANY(%s::uuid[])",
            (tasks,)).fetchall()
    return {task: us * 1_000 for task, us in rows}


def test_e2e_under_load_polls_every_workflow_in_flight_without_notify(
        driver_env: DriverEnv) -> None:
    base = driver_env.context(e2e_latency.SUITE, quick=False, samples=6, warmup=2,
                              load=LoadProfile(concurrency=4))
    ctx = dataclasses.replace(base, system=SilentStack(driver_env.system.endpoints))
    outcome = e2e_latency.run(ctx, workflows={"linear_3": WORKFLOWS["linear_3"]})
    assert ctx.failures == [] and len(outcome.samples) == 6
    roots = [s for s in driver_env.spans_of(ctx, settle_s=0.3) if s.name == Phase.E2E_WORKFLOW]
    assert len(roots) == 8
    assert {r.attributes[Attr.COMPLETION_SOURCE] for r in roots} == {DB_POLL}
    assert all(0 < _window(r) <= r.end_ns - r.start_ns for r in roots), [
        _window(r) for r in roots]


def _window(root: CapturedSpan) -> int:
    """The completion window a workflow's root recorded: how long its end could have been
    seen earlier. Its size is a speed figure (measured, not asserted: machines are shared);
    a test holds only that it was recorded and lies inside the workflow."""
    return int(root.attributes[Attr.COMPLETION_WINDOW])


@dataclasses.dataclass(frozen=True)
class ApiOnlyStack(SilentStack):
    """Our stack as a system whose task states can only be read through its API."""

    task_state_sql = None


def test_e2e_without_database_access_polls_the_api_and_says_so(driver_env: DriverEnv) -> None:
    base = driver_env.context(e2e_latency.SUITE, quick=False, samples=2, warmup=0)
    ctx = dataclasses.replace(base, system=ApiOnlyStack(driver_env.system.endpoints))
    outcome = e2e_latency.run(ctx, workflows={"linear_3": WORKFLOWS["linear_3"]})
    assert ctx.failures == []
    assert [s.poll_completion_ns for s in outcome.samples] == [
        s.duration_ns for s in outcome.samples]  # one poll, the watch's own
    roots = [s for s in driver_env.spans_of(ctx, settle_s=0.3) if s.name == Phase.E2E_WORKFLOW]
    assert [r.attributes[Attr.COMPLETION_SOURCE] for r in roots] == [API_POLL, API_POLL]
    interval_ns = int(base.settings.poll_interval_s * 1e9)
    assert all(0 < int(r.attributes[Attr.COMPLETION_WINDOW]) <= 3 * interval_ns for r in roots)


def test_e2e_with_notify_records_its_source_and_no_window(driver_env: DriverEnv) -> None:
    ctx = driver_env.context(e2e_latency.SUITE, quick=False, samples=2, warmup=0)
    e2e_latency.run(ctx, workflows={"linear_3": e2e_latency.SCENARIOS["linear_3"]})
    assert ctx.failures == []
    roots = [s for s in driver_env.spans_of(ctx, settle_s=0.3) if s.name == Phase.E2E_WORKFLOW]
    assert [r.attributes[Attr.COMPLETION_SOURCE] for r in roots] == [NOTIFY, NOTIFY]
    assert all(Attr.COMPLETION_WINDOW not in r.attributes for r in roots)


def _tasker_core_task(conn: psycopg.Connection) -> str:
    """A pending task inserted as tasker-core writes one (its NOT NULL times given)."""
    [namespace] = conn.execute(
        "INSERT INTO tasker.task_namespaces (name, created_at, updated_at) "
        "VALUES (%s, NOW(), NOW()) RETURNING task_namespace_uuid",
        (f"ns_{uuid.uuid4().hex[:8]}",)).fetchone() or (None,)
    [named_task] = conn.execute(
        "INSERT INTO tasker.named_tasks (task_namespace_uuid, name, created_at, updated_at) "
        "VALUES (%s, 'completion_probe', NOW(), NOW()) RETURNING named_task_uuid",
        (namespace,)).fetchone() or (None,)
    [task] = conn.execute(
        "INSERT INTO tasker.tasks (named_task_uuid, requested_at, identity_hash, created_at, "
        "updated_at, correlation_id) VALUES (%s, NOW(), %s, NOW(), NOW(), uuid_generate_v7()) "
        "RETURNING task_uuid", (named_task, uuid.uuid4().hex)).fetchone() or (None,)
    conn.execute(
        "INSERT INTO tasker.task_transitions (task_uuid, to_state, sort_key, most_recent, "
        "created_at, updated_at) VALUES (%s, 'pending', 1, true, NOW(), NOW())", (task,))
    return str(task)


def _transition(conn: psycopg.Connection, task: str, from_state: str, to_state: str) -> None:
    row = conn.execute("SELECT tasker.transition_task_state_atomic(%s, %s, %s, NULL, '{}')",
                       (task, from_state, to_state)).fetchone()
    assert row == (True,), (from_state, to_state)


def test_a_tasker_core_task_is_seen_complete_within_the_reported_window(
        tasker_core_db: str) -> None:
    system = TaskerCore(Endpoints("http://127.0.0.1:1", tasker_core_db))
    assert system.task_state_sql is not None
    with psycopg.connect(tasker_core_db, autocommit=True) as conn, \
            DatabaseStatePoller(tasker_core_db, system.task_state_sql) as poller:
        task = _tasker_core_task(conn)
        poller.expect(task)
        _transition(conn, task, "pending", "steps_in_process")
        assert poller.wait(task, 0.05) is None  # polled, not final: not handed out
        poller.expect(task)
        threading.Event().wait(0.02)
        committing_ns = time.perf_counter_ns()
        _transition(conn, task, "steps_in_process", "complete")
        committed_ns = time.perf_counter_ns()
        finalization = poller.wait(task, 5.0)
    assert finalization is not None
    assert (finalization.task_uuid, finalization.status, finalization.source) == (
        task, "complete", DB_POLL)
    assert finalization.correlation_id
    assert finalization.window_ns is not None and finalization.window_ns > 0
    assert finalization.received_ns >= committing_ns  # not seen before the commit began
    assert finalization.received_ns - finalization.window_ns <= committed_ns  # nor after


def _created_perf_ns(conn: psycopg.Connection, task: str) -> int:
    """The final transition's created_at (tasker-core: NOW(), a timestamp in the writer's time
    zone, this session's) on time.perf_counter_ns's scale; the database runs on this machine."""
    row = conn.execute(
        "SELECT floor(extract(epoch FROM created_at AT TIME ZONE current_setting('TimeZone'))"
        " * 1000000)::bigint FROM tasker.task_transitions WHERE most_recent AND task_uuid = %s",
        (task,)).fetchone()
    assert row is not None
    wall_minus_perf_ns = time.time_ns() - time.perf_counter_ns()
    return int(row[0]) * 1_000 - wall_minus_perf_ns


@pytest.mark.parametrize("server_stamped", [False, True], ids=["sent", "server-stamped"])
def test_the_window_holds_the_commit_not_the_transition_rows_time(
        tasker_core_db: str, server_stamped: bool) -> None:
    """The task is moved to complete in a transaction held open for 200 ms: its transition's
    created_at (the transaction's start) lies before the window, which holds the commit; with
    the polls' start moved by the database's now() as with it taken when sent."""
    system = TaskerCore(Endpoints("http://127.0.0.1:1", tasker_core_db))
    assert system.task_state_sql is not None
    with psycopg.connect(tasker_core_db, autocommit=True) as conn, \
            DatabaseStatePoller(tasker_core_db, system.task_state_sql,
                                server_stamped=server_stamped) as poller:
        task = _tasker_core_task(conn)
        _transition(conn, task, "pending", "steps_in_process")
        poller.expect(task)
        with conn.transaction():
            _transition(conn, task, "steps_in_process", "complete")
            threading.Event().wait(0.2)
            committing_ns = time.perf_counter_ns()
        committed_ns = time.perf_counter_ns()
        finalization = poller.wait(task, 5.0)
        created_ns = _created_perf_ns(conn, task)
    assert finalization is not None and finalization.window_ns is not None
    window_start_ns = finalization.received_ns - finalization.window_ns
    assert committing_ns <= finalization.received_ns and window_start_ns <= committed_ns
    assert created_ns < window_start_ns
