"""Suites that write into the deployment's own tables run only on a deployment the run started
itself, unless the user asks for it with --write-to-deployment."""

from __future__ import annotations

from pathlib import Path

import pytest

from instrument.drivers.base import Need
from instrument.systems.base import Endpoints
from instrument.systems.spanbench_stack import SpanbenchStack
from spanbench.runner import job, suites
from spanbench.runner.deployment import Deployment
from spanbench.runner.prerequisites import Check

WRITERS = ["step_enqueueing"]
"""worker_execution writes only on its rewind path, which it takes only when allowed
(tests/unit/test_worker_execution_mode.py): it is never skipped for it."""
CHECKS = [Check(name, True, "ok", need=need) for name, need in (
    ("Database reachable", Need.DATABASE), ("Orchestration healthy", Need.ORCHESTRATION),
    ("Workers healthy", Need.WORKERS))]
SYSTEM = SpanbenchStack(Endpoints("http://127.0.0.1:9", "postgresql://h/db"))


@pytest.fixture(autouse=True)
def no_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job, "sink_status", lambda endpoint: {"error": "none"})


def _deployment(tmp_path: Path, started_stack: bool) -> Deployment:
    return Deployment("postgresql://h/db", "http://127.0.0.1:9", (), "http://127.0.0.1:9",
                      tmp_path, started_stack=started_stack)


def test_only_the_suites_that_write_say_so() -> None:
    writers = [suite for suite in suites.DRIVERS if suites.writes_deployment(suite)]
    assert sorted(writers) == WRITERS


def test_a_named_deployment_is_not_written_to(tmp_path: Path) -> None:
    named = _deployment(tmp_path, started_stack=False)
    for suite in WRITERS:
        reason = job.cannot_run(suite, named, SYSTEM)
        assert reason is not None and "did not start the deployment" in reason
        assert "--write-to-deployment" in reason
    assert job.cannot_run("task_initialization", named, SYSTEM) is None
    assert job.cannot_run("worker_execution", named, SYSTEM) is None
    plan = job.plan(named, ["task_initialization", "worker_execution", *WRITERS], CHECKS)
    assert [suite.suite for suite in plan if suite.runnable] == ["task_initialization",
                                                                 "worker_execution"]


def test_the_runs_own_stack_or_the_users_consent_lets_them_run(tmp_path: Path) -> None:
    ours = _deployment(tmp_path, started_stack=True)
    named = _deployment(tmp_path, started_stack=False)
    for suite in WRITERS:
        assert job.cannot_run(suite, ours, SYSTEM) is None
        assert job.cannot_run(suite, named, SYSTEM, write_to_deployment=True) is None
    plan = job.plan(named, WRITERS, CHECKS, write_to_deployment=True)
    assert all(suite.runnable for suite in plan)
