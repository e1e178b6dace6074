"""`spanbench report` and `spanbench compare` over Parquet written here (no stack, no sink),
and one whole quick run that writes every report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from extract.analyse.confirmation import record
from extract.store.runstore import RunStore
from stack.local import postgres
from tests.fake_runs import write_calls_run


def spanbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPANBENCH_HOME": str(cwd / ".spanbench"), "COLUMNS": "200"}
    env.pop("SPANBENCH_SINK_OUT", None)
    return subprocess.run([sys.executable, "-m", "spanbench", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_report_regenerates_everything_from_parquet(tmp_path: Path) -> None:
    runs = tmp_path / ".spanbench" / "runs"
    write_calls_run(runs, "20261129T220000Z-aaaaaa", {"linear_3": 10.0, "diamond_4": 12.0})
    write_calls_run(runs, "unassigned", {"linear_3": 10.0})  # the sink's spans without a run id
    result = spanbench("report", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "📊 BENCHMARK RESULTS: TASK INITIALIZATION" in result.stdout
    assert "task_initialization/linear_3/api.create_task   time: [" in result.stdout
    latest = tmp_path / "tmp" / "benchmarks" / "latest"
    assert sorted(p.name for p in latest.iterdir()) == [
        "github-action-benchmark.json", "junit.xml", "report.html", "results.json", "summary.md",
        "task_initialization.json", "task_initialization.log"]
    log = (latest / "task_initialization.log").read_text()
    assert "Run: 20261129T220000Z-aaaaaa" in log
    assert log.startswith("# Benchmark Run: task_initialization\nDate: 2026-11-29 22:00:00 UTC")
    assert "- [x] Database reachable (PG 17)" in log
    results = json.loads((latest / "results.json").read_text())
    [suite] = results["suites"]
    linear = next(r for r in suite["results"] if r["scenario"] == "linear_3")
    assert linear["n"] == 30 and linear["status"] == "warning"  # p99 needs n ≥ 100


def test_a_failed_target_exits_1_and_names_the_check(tmp_path: Path) -> None:
    runs = tmp_path / ".spanbench" / "runs"
    write_calls_run(runs, "20261129T220000Z-aaaaaa", {"linear_3": 10.0})
    targets = tmp_path / "targets.toml"
    targets.write_text('[[target]]\nsuite = "task_initialization"\nscenario = "linear_3"\n'
                       'phase = "api.create_task"\nmetric = "mean"\nthreshold_ms = 5\n'
                       'label = "Task Creation (3 steps)"\n')
    result = spanbench("report", "--targets", str(targets), "--output-dir", "reports",
                       cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith(
        "FAIL task_initialization/linear_3 api.create_task mean 10.20 ms ≥ 5 ms")
    junit = (tmp_path / "reports" / "latest" / "junit.xml").read_text()
    assert "<failure" in junit


def test_input_problems_exit_2(tmp_path: Path) -> None:
    result = spanbench("report", cwd=tmp_path)
    assert result.returncode == 2 and "no run under" in result.stderr
    write_calls_run(tmp_path / ".spanbench" / "runs", "20261129T220000Z-aaaaaa", {"linear_3": 10.0})
    result = spanbench("report", "--baseline", "nope", cwd=tmp_path)
    assert result.returncode == 2 and "no baseline named 'nope'" in result.stderr
    result = spanbench("report", "--targets", str(tmp_path / "missing.toml"), cwd=tmp_path)
    assert result.returncode == 2 and "cannot read targets" in result.stderr


def test_compare_two_runs_prints_the_table(tmp_path: Path) -> None:
    """One run against one run cannot say how far runs of the same code move: +25% is
    Unstable, the run passes, and the table says what would decide it."""
    runs = tmp_path / ".spanbench" / "runs"
    write_calls_run(runs, "20261129T220000Z-aaaaaa", {"linear_3": 10.0, "diamond_4": 12.0})
    write_calls_run(runs, "20261129T230000Z-bbbbbb", {"linear_3": 10.0, "diamond_4": 15.0})
    result = spanbench("compare", "20261129T220000Z-aaaaaa", "20261129T230000Z-bbbbbb",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("# Performance Baseline Comparison\nBaseline: ")
    assert "| task_initialization/diamond_4/api.create_task | 12.2ms | 15.3ms | +25.0% | " \
           "⚠️ Unstable | 5% (floor; spread 0.7% over 10 blocks); undecided: needs 3 runs of " \
           "the same code |" in result.stdout
    assert "✅ Stable" in result.stdout
    assert "2 of 2 benchmarks undecided" in result.stdout
    assert result.stderr == ""


FIVE_RUNS = (("20261129T180000Z-aaaaaa", 10.0), ("20261129T190000Z-bbbbbb", 11.0),
             ("20261129T200000Z-cccccc", 12.0), ("20261129T210000Z-dddddd", 10.5),
             ("20261129T220000Z-eeeeee", 11.5))


def _against_five_runs(tmp_path: Path, current_ms: float) -> subprocess.CompletedProcess[str]:
    """`spanbench compare` of a run at `current_ms` with a baseline of FIVE_RUNS."""
    runs = tmp_path / ".spanbench" / "runs"
    for run_id, ms in FIVE_RUNS:
        write_calls_run(runs, run_id, {"linear_3": ms})
    added = spanbench("baseline", "add", "main", *(run_id for run_id, _ in FIVE_RUNS),
                      cwd=tmp_path)
    assert added.returncode == 0, added.stdout + added.stderr
    assert "baseline 'main' holds 5 runs" in added.stdout
    write_calls_run(runs, "20261129T230000Z-ffffff", {"linear_3": current_ms})
    return spanbench("compare", "main", "20261129T230000Z-ffffff", cwd=tmp_path)


def test_a_baseline_of_several_runs_widens_the_bar(tmp_path: Path) -> None:
    result = _against_five_runs(tmp_path, 12.5)
    # runs at 10 11 12 10.5 11.5: MAD 0.5 around 11, a robust spread of 6.7%; their standard
    # deviation is wider, √(2.5 / 4) = 0.79 around a mean of 11 (7.5% in logarithms), and
    # stands; one benchmark, five runs: the bound is Student's t (0.95, 4 degrees of freedom)
    # × √(1 + π/10) = 2.44 spreads (one run against the median of five), 18.3%, and +13.6% is
    # within it
    assert result.returncode == 0, result.stdout + result.stderr
    assert "⚠️ Unstable | 18.3% = 2.44 × spread 7.5% over 5 baseline runs |" in result.stdout
    absent = spanbench("baseline", "add", "main", "20261129T000000Z-eeeeee", cwd=tmp_path)
    assert absent.returncode == 2 and "error:" in absent.stderr


def test_a_change_beyond_the_spread_of_five_runs_fails(tmp_path: Path) -> None:
    result = _against_five_runs(tmp_path, 16.0)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "❌ Regressed | 18.3% = 2.44 × spread 7.5% over 5 baseline runs |" in result.stdout
    assert "undecided" not in result.stdout
    assert "REGRESSED task_initialization/linear_3" in result.stderr


@pytest.mark.parametrize("again_ms, code, verdict", [
    (11.0, 0, "⚠️ Unstable | 18.3% = 2.44 × spread 7.5% over 5 baseline runs; not confirmed by "
              "1 more run: +0.0% (Stable) |"),
    (16.5, 1, "❌ Regressed | 18.3% = 2.44 × spread 7.5% over 5 baseline runs; confirmed by 1 "
              "more run: +50.0% |")])
def test_a_regression_stands_only_when_its_confirmation_reproduces_it(
        tmp_path: Path, again_ms: float, code: int, verdict: str) -> None:
    runs = tmp_path / ".spanbench" / "runs"
    for run_id, ms in FIVE_RUNS:
        write_calls_run(runs, run_id, {"linear_3": ms})
    assert spanbench("baseline", "add", "main", *(run_id for run_id, _ in FIVE_RUNS),
                     cwd=tmp_path).returncode == 0
    judged, again = "20261129T230000Z-ffffff", "20261129T231000Z-gggggg"
    write_calls_run(runs, judged, {"linear_3": 16.0})
    write_calls_run(runs, again, {"linear_3": again_ms})
    store = RunStore.at(runs)
    store.write_record(judged, replace(store.record(judged),
                                       confirmation=record("main", [again])))
    result = spanbench("report", "--run", judged, "--baseline", "main", cwd=tmp_path)
    assert result.returncode == code, result.stdout + result.stderr
    summary = (tmp_path / "tmp" / "benchmarks" / "latest" / "summary.md").read_text()
    assert verdict in summary
    held = 1 if code else 0
    assert (f"1 regression(s) measured again before being called: {held} confirmed "
            f"(Regressed), {1 - held} not (Unstable)") in result.stdout
    assert ("REGRESSED task_initialization/linear_3" in result.stderr) == bool(code)
    other = spanbench("report", "--run", judged, "--baseline", "other", cwd=tmp_path)
    assert other.returncode == 2  # no such baseline: nothing confirmed against it either


@pytest.mark.full_run
def test_a_quick_run_writes_every_report_and_saves_a_baseline(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "TASKER_TEST_", "SPANBENCH_")) and k != "DATABASE_URL"}
    env.update(SPANBENCH_HOME=str(tmp_path / ".spanbench"), COLUMNS="200")
    result = subprocess.run([sys.executable, "-m", "spanbench", "run", "task_initialization",
                             "--quick", "--save-baseline", "smoke"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=240)
    postgres.remove(tmp_path / ".spanbench" / "run-stack")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "📊 BENCHMARK RESULTS: TASK INITIALIZATION" in result.stdout
    assert "baseline 'smoke' saved" in result.stdout
    latest = tmp_path / "tmp" / "benchmarks" / "latest"
    assert {"summary.md", "results.json", "github-action-benchmark.json", "junit.xml",
            "task_initialization.log"} <= {p.name for p in latest.iterdir()}
    assert "- [x] Database reachable" in (latest / "task_initialization.log").read_text()
    [run_id] = RunStore.at(tmp_path / ".spanbench" / "runs").run_ids()
    machine = RunStore.at(tmp_path / ".spanbench" / "runs").record(run_id).suites[
        "task_initialization"].machine
    assert machine is not None and 0 <= machine["cpu_steal"] < 1
    # the run started the stack, so it knows every process of its own: all others are foreign
    assert "cpu_niced" not in machine and 0 <= machine["cpu_foreign"] < 1

    again = spanbench("report", "--baseline", "smoke", "--output-dir", "again", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    summary = (tmp_path / "again" / "latest" / "summary.md").read_text()
    assert "## Baseline Comparison (against smoke)" in summary
    assert "❌ Regressed" not in summary
    assert "benchmarks undecided: a change is called Regressed or Improved once" in summary


def test_a_candidate_of_three_runs_is_judged_by_its_median(tmp_path: Path) -> None:
    """+15.5% in one run would be within five runs' bar (2.44 spreads, 18.3%); in three runs
    saved as a candidate, their median is judged against 1.86 spreads (t × √(0.449 + π/10)),
    13.9%."""
    runs = tmp_path / ".spanbench" / "runs"
    assert _against_five_runs(tmp_path, 12.5).returncode == 0
    candidate = ["20261129T231000Z-aaaaa1", "20261129T232000Z-aaaaa2", "20261129T233000Z-aaaaa3"]
    for run_id, ms in zip(candidate, (12.7, 12.6, 12.8), strict=True):
        write_calls_run(runs, run_id, {"linear_3": ms})
    saved = spanbench("baseline", "add", "candidate", *candidate, cwd=tmp_path)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    result = spanbench("compare", "main", "candidate", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("❌ Regressed | 13.9% = 1.86 × spread 7.5% over 5 baseline runs (current: median of "
            "3 runs) |") in result.stdout


@pytest.mark.full_run
def test_repeats_are_runs_of_their_own_judged_by_their_median(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "TASKER_TEST_", "SPANBENCH_")) and k != "DATABASE_URL"}
    env.update(SPANBENCH_HOME=str(tmp_path / ".spanbench"), COLUMNS="200")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "spanbench", "run", "task_initialization",
                               "--quick", "--repeat", "2", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        postgres.remove(tmp_path / ".spanbench" / "run-stack")
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    saved = run("--save-baseline", "pair")
    assert "repeat 1 of 2" in saved.stdout and "repeat 2 of 2" in saved.stdout
    first = RunStore.at(tmp_path / ".spanbench" / "runs").run_ids()
    assert len(first) == 2
    assert "baseline 'pair' saved" in saved.stdout and "(2 runs)" in saved.stdout
    meta = json.loads(next((tmp_path / ".spanbench" / "baselines" / "pair").glob("*.json"))
                      .read_text())
    assert sorted(entry["run_id"] for entry in meta["runs"]) == sorted(first)

    judged = run("--baseline", "pair")
    assert len(RunStore.at(tmp_path / ".spanbench" / "runs").run_ids()) == 4
    summary = (tmp_path / "tmp" / "benchmarks" / "latest" / "summary.md").read_text()
    assert "## Baseline Comparison (against pair)" in summary
    assert "(current: median of 2 runs)" in summary
    assert "baseline pair:" in judged.stdout
