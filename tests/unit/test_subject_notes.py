"""A suite that times spanbench's own code says so in every report (handler_overhead's SUBJECT),
the foreign case says whether tasker-core's Python worker (tasker-py) is installed, and the
tasker_py case says what it measures or why it was not measured."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from extract.reports.ci_json import combined_document, suite_document
from extract.reports.console import console_report, suite_block
from extract.reports.files import write_reports
from extract.reports.logs import suite_log, summary_markdown
from extract.reports.model import MEASURES_HEADING, ReportInput
from extract.store.run_json import RunJsonError, RunRecord, SuiteRecord, parse
from instrument.drivers import handler_overhead
from instrument.drivers.base import DriverContext, NoProgress
from instrument.workload import tasker_py
from spanbench.runner import job, suites
from spanbench.runner.deployment import Deployment
from spanbench.runner.prerequisites import SuiteReadiness
from tests.otlp_capture import OtlpCapture
from tests.unit.reports_fixture import sample_report, stats
from tests.unit.test_reports_ci import SCHEMA, errors

SUITE = "handler_overhead"
SKIPPED = "needs a tasker-core deployment"
SUBJECT = handler_overhead.subject(None, SKIPPED)


def _report() -> ReportInput:
    """The sample run plus handler_overhead, which ran with its driver's SUBJECT recorded."""
    base = sample_report()
    rows = [stats(SUITE, scenario, phase, 0.05)
            for scenario, phase in handler_overhead.PHASES.items()]
    return dataclasses.replace(base, stats=[*base.stats, *rows], outcomes={
        "task_initialization": SuiteRecord("ran"), "e2e_latency": SuiteRecord("ran"),
        SUITE: SuiteRecord("ran", measures=SUBJECT)})


def test_handler_overhead_says_each_scenario_measures_spanbench_not_the_deployment() -> None:
    assert set(handler_overhead.SUBJECT) == set(handler_overhead.SCENARIOS)
    for scenario in ("direct", "framework", "foreign"):
        text = handler_overhead.SUBJECT[scenario]
        assert "spanbench's own" in text and "not" in text
    assert "JSON-lines process boundary" in handler_overhead.SUBJECT["foreign"]
    assert handler_overhead.SUBJECT["tasker_py"].startswith(
        "not measured: needs a tasker-core deployment (no system)")
    assert suites.subject(suites.DRIVERS[SUITE]) == handler_overhead.SUBJECT


def test_the_foreign_note_says_whether_tasker_py_is_installed() -> None:
    missing = handler_overhead.subject(None, SKIPPED)["foreign"]
    assert "tasker-py, tasker-core's Python worker, is not installed" in missing
    assert "pip install 'spanbench[tasker]'" in missing
    present = handler_overhead.subject("9.9.9", SKIPPED)["foreign"]
    assert "tasker-py 9.9.9 is installed" in present and "not measured" in present
    assert SKIPPED in present


def test_when_tasker_py_is_measured_both_rows_say_which_boundary_they_time() -> None:
    measured = handler_overhead.subject("9.9.9", None)
    assert "spanbench's own JSON-lines process boundary" in measured["foreign"]
    assert "tasker-py 9.9.9's dispatch is the tasker_py row" in measured["foreign"]
    assert measured["tasker_py"].startswith("tasker-core's Rust→Python FFI: tasker-py 9.9.9")
    assert "scratch copy of the deployment's database" in measured["tasker_py"]
    assert handler_overhead.subject("9.9.9", SKIPPED)["tasker_py"] == f"not measured: {SKIPPED}"


def test_tasker_py_is_absent_when_its_module_cannot_be_found(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasker_py, "find_spec", lambda name: None)
    assert tasker_py.installed_version() is None


def test_tasker_py_found_when_its_wheel_is_importable() -> None:
    core = pytest.importorskip("tasker_core", reason="tasker-py (tasker-core's Python worker) "
                               "is not installed: pip install 'spanbench[tasker]'")
    found = tasker_py.installed_version()
    assert found == core.get_version()
    assert f"tasker-py {found} is installed" in handler_overhead.subject(found,
                                                                      SKIPPED)["foreign"]


def test_console_log_and_summary_show_what_the_suite_measures() -> None:
    report = _report()
    block = suite_block(report, SUITE)
    assert MEASURES_HEADING in block
    for scenario, text in SUBJECT.items():
        assert f"  • {scenario}: {text}" in block
        assert f"- {scenario}: {text}" in suite_log(report, SUITE)
        assert f"- {scenario}: {text}" in summary_markdown(report)
    assert "## What It Measures" in suite_log(report, SUITE)
    assert MEASURES_HEADING not in suite_block(report, "task_initialization")
    assert "What It Measures" not in suite_log(report, "task_initialization")
    assert console_report(report).count(MEASURES_HEADING) == 1


