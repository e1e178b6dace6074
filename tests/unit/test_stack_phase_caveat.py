"""Suites whose reports include the deployment's own spans say, before any timing, when those
spans may not reach the run's sink, and the run says afterwards how many arrived."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from extract.store.run_json import SUITE_RAN, SUITE_SKIPPED, SuiteRecord
from instrument.drivers.base import Need
from spanbench.runner import job
from spanbench.runner.deployment import Deployment
from spanbench.runner.prerequisites import Check, banner

CHOSEN = ["sql_functions", "task_initialization", "e2e_latency"]
CHECKS = [Check(name, True, "ok", need=need) for name, need in (
    ("Database reachable", Need.DATABASE), ("Orchestration healthy", Need.ORCHESTRATION),
    ("Workers healthy", Need.WORKERS))]
DRIVERS_SERVICE = "spanbench-driver"


def _deployment(tmp_path: Path, **flags: bool) -> Deployment:
    return Deployment("postgresql://h/db", "http://127.0.0.1:9", (), "http://127.0.0.1:9",
                      tmp_path, **flags)


@pytest.fixture
def sink_services(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    status: dict[str, Any] = {"services": {}}
    monkeypatch.setattr(job, "sink_status", lambda endpoint: status)
    monkeypatch.setattr(job, "cannot_run", lambda suite, deployment, system, writes=False: None)
    return status


def _caveats(deployment: Deployment) -> dict[str, str]:
    return {suite.suite: suite.caveat for suite in job.plan(deployment, CHOSEN, CHECKS)}


def test_a_deployment_spanbench_did_not_start_gets_a_caveat_on_its_stack_phase_suites(
        tmp_path: Path, sink_services: dict[str, Any]) -> None:
    sink_services["services"] = {DRIVERS_SERVICE: 40}
    caveats = _caveats(_deployment(tmp_path, started_sink=True))
    assert caveats["sql_functions"] == ""
    assert caveats["task_initialization"] == caveats["e2e_latency"] != ""
    plan = job.plan(_deployment(tmp_path, started_sink=True), CHOSEN, CHECKS)
    text = banner(CHECKS, plan)
    assert "⚠️  e2e_latency: ready; its stack phases come from the deployment's own spans" in text
    assert "spanbench collect" in text
    assert "⚠️  2 suite(s) ready with a caveat" in text and "All prerequisites met" not in text


def test_an_external_sink_is_named_in_the_fix(tmp_path: Path,
                                              sink_services: dict[str, Any]) -> None:
    [e2e] = [suite for suite in job.plan(_deployment(tmp_path), CHOSEN, CHECKS)
             if suite.suite == "e2e_latency"]
    assert e2e.runnable and "export the deployment's spans to http://127.0.0.1:9" in e2e.fix


def test_the_fix_names_the_sink_s_grpc_endpoint_when_it_has_one(
        tmp_path: Path, sink_services: dict[str, Any]) -> None:
    sink_services["listen"] = {"http": "127.0.0.1:9", "grpc": "127.0.0.1:7"}
    [e2e] = [suite for suite in job.plan(_deployment(tmp_path), CHOSEN, CHECKS)
             if suite.suite == "e2e_latency"]
    assert e2e.fix.startswith("export the deployment's spans to http://127.0.0.1:7 "
                              "(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:7 "
                              "OTEL_EXPORTER_OTLP_PROTOCOL=grpc)")
    own = job.plan(_deployment(tmp_path, started_sink=True), CHOSEN, CHECKS)
    assert all("spanbench collect --grpc 127.0.0.1:4317" in suite.fix
               and "OTEL_EXPORTER_OTLP_PROTOCOL=grpc" in suite.fix
               for suite in own if suite.caveat)


def test_no_caveat_when_the_run_started_the_stack_or_the_sink_has_its_spans(
        tmp_path: Path, sink_services: dict[str, Any]) -> None:
    assert set(_caveats(_deployment(tmp_path, started_sink=True, started_stack=True)
                        ).values()) == {""}
    sink_services["services"] = {DRIVERS_SERVICE: 3, "tasker-orchestration": 12}
    assert set(_caveats(_deployment(tmp_path)).values()) == {""}


def test_after_the_run_the_note_counts_the_deployments_spans(tmp_path: Path) -> None:
    outcome = job.RunOutcome("r1", suites={"e2e_latency": SuiteRecord(SUITE_RAN),
                                           "task_initialization": SuiteRecord(SUITE_SKIPPED)})
    named = _deployment(tmp_path)
    none_arrived = job.deployment_spans_note(named, outcome,
                                             {"services": {DRIVERS_SERVICE: 90}})
    assert none_arrived is not None and "no span of the deployment reached the sink" in none_arrived
    assert "e2e_latency" in none_arrived and "task_initialization" not in none_arrived
    assert job.deployment_spans_note(named, outcome, {"services": {
        DRIVERS_SERVICE: 90, "tasker-worker": 7, "": 2}}) == \
        "deployment spans at the sink: (no service.name) 2, tasker-worker 7"
    assert "not known" in str(job.deployment_spans_note(named, outcome, {"error": "refused"}))
    ours = _deployment(tmp_path, started_stack=True)
    assert job.deployment_spans_note(ours, outcome, {"services": {}}) is None
    only_database = job.RunOutcome("r2", suites={"sql_functions": SuiteRecord(SUITE_RAN)})
    assert job.deployment_spans_note(named, only_database, {"services": {}}) is None


def test_before_the_suites_the_export_settings_are_printed_for_stack_phase_suites_only(
        tmp_path: Path, sink_services: dict[str, Any]) -> None:
    sink_services["listen"] = {"http": "127.0.0.1:9", "grpc": "127.0.0.1:7"}
    named = _deployment(tmp_path)
    note = job.export_note(named, job.plan(named, CHOSEN, CHECKS))
    assert note is not None and "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:7" in note
    assert job.export_note(named, job.plan(named, ["sql_functions"], CHECKS)) is None
    ours = _deployment(tmp_path, started_sink=True, started_stack=True)
    assert job.export_note(ours, job.plan(ours, CHOSEN, CHECKS)) is None
