"""Progress lines name what they measure (dataset size, load level) and show elapsed time and
the estimated time left."""

from __future__ import annotations

from rich.console import Console

from instrument.drivers.base import DriverContext, RunSettings
from instrument.recorder import PhaseRecorder
from instrument.systems.base import Endpoints
from instrument.systems.spanbench_stack import SpanbenchStack
from instrument.workload.load import LoadProfile
from spanbench.cli.run_command import RichProgress, progress_bars
from tests.recording_progress import RecordingProgress

SYSTEM = SpanbenchStack(Endpoints("http://127.0.0.1:1", "postgresql://nowhere/db"))


def _ctx(progress: RecordingProgress) -> DriverContext:
    return DriverContext("sql_functions", RunSettings(run_id="r1"), SYSTEM, PhaseRecorder(None),
                         progress=progress)


def test_a_line_measured_on_a_dataset_names_its_size() -> None:
    progress = RecordingProgress()
    ctx = _ctx(progress)
    for size in (1000, 5000):
        for _ in ctx.iterations("get_next_ready_tasks", samples=3, warmup=1, dataset_size=size):
            pass
    assert progress.started == [("sql_functions", "get_next_ready_tasks+1000", 4),
                                ("sql_functions", "get_next_ready_tasks+5000", 4)]
    assert progress.advanced == {("sql_functions", "get_next_ready_tasks+1000"): 4,
                                 ("sql_functions", "get_next_ready_tasks+5000"): 4}


def test_a_line_without_a_dataset_is_the_scenario() -> None:
    progress = RecordingProgress()
    list(_ctx(progress).iterations("linear_3", samples=2, warmup=0))
    assert progress.lines() == ["linear_3"]


def test_a_loaded_scenario_names_its_load_level() -> None:
    assert LoadProfile(concurrency=8).scenario("linear_3") == "linear_3@c8"


def test_each_line_shows_its_name_elapsed_and_time_left() -> None:
    console = Console(record=True, width=120, force_terminal=False)
    bars = progress_bars(console)
    progress = RichProgress(bars)
    progress.start("sql_functions", "get_next_ready_tasks+5000", 10)
    progress.advance("sql_functions", "get_next_ready_tasks+5000")
    console.print(bars.get_renderable())
    [line] = [text for text in console.export_text().splitlines() if text.strip()]
    assert line.startswith("sql_functions/get_next_ready_tasks+5000 ")
    assert "1/10" in line
    assert "0:00:00" in line
    assert " left " in line


def test_a_planned_suite_announces_its_iterations_as_its_lines_count_them() -> None:
    progress = RecordingProgress()
    ctx = DriverContext("sql_functions", RunSettings(run_id="r1", quick=True), SYSTEM,
                        PhaseRecorder(None), progress=progress)
    ctx.plan(["a", "b", "c"], samples=50, warmup=5)
    for scenario in ("a", "b", "c"):
        list(ctx.iterations(scenario, samples=50, warmup=5))
    assert progress.planned == {"sql_functions": 12}
    assert progress.iterations_of("sql_functions") == 12


def test_the_plan_counts_what_the_targets_ask_of_each_scenario() -> None:
    progress = RecordingProgress()
    settings = RunSettings(run_id="r1", planned={("e2e_latency", "b"): 7})
    ctx = DriverContext("e2e_latency", settings, SYSTEM, PhaseRecorder(None), progress=progress)
    ctx.plan(["a", "b"], samples=3, warmup=1, repeat=2)
    for _ in range(2):
        for scenario in ("a", "b"):
            list(ctx.iterations(scenario, samples=3, warmup=1))
    assert progress.planned == {"e2e_latency": 2 * (4 + 8)}
    assert progress.iterations_of("e2e_latency") == 24


def test_the_whole_suite_line_advances_with_every_line_of_the_suite() -> None:
    console = Console(record=True, width=120, force_terminal=False)
    bars = progress_bars(console)
    progress = RichProgress(bars)
    progress.plan("sql_functions", 8)
    for line in ("get_next_ready_tasks+1000", "get_next_ready_tasks+5000"):
        progress.start("sql_functions", line, 4)
        for _ in range(3 if line.endswith("5000") else 4):
            progress.advance("sql_functions", line)
    progress.start("e2e_latency", "linear_3", 2)
    progress.advance("e2e_latency", "linear_3")
    console.print(bars.get_renderable())
    lines = [text for text in console.export_text().splitlines() if text.strip()]
    [suite_line] = [text for text in lines if text.startswith("sql_functions: whole suite")]
    assert "7/8" in suite_line and " left " in suite_line
    assert not any(text.startswith("e2e_latency: whole suite") for text in lines)