def test_a_failed_suite_still_says_what_it_measures() -> None:
    report = dataclasses.replace(_report(), outcomes={
        SUITE: SuiteRecord("failed", "RuntimeError: boom", measures=SUBJECT)})
    assert MEASURES_HEADING in suite_block(report, SUITE)
    assert MEASURES_HEADING in summary_markdown(report)


def test_ci_json_carries_measures_per_suite_and_subject_per_result() -> None:
    report = _report()
    document = suite_document(report, SUITE)
    assert document["measures"] == SUBJECT
    subjects = {row["scenario"]: row["subject"] for row in document["measurements"]}
    assert subjects == SUBJECT
    other = suite_document(report, "task_initialization")
    assert other["measures"] is None
    assert {result["subject"] for result in other["results"]} == {None}
    assert {row["subject"] for row in other["measurements"]} == {None}
    combined = combined_document(report)
    assert errors(combined, SCHEMA) == []
    assert errors(document, SCHEMA) == []


def test_the_schema_refuses_a_measures_entry_that_is_not_text() -> None:
    document = suite_document(_report(), SUITE)
    assert errors({**document, "measures": {"direct": 3}}, SCHEMA) != []
    measurement = {**document["measurements"][0], "subject": ["spanbench"]}
    assert errors({**document, "measurements": [measurement]}, SCHEMA) != []


def test_written_reports_carry_the_note(tmp_path: Path) -> None:
    write_reports(_report(), tmp_path)
    latest = tmp_path / "latest"
    assert json.loads((latest / f"{SUITE}.json").read_text())["measures"] == SUBJECT
    assert MEASURES_HEADING in (latest / "summary.md").read_text()


def test_run_json_keeps_measures_and_refuses_non_text() -> None:
    record = RunRecord(run_id="r1", suites={SUITE: SuiteRecord("ran", measures=SUBJECT),
                                            "sql_functions": SuiteRecord("ran")})
    document = json.loads(json.dumps(record.to_json()))
    assert document["suites"]["sql_functions"] == {"status": "ran", "reason": ""}
    assert document["suites"][SUITE]["measures"] == SUBJECT
    assert parse(document).suites == record.suites
    bad = {**document, "suites": {SUITE: {"status": "ran", "measures": {"direct": 1}}}}
    with pytest.raises(RunJsonError, match=r"suites\.handler_overhead\.measures"):
        parse(bad)


def _measured(ctx: DriverContext) -> str:
    return "measured"


def _raises(ctx: DriverContext) -> None:
    raise RuntimeError("the foreign handler did not start")


def test_the_runner_records_the_drivers_subject_whether_it_ran_or_failed(
        tmp_path: Path, otlp_capture: OtlpCapture, monkeypatch: pytest.MonkeyPatch) -> None:
    declared = {"direct": "spanbench's own call"}
    monkeypatch.setattr(job, "DRIVERS", {
        "event_propagation": SimpleNamespace(SUITE="event_propagation", SCENARIOS=("x",),
                                             NEEDS=frozenset(), run=_measured),
        SUITE: SimpleNamespace(SUITE=SUITE, SCENARIOS=("direct",), NEEDS=frozenset(),
                               run=_measured, SUBJECT=declared),
        "e2e_latency": SimpleNamespace(SUITE="e2e_latency", SCENARIOS=("direct",),
                                       NEEDS=frozenset(), run=_raises, SUBJECT=declared)})
    deployment = Deployment("postgresql://nowhere/db", None, (), otlp_capture.endpoint, tmp_path)
    names = ["event_propagation", SUITE, "e2e_latency"]
    outcome = job.run_suites(deployment, "r1", job.RunOptions(names, quick=True),
                             NoProgress(), tmp_path / "art",
                             [SuiteReadiness(name, True) for name in names])
    recorded = {suite: dataclasses.replace(record, machine=None, probe=None)  # the machine's
                for suite, record in outcome.suites.items()}
    assert recorded == {
        "event_propagation": SuiteRecord("ran"),
        SUITE: SuiteRecord("ran", measures=declared),
        "e2e_latency": SuiteRecord("failed", "RuntimeError: the foreign handler did not start",
                                   measures=declared)}
