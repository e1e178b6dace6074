"""handler_overhead's tasker_py scenario runs only with tasker-py installed, a tasker-core
system, its database and the worker's configuration (SPANBENCH_TASKER_PY_CONFIG); otherwise it
is skipped, and what the run records says why and what to do."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from extract.analyse.analysis import check_targets, load_targets
from instrument.drivers import handler_overhead
from instrument.drivers.base import DriverContext, RunSettings
from instrument.recorder import PhaseRecorder
from instrument.systems.base import Endpoints
from instrument.systems.spanbench_stack import SpanbenchStack
from instrument.systems.tasker_core import TaskerCore
from instrument.workload import tasker_py
from instrument.workload.tasker_py_boundary import worker_database_url
from spanbench import settings
from spanbench.runner import suites
from spanbench.runner.suites import FOREIGN_HANDLER_COMMAND, stack_handlers
from spanbench.vocabulary import Phase
from tests.unit.reports_fixture import stats

DATABASE = "postgresql://tasker@localhost/tasker"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "worker.toml"
    path.write_text("[worker]\n")
    return path


def test_it_can_run_with_everything_in_place(config: Path) -> None:
    assert tasker_py.unavailable("tasker-core", DATABASE, "0.1.8", config) is None


def test_another_system_is_skipped_naming_how_to_measure_tasker_core(config: Path) -> None:
    reason = tasker_py.unavailable("spanbench", DATABASE, "0.1.8", config)
    assert reason == ("needs a tasker-core deployment (the system measured is spanbench): set "
                      "DATABASE_URL to a tasker-core database, or run with --system tasker-core")
    assert "(no system)" in str(tasker_py.unavailable(None, "", "0.1.8", config))


def test_without_tasker_py_the_reason_says_how_to_install_it(config: Path) -> None:
    assert tasker_py.unavailable("tasker-core", DATABASE, None, config) == (
        "tasker-py, tasker-core's Python worker, is not installed: "
        "pip install 'spanbench[tasker]'")


def test_without_a_database_there_is_nothing_to_copy(config: Path) -> None:
    reason = tasker_py.unavailable("tasker-core", "", "0.1.8", config)
    assert reason is not None and "set DATABASE_URL" in reason


def test_without_the_setting_the_reason_names_it(tmp_path: Path) -> None:
    reason = tasker_py.unavailable("tasker-core", DATABASE, "0.1.8", None)
    assert reason is not None and "set SPANBENCH_TASKER_PY_CONFIG" in reason
    missing = tmp_path / "nowhere.toml"
    reason = tasker_py.unavailable("tasker-core", DATABASE, "0.1.8", missing)
    assert reason == (f"SPANBENCH_TASKER_PY_CONFIG={missing} is not a file: point it at the "
                      "TOML file")


def test_the_setting_is_read_from_the_environment(config: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.TASKER_PY_CONFIG, raising=False)
    assert tasker_py.configured() is None
    monkeypatch.setenv(settings.TASKER_PY_CONFIG, f" {config} ")
    assert tasker_py.configured() == config


def test_the_recorded_subject_follows_the_system(config: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasker_py, "installed_version", lambda: "9.9.9")
    monkeypatch.setenv(settings.TASKER_PY_CONFIG, str(config))
    driver = suites.DRIVERS[handler_overhead.SUITE]
    core = suites.subject(driver, TaskerCore(Endpoints("", DATABASE)))
    assert core is not None
    assert core["tasker_py"].startswith("tasker-core's Rust→Python FFI: tasker-py 9.9.9")
    stack = suites.subject(driver, SpanbenchStack(Endpoints("", DATABASE)))
    assert stack is not None
    assert stack["tasker_py"] == ("not measured: needs a tasker-core deployment (the system "
                                  "measured is spanbench): set DATABASE_URL to a tasker-core "
                                  "database, or run with --system tasker-core")
    assert "tasker-py 9.9.9 is installed, but" in stack["foreign"]
    monkeypatch.delenv(settings.TASKER_PY_CONFIG)
    unset = suites.subject(driver, TaskerCore(Endpoints("", DATABASE)))
    assert unset is not None and "set SPANBENCH_TASKER_PY_CONFIG" in unset["tasker_py"]


def _context(system: object, scratch: object) -> DriverContext:
    return DriverContext(handler_overhead.SUITE, RunSettings("r1", quick=True),
                         system, PhaseRecorder(None),  # type: ignore[arg-type]
                         handlers=stack_handlers(), foreign_command=FOREIGN_HANDLER_COMMAND,
                         scratch_database=scratch)  # type: ignore[arg-type]


def test_a_skipped_tasker_py_never_makes_a_scratch_database(
        config: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(tasker_py, "installed_version", lambda: "9.9.9")
    monkeypatch.delenv(settings.TASKER_PY_CONFIG, raising=False)
    made: list[str] = []
    ctx = _context(TaskerCore(Endpoints("", DATABASE)), lambda: made.append("copy") or "")
    with caplog.at_level(logging.INFO, logger=handler_overhead.__name__):
        handler_overhead.run(ctx)
    assert ctx.failures == [] and made == []
    assert "tasker_py skipped: needs the worker's configuration" in caplog.text


def test_tasker_py_without_a_scratch_database_on_its_context_fails_loudly(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasker_py, "installed_version", lambda: "9.9.9")
    monkeypatch.setenv(settings.TASKER_PY_CONFIG, str(config))
    ctx = _context(SimpleNamespace(name="tasker-core", endpoints=Endpoints("", DATABASE)), None)
    with pytest.raises(ValueError, match="tasker_py needs a scratch database"):
        handler_overhead.run(ctx)


def test_the_seeds_ffi_target_applies_to_both_boundaries_not_their_parts() -> None:
    ffi = [t for t in load_targets() if t.label == "FFI Overhead"]
    rows = [stats(handler_overhead.SUITE, scenario, phase, 0.5)
            for scenario, phase in [("foreign", Phase.HANDLER_FOREIGN),
                                    ("tasker_py", Phase.HANDLER_FOREIGN),
                                    *(("tasker_py", child)
                                      for child in handler_overhead.TASKER_PY_CHILDREN)]]
    checks = check_targets(rows, ffi)
    assert [(check.scenario, check.status) for check in checks] == [("foreign", "pass"),
                                                                     ("tasker_py", "pass")]
    alone = check_targets(rows[:1], ffi)
    assert [(check.scenario, check.status) for check in alone] == [("foreign", "pass")]


@pytest.mark.parametrize(("given", "expected"), [
    ("postgresql://tasker:s%40cret@db.example:5433/tasker?sslmode=require",
     "postgresql://tasker:s%40cret@db.example:5433/tasker?sslmode=require"),
    ("postgresql://postgres@127.0.0.1:5432/spanbench_scratch_r1",
     "postgresql://postgres:unused@127.0.0.1:5432/spanbench_scratch_r1"),
    ("host=/tmp/pg port=5499 user=tasker dbname=scratch",
     "postgresql://tasker:unused@localhost/scratch?host=%2Ftmp%2Fpg&port=5499"),
])
def test_the_worker_gets_a_url_with_user_and_password(given: str, expected: str) -> None:
    assert worker_database_url(given) == expected
