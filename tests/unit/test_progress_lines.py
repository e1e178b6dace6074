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
