"""Targets: the shipped file parses; statuses at the boundaries; scenario and variant fan-out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from extract.analyse.analysis import (
    PhaseStats,
    Target,
    check_targets,
    default_targets_path,
    load_targets,
)

MS = 1_000_000
ROOT = Path(__file__).resolve().parents[2]
BASE = PhaseStats(
    suite="worker_execution", scenario="noop", variant=None, phase="claim", n=100, errors=0,
    mean_ns=0.0, std_ns=0.0, min_ns=0.0, max_ns=0.0, p50_ns=0.0, p50_ci=None, p95_ns=None,
    p95_ci=None, p99_ns=None, p99_ci=None, mean_ci=None, outliers_mild=0, outliers_severe=0,
    batch_size=1, notes=())
CLAIM = Target("worker_execution", None, "claim", "mean", 20.0, "Worker Claim", None)


def _stats(mean_ms: float, **changes: object) -> PhaseStats:
    return dataclasses.replace(BASE, mean_ns=mean_ms * MS, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("mean_ms", "status"), [
    (17.99, "pass"), (18.0, "warning"), (19.99, "warning"), (20.0, "fail"), (25.0, "fail"),
])
def test_status_at_the_boundaries(mean_ms: float, status: str) -> None:
    [check] = check_targets([_stats(mean_ms)], [CLAIM])
    assert check.status == status
    assert check.measured_ms == pytest.approx(mean_ms)
    assert check.ratio == pytest.approx(20.0 / mean_ms)


def test_missing_when_no_data_or_too_few_samples() -> None:
    [check] = check_targets([], [CLAIM])
    assert (check.status, check.measured_ms, check.ratio) == ("missing", None, None)
    p95 = dataclasses.replace(CLAIM, metric="p95")
    few = _stats(1.0, n=10, notes=("p95 needs ≥ 20 samples (n = 10)",))
    [check] = check_targets([few], [p95])
    assert check.status == "missing"
    assert "p95 needs ≥ 20 samples (n = 10)" in check.message


def test_scenario_none_covers_every_scenario_and_sql_variants_apart() -> None:
    stats = [_stats(1.0), _stats(30.0, scenario="database"), _stats(1.0, phase="execute")]
    checks = check_targets(stats, [CLAIM])
    assert [(c.scenario, c.status) for c in checks] == [("noop", "pass"), ("database", "fail")]
    sql = Target("sql_functions", "get_next_ready_tasks", "sql.get_next_ready_tasks", "mean",
                 3.0, "Task Discovery", "1.75–2.93 ms")
    sizes = [_stats(ms, suite="sql_functions", scenario="get_next_ready_tasks",
                    phase="sql.get_next_ready_tasks", variant=size)
             for ms, size in ((1.0, "1000"), (2.8, "100000"))]
    assert [(c.variant, c.status) for c in check_targets(sizes, [sql])] == [
        ("1000", "pass"), ("100000", "warning")]


def test_the_shipped_targets() -> None:
    targets = load_targets()
    assert (ROOT / "targets.toml").read_text() == default_targets_path().read_text()
    assert len(targets) == 20
    by_label = {t.label: t for t in targets}
    assert by_label["Task Creation (3 steps)"] == Target(
        "task_initialization", "linear_3", "api.create_task", "p99", 50.0,
        "Task Creation (3 steps)", "17.7 ms")
    assert by_label["Handler (pure)"].threshold_ms == pytest.approx(0.001)
    assert {t.metric for t in targets} == {"mean", "p50", "p95", "p99"}


def test_a_bad_targets_file_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[[target]]\nsuite = "s"\nphase = "p"\nmetric = "p90"\n'
                    'threshold_ms = 1\nlabel = "x"\n')
    with pytest.raises(ValueError, match="metric 'p90' is not one of"):
        load_targets(path)
    path.write_text('[[target]]\nsuite = "s"\n')
    with pytest.raises(ValueError, match="lacks label, metric, phase, threshold_ms"):
        load_targets(path)
