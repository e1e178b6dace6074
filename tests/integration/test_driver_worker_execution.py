"""worker_execution in quick mode: worker.total parents claim/execute/submit for each handler;
the stack's own worker phases summarised from its traces."""

from __future__ import annotations

import psycopg

import queries
from instrument.drivers import worker_execution
from instrument.drivers.base import Iteration
from instrument.workload.tasker_client import TaskerClient, task_request
from spanbench.vocabulary import Attr
from tests.driver_harness import DriverEnv
from tests.spans_table import spans_table

EXPECTED = {"noop": ("noop", "6"), "calculation": ("square", "36"), "database": ("database", "6")}


def test_cycles_on_private_queues(driver_env: DriverEnv) -> None:
    ctx = driver_env.context(worker_execution.SUITE)
    worker_execution.run(ctx)
    assert ctx.failures == []
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
        for phase in ("claim", "execute", "submit", "worker.total")}
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
