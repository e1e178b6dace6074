"""`spanbench run e2e_latency` on the reference stack derives spans from the stack's own record:
every step of every workflow, in the workflow's trace, ordered, exactly the recorded
transitions' instants, within the documented resolution of the traced spans, and a derived
breakdown that sums to each workflow's wall time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from extract.analyse.breakdown import derived_e2e_analysis, e2e_analysis
from extract.analyse.derived_check import derived_check
from extract.analyse.duckdb_runner import open_runs
from extract.store.runstore import RunStore
from instrument.drivers.e2e_latency import STACK_TRACED
from spanbench.runner.derivation import RECORD_FILE
from spanbench.vocabulary import Attr, Phase, Source
from tests.e2e_traces import attributed_per_workflow, measured_root_durations, table_rows

STEPS = {"linear_3": 3, "linear_4": 4, "diamond_4": 4, "tree_7": 7, "complex_dag_7": 7}
ITERATIONS = 4  # quick mode: 1 warm-up + 3 samples

SPANS_SQL = """
SELECT TraceId, SpanId, ParentSpanId, SpanName, epoch_ns(Timestamp) AS start_ns,
       epoch_ns(Timestamp) + Duration AS end_ns, SpanAttributes
FROM spans
"""


@pytest.fixture(scope="module")
def derived_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunStore, str, str, Path]:
    """A quick e2e run on a throwaway stack: its store, run id, console output, reports."""
    home = tmp_path_factory.mktemp("derive") / ".spanbench"
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("OTEL_", "TASKER_TEST_")) and k != "DATABASE_URL"}
    environment.update(SPANBENCH_HOME=str(home), COLUMNS="160")
    result = subprocess.run(
        [sys.executable, "-m", "spanbench", "run", "e2e_latency", "--quick",
         "--output-dir", str(home.parent / "reports")],
        cwd=home.parent, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    store = RunStore.at(home / "runs")
    [run_id] = store.run_ids()
    return store, run_id, result.stdout, home.parent / "reports"


def _spans(store: RunStore, run_id: str) -> list[dict[str, Any]]:
    con = open_runs(store, [run_id])
    try:
        cursor = con.execute(SPANS_SQL)
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


@pytest.mark.full_run
def test_every_step_of_every_workflow_has_derived_phases_in_its_trace(
        derived_run: tuple[RunStore, str, str, Path]) -> None:
    store, run_id, stdout, _ = derived_run
    workflows = len(STEPS) * ITERATIONS
    assert f"for {workflows} of {workflows} workflows" in stdout, stdout
    spans = _spans(store, run_id)
    by_id = {span["SpanId"]: span for span in spans}
    roots = [s for s in spans if s["SpanName"] == Phase.E2E_WORKFLOW]
    assert len(roots) == workflows
    record = json.loads((store.artifacts_dir(run_id) / RECORD_FILE).read_text())
    steps_of = {task["task_uuid"]: {step["step_uuid"]: step for step in task["steps"]}
                for task in record["tasks"]}
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        by_trace[span["TraceId"]].append(span)
    for root in roots:
        attributes = root["SpanAttributes"]
        assert attributes[Attr.SOURCE] == Source.DRIVER
        scenario = attributes[Attr.SCENARIO]
        derived = [s for s in by_trace[root["TraceId"]]
                   if s["SpanAttributes"].get(Attr.SOURCE) == Source.DERIVED]
        traced = [s for s in by_trace[root["TraceId"]]
                  if s["SpanAttributes"].get(Attr.SOURCE) == Source.TRACED]
        assert bool(traced) == (attributes[STACK_TRACED] == "true")
        for span in derived:  # parented in the workflow's own trace, down to its root
            ancestor = span
            while ancestor["ParentSpanId"]:
                ancestor = by_id[ancestor["ParentSpanId"]]
            assert ancestor is root
            for key in (Attr.RUN_ID, Attr.SUITE, Attr.SCENARIO, Attr.ITERATION, Attr.TASK_UUID,
                        Attr.CORRELATION_ID):
                assert span["SpanAttributes"][key] == attributes[key], key
        per_step: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for span in derived:
            step = span["SpanAttributes"].get(Attr.STEP_UUID)
            if step:
                assert span["SpanName"] not in per_step[step]
                per_step[step][span["SpanName"]] = span
        steps = steps_of[attributes[Attr.TASK_UUID]]
        assert sorted(per_step) == sorted(steps) and len(steps) == STEPS[scenario]
        for step, phases in per_step.items():
            claim, execute, submit = (phases[p] for p in (Phase.CLAIM, Phase.EXECUTE,
                                                          Phase.SUBMIT))
            assert Phase.RESULT_PROCESS in phases and Phase.PUBLISH in phases
            assert claim["start_ns"] <= claim["end_ns"] == execute["start_ns"]
            assert execute["start_ns"] <= execute["end_ns"] == submit["start_ns"]
            assert submit["start_ns"] <= submit["end_ns"]
            recorded = {state: at for state, at, _ in steps[step]["transitions"]}
            assert (claim["start_ns"], execute["start_ns"], submit["start_ns"],
                    submit["end_ns"]) == (recorded["enqueued"], recorded["in_progress"],
                                          recorded["enqueued_for_orchestration"],
                                          recorded["complete"])
        names = [s["SpanName"] for s in derived]
        assert names.count(Phase.TASK_INITIALIZE) == names.count(Phase.TASK_FINALIZE) == 1


@pytest.mark.full_run
def test_derived_and_traced_phases_agree_and_the_derived_breakdown_adds_up(
        derived_run: tuple[RunStore, str, str, Path]) -> None:
    store, run_id, _, reports = derived_run
    con = open_runs(store, [run_id])
    try:
        rows = derived_check(con, run_id)
        traced = e2e_analysis(con, run_id, with_workflows=True)
        derived = derived_e2e_analysis(con, run_id, with_workflows=True)
        roots = measured_root_durations(con)
    finally:
        con.close()
    checked = {(row.scenario, row.phase) for row in rows if row.workflows}
    assert {(scenario, phase) for scenario in STEPS
            for phase in (Phase.CLAIM, Phase.EXECUTE, Phase.SUBMIT, Phase.RESULT_PROCESS,
                          Phase.PUBLISH, Phase.TASK_INITIALIZE, Phase.TASK_FINALIZE)} <= checked
    assert [row for row in rows if row.disagreeing] == []  # within the documented resolution
    assert all(c.incomplete == 0 for c in traced.completeness)
    assert all(c.incomplete == 0 for c in derived.completeness)
    assert derived.workflows is not None and traced.workflows is not None
    sums = attributed_per_workflow(table_rows(derived.workflows))
    assert sums == roots  # every measured workflow, traced or not, to the nanosecond
    traced_phases = {phase for _, _, phase, _ in table_rows(traced.workflows)}
    assert traced_phases.isdisjoint({Phase.ENQUEUE_TOTAL})
    summary = (reports / "latest" / "summary.md").read_text()
    assert "E2E Breakdown from Derived Spans" in summary
    assert "Derived vs Traced Phases" in summary
