"""A suite's findings are about its own measurements; the phases its scenarios set off in the
workers are shown apart, under their own heading."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from extract.analyse.baseline_compare import Comparison
from extract.reports.console import suite_block
from extract.reports.findings import key_findings
from extract.reports.html import html_report
from extract.reports.logs import suite_log, summary_markdown
from extract.reports.model import SET_OFF_HEADING, ReportInput, RunMeta
from spanbench.cli.run_command import summary_tables
from spanbench.vocabulary import SET_OFF_PHASES, SUITES, Phase, Suite, is_measurement
from tests.unit.reports_fixture import stats

ENQUEUEING = Suite.STEP_ENQUEUEING


def _report(rows: list[object], comparisons: list[Comparison] | None = None) -> ReportInput:
    return ReportInput(meta=RunMeta("r1", datetime(2026, 12, 6, tzinfo=UTC), "abc", "stack"),
                       stats=rows, comparisons=comparisons or [], baseline_name="main")


def _enqueueing_rows() -> list[object]:
    return [stats(ENQUEUEING, "chain_10", Phase.ENQUEUE_TOTAL, 30.0),
            stats(ENQUEUEING, "chain_10", Phase.NOTIFY, 2.0),
            stats(ENQUEUEING, "chain_10", Phase.CLAIM, 45.38, outliers_severe=4),
            replace(stats(ENQUEUEING, "chain_10", Phase.EXECUTE, 40.0), errors=3)]


def test_the_worker_phases_step_enqueueing_sets_off_are_not_its_measurements() -> None:
    assert not is_measurement(ENQUEUEING, Phase.CLAIM)
    assert not is_measurement(ENQUEUEING, Phase.EXECUTE)
    assert is_measurement(ENQUEUEING, Phase.ENQUEUE_TOTAL)
    assert is_measurement(ENQUEUEING, Phase.SUBMIT)  # the driver's own, as a worker submits
    assert is_measurement(Suite.E2E_LATENCY, Phase.CLAIM)  # a workflow's phases are e2e's
    assert is_measurement(Suite.WORKER_EXECUTION, Phase.CLAIM)


def test_every_suite_named_sets_off_phases_and_measures_its_own() -> None:
    for suite, phases in SET_OFF_PHASES.items():
        assert suite in SUITES
        assert phases
    assert is_measurement(Suite.TASK_INITIALIZATION, Phase.API_CREATE_TASK)
    assert is_measurement(Suite.TASK_INITIALIZATION, Phase.TASK_INITIALIZE)


def test_the_slowest_finding_is_one_of_the_suites_measurements() -> None:
    [slowest, *_] = key_findings(_report(_enqueueing_rows()), ENQUEUEING)
    assert slowest == "Slowest: chain_10/enqueue.total, median 30.00 ms"


def test_failures_and_outliers_of_set_off_phases_are_no_finding_of_the_suite() -> None:
    findings = key_findings(_report(_enqueueing_rows()), ENQUEUEING)
    assert not any("claim" in line or "execute" in line for line in findings), findings


def test_a_baseline_change_of_a_set_off_phase_is_no_finding_of_the_suite() -> None:
    comparisons = [
        Comparison(ENQUEUEING, "chain_10", None, Phase.CLAIM, 20_000_000, 45_380_000, 1.269,
                   "Regressed", 5, 5, 0.05, 0.01, "5% (floor; spread 1.0% over 10 blocks)", 1),
        Comparison(ENQUEUEING, "chain_10", None, Phase.ENQUEUE_TOTAL, 29_000_000, 30_000_000,
                   0.0345, "Stable", 5, 5, 0.05, 0.01, "5% (floor; spread 1.0% over 10 blocks)",
                   1),
    ]
    findings = key_findings(_report(_enqueueing_rows(), comparisons), ENQUEUEING)
    assert any(line.startswith("Largest change vs baseline main: chain_10/enqueue.total")
               for line in findings), findings


def test_the_console_shows_set_off_phases_under_their_own_heading() -> None:
    lines = suite_block(_report(_enqueueing_rows()), ENQUEUEING).splitlines()
    heading = lines.index(SET_OFF_HEADING)
    above = "\n".join(lines[:heading])
    below = "\n".join(lines[heading:lines.index("Key Findings:")])
    assert "Benchmarking step_enqueueing/chain_10/enqueue.total" in above
    assert "Benchmarking step_enqueueing/chain_10/notify" in above
    assert "claim" not in above and "execute" not in above
    assert "Benchmarking step_enqueueing/chain_10/claim" in below
    assert "Benchmarking step_enqueueing/chain_10/execute" in below


def test_a_suite_that_sets_nothing_off_has_no_such_heading() -> None:
    rows = [stats(Suite.E2E_LATENCY, "linear_3", Phase.E2E_WORKFLOW, 400.0),
            stats(Suite.E2E_LATENCY, "linear_3", Phase.CLAIM, 12.0)]
    assert SET_OFF_HEADING not in suite_block(_report(rows), Suite.E2E_LATENCY)


def test_the_suite_log_shows_set_off_phases_after_the_results() -> None:
    text = suite_log(_report(_enqueueing_rows()), ENQUEUEING)
    results, _, set_off = text.partition("## Set off by the suite, not its measurement\n")
    assert "### chain_10/enqueue.total" in results
    assert "### chain_10/claim" not in results
    assert "### chain_10/claim" in set_off and "### chain_10/execute" in set_off
    assert "### chain_10/enqueue.total" not in set_off


def test_summary_md_shows_set_off_phases_in_a_table_of_their_own() -> None:
    text = summary_markdown(_report(_enqueueing_rows()))
    measured, _, set_off = text.partition(SET_OFF_HEADING)
    assert "| chain_10/enqueue.total |" in measured and "| chain_10/claim |" not in measured
    assert "| chain_10/claim |" in set_off and "| chain_10/enqueue.total |" not in set_off


def test_report_html_shows_set_off_phases_after_the_suites_own_rows() -> None:
    page = html_report(_report(_enqueueing_rows()))
    heading = page.index(SET_OFF_HEADING)
    assert page.index(">chain_10/enqueue.total<") < heading
    assert page.index(">chain_10/notify<") < heading
    assert heading < page.index(">chain_10/claim<")
    assert heading < page.index(">chain_10/execute<")


def test_the_runs_statistics_tables_put_set_off_phases_in_a_table_after_the_suites() -> None:
    rows = [*_enqueueing_rows(), stats(Suite.E2E_LATENCY, "linear_3", Phase.CLAIM, 12.0)]
    tables = summary_tables(rows)  # type: ignore[arg-type]
    assert [(table.title, table.row_count) for table in tables] == [
        ("step_enqueueing (warm-up excluded)", 2),
        ("step_enqueueing: set off by the suite, not its measurement", 2),
        ("e2e_latency (warm-up excluded)", 1)]
    [set_off_phases] = [list(table.columns[1].cells) for table in tables[1:2]]
    assert set_off_phases == [Phase.CLAIM, Phase.EXECUTE]
