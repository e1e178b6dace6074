"""A regression stands only when the runs made to confirm it reproduce it."""

from __future__ import annotations

from dataclasses import replace

from extract.analyse.baseline_compare import Comparison
from extract.analyse.confirmation import (
    confirm,
    confirming_runs,
    record,
    suspect_suites,
)


def row(suite: str, phase: str, change: float, status: str) -> Comparison:
    return Comparison(suite, "linear_3", None, phase, 1e6, 1e6 * (1 + change), change, status,
                      15, 5, 0.3, 0.05, "30% = 4 × spread 7.5% over 20 runs", 3)


FIRST = [row("task_initialization", "api.create_task", 0.5, "Regressed"),
         row("task_initialization", "execute", 0.02, "Stable"),
         row("event_propagation", "notify", -0.4, "Improved"),
         row("sql_functions", "sql.x", 0.6, "Regressed")]


def test_the_suspects_are_the_suites_holding_a_regression_in_order() -> None:
    assert suspect_suites(FIRST) == ["task_initialization", "sql_functions"]
    assert suspect_suites([r for r in FIRST if r.status != "Regressed"]) == []


def test_a_regression_reproduced_by_every_run_stands_and_says_so() -> None:
    again = [[replace(FIRST[0], change=0.45), replace(FIRST[3], change=0.7)],
             [replace(FIRST[0], change=0.61), replace(FIRST[3], change=0.65)]]
    rows = confirm(FIRST, again)
    assert [r.status for r in rows] == ["Regressed", "Stable", "Improved", "Regressed"]
    assert rows[0].confirmation == "confirmed by 2 more runs: +45.0%, +61.0%"
    assert rows[1] == FIRST[1] and rows[2] == FIRST[2]


def test_a_regression_one_run_does_not_reproduce_is_unstable() -> None:
    again = [[replace(FIRST[0], change=0.45),
              replace(FIRST[3], change=0.1, status="Unstable")],
             [replace(FIRST[0], change=0.02, status="Stable")]]
    rows = confirm(FIRST, again)
    assert [r.status for r in rows] == ["Unstable", "Stable", "Improved", "Unstable"]
    assert rows[0].confirmation == "not confirmed by 2 more runs: +45.0%, +2.0% (Stable)"
    assert rows[3].confirmation == "not confirmed by 2 more runs: +10.0% (Unstable), absent"


def test_without_confirmation_runs_nothing_changes() -> None:
    assert confirm(FIRST, []) == FIRST


def test_runs_confirm_only_against_the_baseline_they_were_made_for() -> None:
    kept = record("main", ["20261207T000000Z-aaaaaa"])
    assert confirming_runs(kept, "main") == ["20261207T000000Z-aaaaaa"]
    assert confirming_runs(kept, "release") == []
    assert confirming_runs(None, "main") == []
    assert confirming_runs(kept, None) == []


def test_every_report_shows_what_the_confirmation_measured() -> None:
    from extract.reports.baseline_table import comparison_rows
    from extract.reports.html import html_report
    from extract.reports.verdict import verdict
    from tests.unit.reports_fixture import sample_report

    report = sample_report()
    said = "confirmed by 1 more run: +23.0%"
    rows = [replace(r, confirmation=said) if r.status == "Regressed" else r
            for r in report.comparisons]
    report = replace(report, comparisons=rows)
    assert sum(said in line for line in comparison_rows(rows)) == 1
    assert f"over 20 runs of its history; {said}</td>" in html_report(report)
    assert any(said in line for line in verdict(report).lines)
