"""Every output gives a status only to a target it compared, and no statistic from fewer
samples than it needs: statistics from real spans, through every writer."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from rich.console import Console

from extract.analyse.analysis import PhaseStats, check_targets, phase_statistics
from extract.reports.ci_json import combined_document, suite_document
from extract.reports.console import console_report
from extract.reports.github_action import github_action_entries
from extract.reports.html import html_report
from extract.reports.junit import junit_xml
from extract.reports.logs import (
    NO_TARGETS,
    NOTHING_CHECKED,
    suite_log,
    summary_lines,
    summary_markdown,
)
from extract.reports.model import ReportInput, RunMeta
from spanbench.cli.run_command import summary_tables
from tests.fake_runs import CALL_COLUMNS, rows_of, spans_db
from tests.unit.reports_fixture import target
from tests.unit.test_reports_ci import SCHEMA, errors

MS = 1_000_000
INIT = "task_initialization"
E2E = "e2e_latency"
LONE = "linear_3/task.initialize"
"""One sample and no target: no mean, no standard deviation, no status."""


def _calls(suite: str, scenario: str, phase: str, count: int, base_ms: float) -> list[tuple]:
    return [("r", suite, scenario, phase, False, "Unset", int((base_ms + i / 10) * MS), {})
            for i in range(count)]


def _stats() -> list[PhaseStats]:
    rows = (_calls(INIT, "linear_3", "api.create_task", 30, 17.0)
            + _calls(INIT, "diamond_4", "api.create_task", 30, 21.0)
            + _calls(INIT, "linear_3", "task.initialize", 1, 3.0)
            + _calls(INIT, "linear_3", "task.finalize", 1, 2.0)
            + _calls(E2E, "tree_7", "e2e.workflow", 5, 400.0))
    return phase_statistics(spans_db(rows_of(CALL_COLUMNS, rows)), "r")


def _report() -> ReportInput:
    """Three targets: one checked and passing, one on a lone sample's mean, one on a p99 of
    five samples. Two benchmarks (diamond_4 create, linear_3 initialize) have no target."""
    stats = _stats()
    checks = check_targets(stats, [
        target(INIT, "linear_3", "api.create_task", "mean", 50, "Task Creation (3 steps)"),
        target(INIT, "linear_3", "task.finalize", "mean", 50, "Finalize"),
        target(E2E, "tree_7", "e2e.workflow", "p99", 1500, "Tree (7 steps)"),
    ])
    return ReportInput(meta=RunMeta("r", datetime(2026, 12, 1, tzinfo=UTC), "abc", "test"),
                       stats=stats, checks=checks)


def test_one_sample_has_no_mean_and_a_mean_target_on_it_is_not_checked() -> None:
    report = _report()
    lone = next(row for row in report.stats if row.phase == "task.initialize")
    assert lone.n == 1 and lone.metric_ns("mean") is None and lone.std_ns is None
    assert "mean needs ≥ 2 samples (n = 1)" in lone.notes
    assert [check.status for check in report.checks] == ["pass", "missing", "missing"]
    assert "mean needs ≥ 2 samples (n = 1)" in report.checks[1].message


def test_ci_json_results_are_the_targets_and_summary_counts_only_them() -> None:
    report = _report()
    document = suite_document(report, INIT)
    assert errors(document, SCHEMA) == []
    assert [r["name"] for r in document["results"]] == [
        "linear_3/api.create_task mean", "linear_3/task.finalize mean"]
    assert [r["status"] for r in document["results"]] == ["pass", "warning"]
    assert document["summary"] == {"total_tests": 2, "passed": 1, "failed": 0, "warnings": 1}
    measured = {m["name"]: m for m in document["measurements"]}
    assert set(measured) == {"diamond_4/api.create_task", "linear_3/api.create_task",
                             "linear_3/task.finalize", LONE}
    assert all("status" not in m and "target_ms" not in m for m in measured.values())
    assert (measured[LONE]["mean_ms"], measured[LONE]["std_dev_ms"]) == (None, None)
    created = measured["diamond_4/api.create_task"]
    assert created["p95_ms"] is not None and created["p99_ms"] is None  # n = 30
    combined = combined_document(report)
    assert errors(combined, SCHEMA) == []
    assert combined["summary"] == {"total_tests": 3, "passed": 1, "failed": 0, "warnings": 2,
                                   "suites_skipped": 0, "suites_failed": 0}


def test_the_schema_refuses_a_status_without_a_target() -> None:
    document = suite_document(_report(), INIT)
    measurement = {**document["measurements"][0], "status": "pass"}
    assert errors({**document, "measurements": [measurement]}, SCHEMA) != []
    result = {**document["results"][0], "target_ms": None}
    assert errors({**document, "results": [result]}, SCHEMA) != []


def test_junit_has_a_case_per_target_and_none_for_a_bare_measurement() -> None:
    root = ET.fromstring(junit_xml(_report()))
    cases = root.findall(".//testcase")
    assert root.get("tests") == "3" and len(cases) == 3
    names = " ".join(case.get("name", "") for case in cases)
    assert "diamond_4" not in names and "task.initialize" not in names
    passed = [case for case in cases if len(case) == 0]
    assert [case.get("name") for case in passed] == [
        "Task Creation (3 steps) (task_initialization/linear_3 api.create_task mean)"]
    assert len(root.findall(".//skipped")) == 2


def test_console_passes_only_the_checked_target() -> None:
    text = console_report(_report())
    assert text.count("PASS") == 1
    assert "Task Creation (3 steps): 18.45 ms mean" in text
    assert text.count("NO DATA") == 2
    assert f"{INIT}/{LONE}   time: [n/a n/a n/a]" in text


def test_the_console_table_shows_what_too_few_samples_cannot_give() -> None:
    console = Console(record=True, width=200)
    for table in summary_tables(_report().stats):
        console.print(table)
    text = console.export_text()
    [lone] = [line for line in text.splitlines() if "task.initialize" in line]
    assert re.search(r"│\s+1 │\s+0 │\s+n<2 │\s+3\.00 ms │\s+n<20 │\s+n<100 │", lone), lone
    [created] = [line for line in text.splitlines() if "diamond_4" in line]
    assert "n<100" in created and "n<20" not in created


def test_logs_give_a_status_only_under_a_target() -> None:
    log = suite_log(_report(), INIT)
    lone = log.split(f"### {LONE}\n")[1].split("###")[0]
    assert "- Mean: not reported (n=1 < 2)" in lone
    assert "- Std Dev: not reported (n=1 < 2)" in lone
    assert "- Status" not in lone and "Target" not in lone
    assert log.count("- Status:") == 2
    summary = summary_markdown(_report())
    assert f"| {LONE} | 1 | n/a | 3.00 ms | n/a | n/a |" in summary
    assert "All tests passed" not in summary


def test_summary_lines_never_pass_what_nothing_checked() -> None:
    report = _report()
    assert summary_lines([]) == [NO_TARGETS]
    assert "✅" not in NO_TARGETS
    missing_only = [check for check in report.checks if check.status == "missing"]
    assert summary_lines(missing_only)[0] == NOTHING_CHECKED
    assert summary_lines(list(report.checks))[0] == "✅ All checked targets passed"


def test_report_html_badges_only_the_checked_targets() -> None:
    page = html_report(_report())
    assert ('All targets: <span class="badge pass">PASS</span> 1 '
            '<span class="badge missing">NO DATA</span> 2') in page
    assert page.count('<span class="badge pass">PASS</span> mean &lt; 50 ms') == 1
    [row] = re.findall(rf'<tr><td class="name"[^>]*>{re.escape(LONE)}</td>.*?</tr>', page)
    assert "badge" not in row and "no target" in row
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[:3] == ["1", "0", "n/a"]  # n, errors, mean


def test_github_action_entries_carry_no_status_and_no_mean_from_one_sample() -> None:
    entries = github_action_entries(_report())
    names = [entry["name"] for entry in entries]
    assert f"{INIT}/{LONE}" not in names and f"{INIT}/diamond_4/api.create_task" in names
    assert all(set(entry) <= {"name", "unit", "value", "range", "extra"} for entry in entries)
    created = next(e for e in entries if e["name"] == f"{INIT}/linear_3/api.create_task")
    assert "p95=" in created["extra"] and "p99=" not in created["extra"]


def test_a_phase_the_suite_only_sets_off_is_marked_in_the_ci_json_and_github_action() -> None:
    rows = (_calls(INIT, "linear_3", "api.create_task", 5, 17.0)
            + _calls(INIT, "linear_3", "claim", 5, 4.0))
    stats = phase_statistics(spans_db(rows_of(CALL_COLUMNS, rows)), "r")
    report = ReportInput(meta=RunMeta("r", datetime(2026, 12, 1, tzinfo=UTC), "abc", "test"),
                         stats=stats)
    document = suite_document(report, INIT)
    assert errors(document, SCHEMA) == []
    marks = {m["name"]: m.get("set_off") for m in document["measurements"]}
    assert marks == {"linear_3/api.create_task": None, "linear_3/claim": True}
    names = sorted(entry["name"] for entry in github_action_entries(report))
    assert names == [f"{INIT}/linear_3/api.create_task",
                     f"{INIT}/linear_3/claim (set off, not measured)"]
