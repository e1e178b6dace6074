"""The run measures the reference stack through its adapter and says so in run.json."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from extract.store import run_json
from instrument.systems.completion import completion_method
from spanbench.runner import job
from spanbench.runner.deployment import Deployment
from spanbench.runner.system_choice import SystemChoice


def _deployment(tmp_path: Path) -> Deployment:
    return Deployment("postgresql://nowhere/db", "http://127.0.0.1:1", ("http://127.0.0.1:2",),
                      "http://127.0.0.1:3", tmp_path)


def test_run_json_names_the_system(tmp_path: Path) -> None:
    deployment = _deployment(tmp_path)
    deployment.database_url = None  # no version lookup
    record = job.metadata("r1", deployment, job.RunOptions(suites=["e2e_latency"]),
                          datetime.now(UTC))
    assert record.config is not None and record.config.system == "spanbench"


def test_the_drivers_system_is_the_deployment(tmp_path: Path) -> None:
    system = job.driver_system(_deployment(tmp_path))
    assert system.name == "spanbench"
    assert (system.endpoints.orchestration_url, system.endpoints.database_url,
            system.endpoints.worker_urls) == ("http://127.0.0.1:1", "postgresql://nowhere/db",
                                              ("http://127.0.0.1:2",))


def test_the_systems_credentials_come_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TASKER_ORCHESTRATION_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("TASKER_AUTH_TOKEN", "s3cret")
    system = job.driver_system(_deployment(tmp_path))
    assert dict(system.endpoints.auth_headers) == {"Authorization": "Bearer s3cret"}


def test_run_json_records_how_completion_is_seen(tmp_path: Path) -> None:
    deployment = _deployment(tmp_path)
    deployment.database_url = None  # no version lookup
    record = job.metadata("r1", deployment, job.RunOptions(suites=["e2e_latency"]),
                          datetime.now(UTC))
    document = run_json.parse(record.to_json()).to_json()
    assert document["config"]["completion"] == {"source": "pg_notify", "interval_s": None}
    tasker_core = SystemChoice("tasker-core")
    assert completion_method(job.measured_system(_deployment(tmp_path), tasker_core),
                             0.05).describe() == {"source": "db_poll", "interval_s": 0.0}
    assert completion_method(job.measured_system(deployment, tasker_core),
                             0.05).describe() == {"source": "api_poll", "interval_s": 0.05}
    older = run_json.parse({"schema_version": 1, "config": {"system": "spanbench"}})
    assert older.config is not None and older.config.completion is None
