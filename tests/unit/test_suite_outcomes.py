"""A failing suite fails alone; skipped and failed suites are recorded and reported as such."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from extract.reports.ci_json import combined_document, suite_document
from extract.reports.console import console_report
from extract.reports.files import write_reports
from extract.reports.junit import junit_xml
from extract.reports.logs import suite_log, summary_markdown
from extract.reports.model import ReportInput
from extract.store.run_json import RunJsonError, RunRecord, SuiteRecord, parse
from instrument.drivers.base import DriverContext, NoProgress
from spanbench.cli.run_command import EXIT_FAILED, EXIT_PREREQUISITE, exit_code
from spanbench.runner import job, scratch
from spanbench.runner.deployment import Deployment
from spanbench.runner.prerequisites import SuiteReadiness
from spanbench.runner.scratch import ScratchDatabase
from spanbench.vocabulary import Phase
from tests.otlp_capture import OtlpCapture
from tests.unit.reports_fixture import sample_report
from tests.unit.test_reports_ci import SCHEMA, errors

SKIPPED = SuiteRecord("skipped", "needs an orchestration API and workers, which this run "
                                 "does not name")
FAILED = SuiteRecord("failed", "RuntimeError: relation \"task_namespaces\" already exists")


def _measures(ctx: DriverContext) -> str:
    for iteration in ctx.iterations("direct", 2, 0):
        with ctx.guard(iteration), ctx.recorder.phase(Phase.HANDLER_DIRECT,
                                                      parent=ctx.parent(iteration)):
            pass
    return "measured"


def _raises_in_setup(ctx: DriverContext) -> None:
    raise RuntimeError("could not seed the dataset\nDETAIL: the second line stays out")


def _fake(suite: str, run: object) -> SimpleNamespace:
    return SimpleNamespace(SUITE=suite, SCENARIOS=("direct",), NEEDS=frozenset(), run=run)


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = {"sql_functions": _fake("sql_functions", _raises_in_setup),
                "event_propagation": _fake("event_propagation", _measures),
                "handler_overhead": _fake("handler_overhead", _measures),
                "e2e_latency": _fake("e2e_latency", _measures)}
    monkeypatch.setattr(job, "DRIVERS", registry)


@pytest.mark.usefixtures("fake_registry")
def test_a_suite_whose_setup_raises_fails_alone(tmp_path: Path,
                                                otlp_capture: OtlpCapture) -> None:
    deployment = Deployment("postgresql://nowhere/db", None, (), otlp_capture.endpoint, tmp_path)
    options = job.RunOptions(["sql_functions", "event_propagation", "handler_overhead",
                              "e2e_latency"], quick=True)
    plan = [SuiteReadiness("sql_functions", True), SuiteReadiness("event_propagation", True),
            SuiteReadiness("handler_overhead", True),
            SuiteReadiness("e2e_latency", False, SKIPPED.reason)]
    outcome = job.run_suites(deployment, "r1", options, NoProgress(), tmp_path / "art",
                             plan)
    probes = {suite: record.probe for suite, record in outcome.suites.items()}
    assert probes["sql_functions"] is None and probes["e2e_latency"] is None
    for suite in ("event_propagation", "handler_overhead"):  # read as each suite ran
        assert probes[suite] is None or (
            sorted(probes[suite]) == ["mean_ns", "median_ns", "nap_mean_ns", "nap_median_ns",
                                      "readings"]
            and all(isinstance(ns, int) and ns > 0 for ns in probes[suite].values()))
    recorded = {suite: dataclasses.replace(record, machine=None, probe=None)  # the machine's
                for suite, record in outcome.suites.items()}
    assert recorded == {
        "sql_functions": SuiteRecord("failed", "RuntimeError: could not seed the dataset"),
        "event_propagation": SuiteRecord("ran"), "handler_overhead": SuiteRecord("ran"),
        "e2e_latency": SKIPPED}
    assert outcome.results == {"event_propagation": "measured", "handler_overhead": "measured"}
    assert outcome.ran() == ["event_propagation", "handler_overhead"]
    assert outcome.failed() == ["sql_functions"]
    traceback = (tmp_path / "art" / "sql_functions" / job.FAILURE_FILE).read_text()
    assert "the second line stays out" in traceback and "_raises_in_setup" in traceback
    record = job.metadata("r1", dataclasses.replace(deployment, database_url=None), options,
                          datetime.now(UTC), outcome)
    assert record.to_json()["suites"]["e2e_latency"] == {"status": "skipped",
                                                         "reason": SKIPPED.reason}


def test_the_exit_code_says_what_became_of_the_suites() -> None:
    outcome = job.RunOutcome("r1", suites={"a": SuiteRecord("ran"), "b": SKIPPED})
    assert exit_code(outcome, 0) == 0  # a skip is reported, it does not fail the run
    outcome.suites["c"] = FAILED
    assert exit_code(outcome, 0) == EXIT_FAILED
    nothing = job.RunOutcome("r1", suites={"b": SKIPPED, "c": FAILED})
    assert exit_code(nothing, 0) == EXIT_PREREQUISITE


def test_run_json_keeps_each_suites_outcome_and_refuses_an_unknown_status() -> None:
    record = RunRecord(run_id="r1", suites={"sql_functions": FAILED, "e2e_latency": SKIPPED})
    document = json.loads(json.dumps(record.to_json()))
    assert document["suites"]["sql_functions"] == {"status": "failed", "reason": FAILED.reason}
    assert parse(document).suites == record.suites
    with pytest.raises(RunJsonError, match=r"suites\.x\.status"):
        parse({**document, "suites": {"x": {"status": "pass"}}})


def _with_outcomes() -> ReportInput:
    return dataclasses.replace(sample_report(), outcomes={
        "task_initialization": SuiteRecord("ran"), "e2e_latency": FAILED,
        "step_enqueueing": SKIPPED})


def test_every_report_names_a_skipped_or_failed_suite_and_why(tmp_path: Path) -> None:
    report = _with_outcomes()
    assert report.suites() == ["task_initialization", "step_enqueueing", "e2e_latency"]
    console = console_report(report)
    assert f"⚠️  SKIPPED: {SKIPPED.reason}" in console
    assert f"❌ FAILED: {FAILED.reason}" in console
    assert f"⚠️  SKIPPED: {SKIPPED.reason}" in suite_log(report, "step_enqueueing")
    summary = summary_markdown(report)
    assert f"❌ FAILED: {FAILED.reason}" in summary and "## step_enqueueing" in summary

    skipped_doc = suite_document(report, "step_enqueueing")
    assert (skipped_doc["status"], skipped_doc["reason"]) == ("skipped", SKIPPED.reason)
    assert skipped_doc["results"] == []  # a skip is never a pass
    assert suite_document(report, "task_initialization")["status"] == "ran"
    combined = combined_document(report)
    assert errors(combined, SCHEMA) == []
    assert (combined["summary"]["suites_skipped"], combined["summary"]["suites_failed"]) == (1, 1)

    junit = ET.fromstring(junit_xml(report))
    skipped = junit.find("testsuite[@name='step_enqueueing']/testcase/skipped")
    assert skipped is not None and skipped.get("message") == SKIPPED.reason
    error = junit.find("testsuite[@name='e2e_latency']/testcase/error")
    assert error is not None and error.get("message") == FAILED.reason

    write_reports(report, tmp_path)
    assert (tmp_path / "latest" / "step_enqueueing.json").exists()
    assert "SKIPPED" in (tmp_path / "latest" / "report.html").read_text()


class CopyLog:
    """A stand-in for scratch.open_scratch that logs when the copy is made and dropped."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @contextmanager
    def open_scratch(self, source_url: str, run_id: str) -> Iterator[ScratchDatabase]:
        self.events.append("made")
        try:
            yield ScratchDatabase("copy", f"{source_url}_copy")
        finally:
            self.events.append("dropped")


