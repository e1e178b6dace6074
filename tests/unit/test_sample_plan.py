"""Samples from the targets: every percentile a target names gets the samples it needs."""

from __future__ import annotations

from pathlib import Path

from extract.analyse.analysis import MIN_SAMPLES, Target, load_targets
from instrument.drivers.base import QUICK_SAMPLES, DriverContext, RunSettings
from instrument.recorder import PhaseRecorder
from instrument.systems.base import Endpoints
from instrument.systems.spanbench_stack import SpanbenchStack
from spanbench.runner import sample_plan
from spanbench.runner.suites import DRIVERS
from spanbench.vocabulary import SUITES

SYSTEM = SpanbenchStack(Endpoints("http://127.0.0.1:1", "postgresql://nowhere/db"))


def _target(suite: str, scenario: str | None, metric: str, label: str = "T") -> Target:
    return Target(suite, scenario, "p", metric, 10.0, label, None)


def _context(suite: str, **settings: object) -> DriverContext:
    return DriverContext(suite, RunSettings(run_id="r", **settings),  # type: ignore[arg-type]
                         SYSTEM, PhaseRecorder(None))


def test_every_seed_target_gets_the_samples_its_metric_needs_by_default() -> None:
    targets = load_targets()
    plan = sample_plan.planned(targets)
    for target in targets:
        driver = DRIVERS[target.suite]
        scenarios = driver.SCENARIOS if target.scenario is None else [target.scenario]
        context = _context(target.suite, planned=plan)
        seen = MIN_SAMPLES[target.metric] * sample_plan.samples_per_checked(target.suite)
        for scenario in scenarios:
            assert context.samples(driver.SAMPLES, scenario) >= seen, (target.label, scenario)


def test_e2e_targets_see_only_the_traced_half() -> None:
    plan = sample_plan.planned([_target("e2e_latency", "linear_3", "p99")])
    assert plan == {("e2e_latency", "linear_3"): 2 * 105}  # 100 seen, 5 spare


def test_a_target_the_default_already_covers_raises_nothing() -> None:
    assert sample_plan.planned([_target("sql_functions", "get_next_ready_tasks", "mean"),
                                _target("event_propagation", None, "p95")]) == {}


def test_a_suite_wide_target_raises_every_scenario() -> None:
    plan = sample_plan.planned([_target("worker_execution", None, "p99")])
    context = _context("worker_execution", planned=plan)
    assert {context.samples(50, s) for s in DRIVERS["worker_execution"].SCENARIOS} == {105}


def test_samples_and_quick_override_the_plan() -> None:
    plan = {("task_initialization", "linear_3"): 100}
    assert _context("task_initialization", planned=plan).samples(50, "linear_3") == 100
    assert _context("task_initialization", planned=plan).samples(50, "diamond_4") == 50
    assert _context("task_initialization", planned=plan, samples=7).samples(50, "linear_3") == 7
    assert _context("task_initialization", planned=plan,
                    quick=True).samples(50, "linear_3") == QUICK_SAMPLES


def test_the_console_says_how_many_samples_and_why() -> None:
    targets = load_targets()
    lines = sample_plan.describe(list(SUITES), targets)
    text = "\n".join(lines)
    assert "task_initialization  105  every scenario: p99 targets" in text
    assert "need 100, 5 spare for failed iterations" in text
    e2e = [line for line in lines if "linear_3, diamond_4, tree_7" in line]
    assert len(e2e) == 1 and " 210  " in e2e[0] and "100 stack-traced" in e2e[0]
    assert "linear_4, complex_dag_7: 50 stack-traced + 50 untraced" in text
    assert "sql_functions         50  every scenario: the suite's default, enough for its " \
           "mean targets" in text


def test_quick_and_small_samples_name_the_targets_they_cannot_check() -> None:
    targets = load_targets()
    quick = sample_plan.unchecked(list(SUITES), targets, None, quick=True)
    assert "Task Creation (3 steps) p99 (needs 100)" in quick
    assert "Complete Workflow (3 steps) p99 (needs 200)" in quick
    assert not any("mean" in line for line in quick)
    assert sample_plan.unchecked(["task_initialization"], targets, 100, quick=False) == []
    assert sample_plan.unchecked(list(SUITES), targets, None, quick=False) == []
    assert sample_plan.unchecked(["e2e_latency"], targets, 150, quick=False) == [
        "Complete Workflow (3 steps) p99 (needs 200)",
        "Complete Workflow (diamond, 4 steps) p99 (needs 200)",
        "Complete Workflow (tree, 7 steps) p99 (needs 200)"]


def test_a_targets_file_of_the_users_own_drives_the_plan(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text('[[target]]\nsuite = "step_enqueueing"\nscenario = "chain_3"\n'
                    'phase = "enqueue.total"\nmetric = "p95"\nthreshold_ms = 50\n'
                    'label = "Mine"\n', encoding="utf-8")
    plan = sample_plan.planned(load_targets(path))
    assert plan == {}  # its default, 50, already gives a p95
    path.write_text(path.read_text(encoding="utf-8").replace('"p95"', '"p99"'),
                    encoding="utf-8")
    assert sample_plan.planned(load_targets(path)) == {("step_enqueueing", "chain_3"): 105}
