"""worker_execution's path: its own worker cycle on rewound steps only where the system lends
them and the run may write into the deployment; through the API (derived phases) elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from instrument.drivers import worker_execution
from instrument.drivers.base import DriverContext, NoProgress
from instrument.systems.base import Endpoints
from instrument.systems.spanbench_stack import SpanbenchStack
from instrument.systems.tasker_core import TaskerCore
from spanbench.runner import job
from spanbench.runner.deployment import Deployment
from tests.otlp_capture import OtlpCapture

ENDPOINTS = Endpoints("http://127.0.0.1:9", "postgresql://h/db")
STACK = SpanbenchStack(ENDPOINTS)
TASKER_CORE = TaskerCore(ENDPOINTS)


def test_a_system_without_step_rewinds_runs_through_the_api() -> None:
    assert worker_execution.mode(TASKER_CORE, writes_allowed=True) == worker_execution.API_MODE
    assert worker_execution.mode(TASKER_CORE, writes_allowed=False) == worker_execution.API_MODE


def test_the_stack_s_steps_are_rewound_only_where_writing_is_allowed() -> None:
    assert worker_execution.mode(STACK, writes_allowed=True) == worker_execution.REWIND_MODE
    assert worker_execution.mode(STACK, writes_allowed=False) == worker_execution.API_MODE


def test_a_system_without_its_send_with_notify_runs_through_the_api() -> None:
    broken = TaskerCore(ENDPOINTS, unavailable={"pgmq_send_with_notify": "absent"})
    assert broken.send_with_notify_missing == "absent"
    assert worker_execution.mode(broken, writes_allowed=True) == worker_execution.API_MODE


@pytest.mark.parametrize(("started_stack", "consent", "expected"), [
    (True, False, worker_execution.REWIND_MODE),
    (False, True, worker_execution.REWIND_MODE),
    (False, False, worker_execution.API_MODE),
])
def test_a_named_deployment_without_consent_is_measured_through_the_api(
        tmp_path: Path, otlp_capture: OtlpCapture, monkeypatch: pytest.MonkeyPatch,
        started_stack: bool, consent: bool, expected: str) -> None:
    taken: list[str] = []

    def record_mode(ctx: DriverContext) -> str:
        taken.append(worker_execution.mode(ctx.system, ctx.writes_allowed))
        return taken[-1]

    monkeypatch.setattr(worker_execution, "run", record_mode)
    deployment = Deployment("postgresql://h/db", "http://127.0.0.1:9", (),
                            otlp_capture.endpoint, tmp_path, started_stack=started_stack)
    options = job.RunOptions(["worker_execution"], write_to_deployment=consent)
    outcome = job.run_suites(deployment, "r1", options, NoProgress(), tmp_path / "art")
    assert outcome.ran() == ["worker_execution"]
    assert taken == [expected]
    assert outcome.results["worker_execution"] == expected
