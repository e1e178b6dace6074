"""Hand-built rows shaped like extract.analyse.analysis / baselines / breakdown dataclasses."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from extract.analyse.analysis import PhaseStats, Target, TargetCheck, check_targets
from extract.analyse.baseline_compare import Comparison
from extract.analyse.breakdown import BreakdownRow, Completeness, LifecycleRow
from extract.reports.model import Prerequisite, ReportInput, RunMeta

GOLDEN = Path(__file__).parent.parent / "golden" / "reports"
REGENERATE = "SPANBENCH_REGENERATE_GOLDEN"


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/golden/reports/<name>; SPANBENCH_REGENERATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get(REGENERATE) == "1":
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{name} differs from its golden file"


MS = 1_000_000


def stats(suite: str, scenario: str, phase: str, mean: float, n: int = 20,
          variant: str | None = None, **kw: object) -> PhaseStats:
    values = dict(std_ns=0.624 * MS, min_ns=mean * 0.96 * MS, max_ns=mean * 1.04 * MS,
                  p50_ns=mean * MS, p50_ci=(mean * 0.98 * MS, mean * 1.02 * MS),
                  p95_ns=mean * 1.03 * MS if n >= 20 else None,
                  p95_ci=(mean * MS, mean * 1.04 * MS) if n >= 20 else None,
                  p99_ns=None, p99_ci=None, mean_ci=(mean * 0.99 * MS, mean * 1.01 * MS),
                  outliers_mild=2, outliers_severe=0, batch_size=1, notes=())
    values["mean_ns"] = mean * MS
    values.update(kw)
    return PhaseStats(suite, scenario, variant, phase, n, 0, **values)  # type: ignore[arg-type]


def target(suite: str, scenario: str | None, phase: str, metric: str, threshold: float,
           label: str) -> Target:
    return Target(suite, scenario, phase, metric, threshold, label, None)


def sample_report() -> ReportInput:
    """Two suites: task_initialization passes; e2e_latency has a warning, a failure, a gap."""
    rows = [
        stats("task_initialization", "linear_3", "api.create_task", 17.748),
        stats("task_initialization", "diamond_4", "api.create_task", 20.8),
        stats("e2e_latency", "linear_3", "e2e.workflow", 480.0, n=10, outliers_severe=1),
        stats("e2e_latency", "diamond_4", "e2e.workflow", 612.3, n=10,
              notes=("batched: 10 workflows per sample",)),
    ]
    checks: list[TargetCheck] = check_targets(rows, [
        target("task_initialization", "linear_3", "api.create_task", "mean", 50,
               "Task Creation (3 steps)"),
        target("task_initialization", "diamond_4", "api.create_task", "mean", 75,
               "Task Creation (4 steps)"),
        target("e2e_latency", "linear_3", "e2e.workflow", "mean", 500,
               "Complete Workflow (3 steps)"),
        target("e2e_latency", "diamond_4", "e2e.workflow", "mean", 500,
               "Complete Workflow (diamond)"),
        target("e2e_latency", "tree_7", "e2e.workflow", "p99", 1500, "Tree (7 steps)"),
    ])
    comparisons = [
        Comparison("task_initialization", "linear_3", None, "api.create_task",
                   18_200_000, 17_748_000, -0.0248, "Stable", 5, 5, 0.05, 0.004,
                   "5% (floor; spread 0.4% over 10 blocks)", 1),
        Comparison("e2e_latency", "diamond_4", None, "e2e.workflow",
                   500_000_000, 612_300_000, 0.2246, "Regressed", 3, 3, 0.1664, 0.04,
                   "16.6% = 4.16 × spread 4.0% over 20 runs of its history", 1),
    ]
    return ReportInput(
        meta=RunMeta("20261129T222039Z-3fa9c2", datetime(2026, 11, 29, 22, 20, 39, tzinfo=UTC),
                     "abc123def456", "Reference stack (started by spanbench run)"),
        stats=rows, checks=checks, comparisons=comparisons, baseline_name="main",
        breakdown=[BreakdownRow("linear_3", "execute", 210_000_000, 260_000_000, 0.45, 9),
                   BreakdownRow("linear_3", "wait", 150_000_000, 170_000_000, 0.30, 9),
                   BreakdownRow("linear_3", "claim", 120_000_000, 130_000_000, 0.25, 9)],
        completeness=[Completeness("linear_3", 9, 1, {"claim": 1})],
        lifecycle=[LifecycleRow("linear_3", 6.0, 2.0, None, 19, 2, 20 / 3)],
        prerequisites=(Prerequisite("Orchestration service healthy", True,
                                    "http://localhost:8080"),))