def _logs_where_it_ran(copies: CopyLog, interrupt: bool = False) -> object:
    def run(ctx: DriverContext) -> None:
        copies.events.append(f"{ctx.suite} on {ctx.system.endpoints.database_url}")
        if interrupt:
            raise KeyboardInterrupt

    return run


def _scratch_registry(monkeypatch: pytest.MonkeyPatch, interrupt_in: str = "") -> CopyLog:
    copies = CopyLog()
    monkeypatch.setattr(scratch, "open_scratch", copies.open_scratch)
    registry = {}
    for suite, in_scratch in (("sql_functions", True), ("event_propagation", True),
                              ("handler_overhead", False)):
        fake = _fake(suite, _logs_where_it_ran(copies, suite == interrupt_in))
        fake.IN_SCRATCH = in_scratch
        registry[suite] = fake
    monkeypatch.setattr(job, "DRIVERS", registry)
    return copies


def _run_all_three(tmp_path: Path, endpoint: str) -> job.RunOutcome:
    names = ["sql_functions", "event_propagation", "handler_overhead"]
    deployment = Deployment("postgresql://h/db", None, (), endpoint, tmp_path)
    return job.run_suites(deployment, "r1", job.RunOptions(names, quick=True), NoProgress(),
                          tmp_path / "art", [SuiteReadiness(name, True) for name in names])


def test_the_scratch_suites_share_one_copy_dropped_after_the_last_of_them(
        tmp_path: Path, otlp_capture: OtlpCapture, monkeypatch: pytest.MonkeyPatch) -> None:
    copies = _scratch_registry(monkeypatch)
    outcome = _run_all_three(tmp_path, otlp_capture.endpoint)
    assert outcome.ran() == ["sql_functions", "event_propagation", "handler_overhead"]
    assert copies.events == ["made", "sql_functions on postgresql://h/db_copy",
                             "event_propagation on postgresql://h/db_copy", "dropped",
                             "handler_overhead on postgresql://h/db"]


def test_ctrl_c_before_the_last_scratch_suite_drops_the_copy(
        tmp_path: Path, otlp_capture: OtlpCapture, monkeypatch: pytest.MonkeyPatch) -> None:
    copies = _scratch_registry(monkeypatch, interrupt_in="sql_functions")
    outcome = _run_all_three(tmp_path, otlp_capture.endpoint)
    assert outcome.interrupted
    assert outcome.suites["event_propagation"].reason == "not reached: the run was interrupted"
    assert copies.events == ["made", "sql_functions on postgresql://h/db_copy", "dropped"]
