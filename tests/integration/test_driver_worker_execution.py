"""worker_execution in quick mode. Rewind path: worker.total parents claim/execute/submit for
each handler, and the tasks' derived phases are the stack's own run of their steps. API path:
one worker.task per task, nothing written into the stack's tables, and derived claim ≤ execute
≤ submit for every task. The stack's own worker phases summarised from its traces."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

import queries
from extract.derive.phases import DerivedSpan, derive_task
from extract.derive.record import parse
from instrument.drivers import worker_execution
from instrument.drivers.base import Iteration
from instrument.systems.task_record import read_record
from instrument.workload.tasker_client import TaskerClient, task_request
from spanbench.vocabulary import Attr, Phase
from tests.driver_harness import DriverEnv
from tests.otlp_capture import CapturedSpan
from tests.recording_progress import RecordingProgress
from tests.spans_table import spans_table

EXPECTED = {"noop": ("noop", "6"), "calculation": ("square", "36"), "database": ("database", "6")}
WORKER_PHASES = (Phase.CLAIM, Phase.EXECUTE, Phase.SUBMIT)
STEP_PATH = ["pending", "enqueued", "in_progress", "enqueued_for_orchestration", "complete"]


def _worker_tasks(spans: Sequence[CapturedSpan]) -> dict[str, CapturedSpan]:
    """Task uuid → its worker.task span."""
    return {str(s.attributes[Attr.TASK_UUID]): s for s in spans if s.name == Phase.WORKER_TASK}


def _derived_worker_phases(database_url: str, tasks: Sequence[str]
                           ) -> dict[str, dict[str, DerivedSpan]]:
    """Task uuid → its step's derived claim, execute, submit (from the stack's record)."""
    record = parse(read_record(database_url, "spanbench", task_uuids=tasks))
    assert {task.task_uuid for task in record.tasks} == set(tasks)
    for task in record.tasks:
        [step] = task.steps
        assert [t.to_state for t in step.transitions] == STEP_PATH  # the stack's own run only
    return {task.task_uuid: {span.phase: span for span in derive_task(task)
                             if span.phase in WORKER_PHASES}
            for task in record.tasks}


def _assert_ordered_inside(phases: dict[str, DerivedSpan], task: CapturedSpan) -> None:
    claim, execute, submit = (phases[phase] for phase in WORKER_PHASES)
    assert task.start_ns <= claim.start_ns <= claim.end_ns <= execute.start_ns
    assert execute.start_ns <= execute.end_ns <= submit.start_ns <= submit.end_ns
    assert submit.end_ns <= task.end_ns  # the driver saw the task final after its result


def test_cycles_on_private_queues(driver_env: DriverEnv) -> None:
    ctx = driver_env.context(worker_execution.SUITE)
    ctx.writes_allowed = True  # as for a stack the run started
    ctx.progress = progress = RecordingProgress()
    assert worker_execution.run(ctx) == worker_execution.REWIND_MODE
    assert ctx.failures == []
    assert progress.planned == {ctx.suite: progress.iterations_of(ctx.suite)}
    spans = driver_env.spans_of(ctx, settle_s=0.2)
    assert all(s.attributes[Attr.SUITE] == "worker_execution" for s in spans)
    for scenario, (handler, result) in EXPECTED.items():
        totals = [s for s in spans if s.name == "worker.total"
                  and s.attributes[Attr.SCENARIO] == scenario]
        assert len(totals) == 4  # 1 warm-up + 3 samples
        for total in totals:
            assert total.parent_span_id == ""
            children = {s.name: s for s in spans if s.parent_span_id == total.span_id}
            assert set(children) == {"claim", "execute", "submit"}
            for span in (total, *children.values()):
                assert span.attributes[Attr.HANDLER] == handler
                assert span.attributes[Attr.WARMUP] == (span.attributes[Attr.ITERATION] == 0)
                assert span.attributes[Attr.ITERATION] == total.attributes[Attr.ITERATION]
                assert total.start_ns <= span.start_ns <= span.end_ns <= total.end_ns
            assert children["execute"].attributes[worker_execution.RESULT] == result
            assert (children["claim"].end_ns <= children["execute"].start_ns
                    <= children["execute"].end_ns <= children["submit"].start_ns)
    rows = spans_table(spans).execute(queries.load()["phase_summary"].sql,
                                      {"run_id": ctx.settings.run_id}).fetchall()
    assert {(scenario, phase, n) for _, scenario, _, phase, n, *_ in rows} == {
        (scenario, phase, 3) for scenario in EXPECTED
        for phase in ("claim", "execute", "submit", "worker.total", "worker.task",
                      "api.create_task")}
    tasks = _worker_tasks(spans)
    assert len(tasks) == 4 * len(EXPECTED)
    for task_uuid, phases in _derived_worker_phases(driver_env.database_url,
                                                    list(tasks)).items():
        _assert_ordered_inside(phases, tasks[task_uuid])
    with psycopg.connect(driver_env.database_url) as conn:
        queues = conn.execute("SELECT count(*) FROM pgmq.meta WHERE queue_name LIKE "
                              "'spanbench\\_steps\\_%' OR queue_name LIKE "
                              "'spanbench\\_results\\_%'").fetchone()
        borrowed = conn.execute(
            "SELECT count(*) FROM tasker.workflow_step_transitions t "
            "WHERE most_recent AND to_state <> 'complete' AND EXISTS ("
            "  SELECT 1 FROM tasker.workflow_step_transitions r "
            "  WHERE r.workflow_step_uuid = t.workflow_step_uuid AND r.metadata ? 'spanbench')"
        ).fetchone()
    assert queues == (0,)
    assert borrowed == (0,)


def test_through_the_api_every_task_has_derived_claim_execute_submit(
        driver_env: DriverEnv) -> None:
    ctx = driver_env.context(worker_execution.SUITE)  # a deployment the run may not write into
    with psycopg.connect(driver_env.database_url) as conn:
        queues_before = conn.execute("SELECT count(*) FROM pgmq.meta").fetchone()
    ctx.progress = progress = RecordingProgress()
    assert worker_execution.run(ctx) == worker_execution.API_MODE
    assert ctx.failures == []
    assert progress.planned == {ctx.suite: progress.iterations_of(ctx.suite)}
    spans = driver_env.spans_of(ctx, settle_s=0.2)
    assert not [s for s in spans if s.name in (*WORKER_PHASES, Phase.WORKER_TOTAL)]
    tasks = _worker_tasks(spans)
    assert len(tasks) == 4 * len(EXPECTED)
    for task in tasks.values():
        assert task.parent_span_id == ""
        assert task.attributes[Attr.FINAL_STATE] == "complete"
        [post] = [s for s in spans if s.parent_span_id == task.span_id]
        assert post.name == Phase.API_CREATE_TASK
        assert post.attributes[Attr.TASK_UUID] == task.attributes[Attr.TASK_UUID]
    derived = _derived_worker_phases(driver_env.database_url, list(tasks))
    for task_uuid, phases in derived.items():
        assert set(phases) == set(WORKER_PHASES)
        _assert_ordered_inside(phases, tasks[task_uuid])
    with psycopg.connect(driver_env.database_url) as conn:
        written = conn.execute(
            "SELECT count(*) FROM tasker.workflow_step_transitions st "
            "JOIN tasker.workflow_steps ws USING (workflow_step_uuid) "
            "WHERE ws.task_uuid = ANY(%s::uuid[]) AND st.metadata ? 'spanbench'",
            (list(tasks),)).fetchone()
        queues_after = conn.execute("SELECT count(*) FROM pgmq.meta").fetchone()
    assert written == (0,)
    assert queues_after == queues_before


def test_stack_worker_phases_from_traces(driver_env: DriverEnv) -> None:
    ctx = driver_env.context("e2e_latency")
    with TaskerClient(driver_env.system.endpoints.orchestration_url) as client:
        for index, (name, namespace) in enumerate(
                [("linear_3", "linear_workflow"), ("single_noop", "single_step")]):
            parent = ctx.parent(Iteration(name, index, warmup=False))
            task = client.create_task(task_request(name, namespace, {"even_number": 6}),
                                      propagate=parent)
            driver_env.stack.wait_final(task["task_uuid"])
    rows = spans_table(driver_env.spans_of(ctx)).execute(
        queries.load()["worker_phases"].sql,
        {"run_id": ctx.settings.run_id, "suite": "e2e_latency"}).fetchall()
    counts = {(handler, phase): n for handler, phase, n, *_ in rows}
    assert counts == {(handler, phase): n for handler, n in (("square", 3), ("noop", 1))
                      for phase in ("claim", "execute", "submit", "worker.total")}
    assert all(p95 is None and p50 > 0 for *_, p50, p95 in rows)
