"""`spanbench run --baseline --confirm N`: the suites holding a regression are run again, the
runs recorded, and the report judged with them (spanbench.cli.run_command._confirm), here
with fake runs standing in for the measured ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console

from extract.analyse.baseline_compare import add_runs
from extract.store.runstore import RunStore
from spanbench.cli import run_command
from spanbench.runner import job
from tests.fake_runs import write_calls_run

BASELINE_RUNS = (("20261129T180000Z-aaaaaa", 10.0), ("20261129T190000Z-bbbbbb", 11.0),
                 ("20261129T200000Z-cccccc", 12.0))
JUDGED = "20261129T230000Z-ffffff"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunStore:
    monkeypatch.setenv("SPANBENCH_HOME", str(tmp_path))
    runs = tmp_path / "runs"
    for run_id, ms in BASELINE_RUNS:
        write_calls_run(runs, run_id, {"linear_3": ms})
    add_runs(runs, run_command.baselines_dir(), "main", [run_id for run_id, _ in BASELINE_RUNS])
    write_calls_run(runs, JUDGED, {"linear_3": 20.0, "diamond_4": 10.0})
    return RunStore.at(runs)


def confirm(store: RunStore, measure: Any, monkeypatch: pytest.MonkeyPatch, count: int = 2
            ) -> Any:
    monkeypatch.setattr(run_command, "_measure", measure)
    report = run_command.collect(store, JUDGED, baseline="main")
    assert [row.status for row in report.comparisons if row.scenario == "linear_3"] == [
        "Regressed"]
    quiet = Console(file=open("/dev/null", "w"))  # noqa: SIM115
    return run_command._confirm(
        quiet, quiet, report, count, store=store, home=store.root, workers=2,
        options=job.RunOptions(["task_initialization", "event_propagation"]), tee_otlp=(),
        targets=None, baseline="main", chosen_phase_map=None, output_dir=store.root / "out",
        earlier_runs=())


def test_the_suites_holding_a_regression_run_again_and_judge_it(
        store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[list[str], str | None]] = []
    made = iter(["20261129T231000Z-111111", "20261129T232000Z-222222"])

    def measure(*_: Any, options: job.RunOptions, baseline: str | None, **__: Any
                ) -> tuple[int, str]:
        asked.append((list(options.suites), baseline))
        run_id = next(made)
        write_calls_run(store.root, run_id, {"linear_3": 10.5 if run_id.endswith("2") else 21.0,
                                             "diamond_4": 10.0})
        return 0, run_id

    report = confirm(store, measure, monkeypatch)
    assert asked == [(["task_initialization"], None)] * 2
    assert store.record(JUDGED).confirmation == {
        "baseline": "main", "runs": ["20261129T231000Z-111111", "20261129T232000Z-222222"]}
    [row] = [row for row in report.comparisons if row.scenario == "linear_3"]
    assert row.status == "Unstable"
    assert row.confirmation.startswith("not confirmed by 2 more runs: +")


def test_a_confirmation_that_cannot_run_leaves_the_regression_standing(
        store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def measure(*_: Any, **__: Any) -> tuple[int, str]:
        raise typer.Exit(2)

    report = confirm(store, measure, monkeypatch, count=1)
    assert [row.status for row in report.comparisons if row.scenario == "linear_3"] == [
        "Regressed"]
    assert store.record(JUDGED).confirmation is None


def test_an_interrupted_confirmation_stops_the_run(
        store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def measure(*_: Any, **__: Any) -> tuple[int, str]:
        raise typer.Exit(run_command.EXIT_INTERRUPTED)

    with pytest.raises(typer.Exit):
        confirm(store, measure, monkeypatch, count=1)
