"""spanbench's stack started apart from the run (as `spanbench stack up` leaves it) and named by
the environment: its spans never reach the run's sink, so the traced breakdown is empty, and
the derived spans give every e2e scenario a complete breakdown that sums to each workflow."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from extract.analyse.breakdown import derived_e2e_analysis, e2e_analysis
from extract.analyse.duckdb_runner import open_runs
from extract.store.runstore import RunStore
from spanbench.vocabulary import Phase
from tests.e2e_traces import attributed_per_workflow, measured_root_durations, table_rows
from tests.stack_harness import RunningStack, running_stack

SCENARIOS = ("linear_3", "linear_4", "diamond_4", "tree_7", "complex_dag_7")


@pytest.fixture
def named_stack(fresh_db: str, tmp_path: Path) -> Iterator[RunningStack]:
    with running_stack(fresh_db, tmp_path / "stack-logs", workers=2) as stack:
        yield stack


@pytest.mark.full_run
def test_a_stack_the_run_did_not_start_gets_its_breakdown_from_derived_spans(
        fresh_db: str, named_stack: RunningStack, tmp_path: Path) -> None:
    home = tmp_path / ".spanbench"
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("OTEL_", "TASKER_TEST_")) and k != "DATABASE_URL"}
    environment.update(SPANBENCH_HOME=str(home), COLUMNS="160", DATABASE_URL=fresh_db,
                       TASKER_TEST_ORCHESTRATION_URL=named_stack.orchestration.url,
                       TASKER_TEST_WORKER_URL=",".join(w.url for w in named_stack.workers))
    result = subprocess.run(
        [sys.executable, "-m", "spanbench", "run", "e2e_latency", "--quick",
         "--output-dir", str(tmp_path / "reports")],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "e2e_latency: ready; its stack phases come from the deployment's own spans" in output
    assert "no span of the deployment reached the sink" in output
    derived = re.search(r"derived spans: \d+ for (\d+) of (\d+) ", output)
    assert derived is not None and derived.group(1) == derived.group(2), output
    store = RunStore.at(home / "runs")
    [run_id] = store.run_ids()
    con = open_runs(store, [run_id])
    try:
        traced = e2e_analysis(con, run_id)
        analysis = derived_e2e_analysis(con, run_id, with_workflows=True)
        roots = measured_root_durations(con)
    finally:
        con.close()
    assert traced.breakdown == [] or all(c.incomplete for c in traced.completeness)
    assert {row.scenario for row in analysis.breakdown} == set(SCENARIOS)
    assert all(c.incomplete == 0 for c in analysis.completeness)
    phases = {row.phase for row in analysis.breakdown}
    assert {Phase.CLAIM, Phase.EXECUTE, Phase.SUBMIT, Phase.TASK_FINALIZE} <= phases, phases
    assert analysis.workflows is not None
    sums = attributed_per_workflow(table_rows(analysis.workflows))
    assert sums == roots and len(roots) == len(SCENARIOS) * 3
