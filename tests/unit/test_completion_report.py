"""The completion line beside the e2e figures: queries/e2e_completion.sql and its rendering."""

from __future__ import annotations

import dataclasses

from extract.reports.completion import SOURCE_LABELS, completion_lines, completion_rows
from extract.reports.console import suite_block
from extract.reports.logs import summary_markdown
from instrument.workload.completion import API_POLL, DB_POLL, NOTIFY
from spanbench.vocabulary import Attr, Phase, Suite
from tests.fake_runs import spans_db
from tests.unit.reports_fixture import sample_report

MS = 1_000_000


def _root(window_ns: int | None, source: str = DB_POLL, warmup: bool = False,
          run_id: str = "r1") -> dict[str, object]:
    attributes = {Attr.COMPLETION_SOURCE: source}
    if window_ns is not None:
        attributes[Attr.COMPLETION_WINDOW] = str(window_ns)
    return {"RunId": run_id, "Suite": Suite.E2E_LATENCY, "Scenario": "linear_3",
            "SpanName": Phase.E2E_WORKFLOW, "Warmup": warmup, "Duration": 100 * MS,
            "SpanAttributes": attributes}


def test_the_query_gives_the_windows_of_measured_roots_per_source() -> None:
    con = spans_db([_root(w * MS) for w in (1, 2, 3, 4, 100)]
                   + [_root(500 * MS, warmup=True), _root(7 * MS, run_id="other"),
                      _root(None, NOTIFY)])
    by_source = {row.source: row for row in completion_rows(con, "r1")}
    polled, notified = by_source[DB_POLL], by_source[NOTIFY]
    assert (polled.workflows, polled.windowed, polled.p50_window_ns, polled.max_window_ns) == (
        5, 5, 3 * MS, 100 * MS)
    assert (notified.workflows, notified.windowed, notified.p50_window_ns) == (1, 0, None)


def test_the_line_says_the_source_interval_and_windows() -> None:
    con = spans_db([_root(w * MS) for w in (1, 2, 3)])
    [line] = completion_lines(completion_rows(con, "r1"),
                              {"source": DB_POLL, "interval_s": 0.001})
    assert line == ("Completion seen by DB polling every 1.00 ms: window median 2.00 ms, "
                    "p95 2.90 ms, max 3.00 ms (n=3)")
    [notified] = completion_lines(completion_rows(spans_db([_root(None, NOTIFY)]), "r1"),
                                  {"source": NOTIFY, "interval_s": None})
    assert notified == "Completion seen by NOTIFY: stamped on arrival, after the commit (n=1)"


def test_polls_without_a_pause_are_said_back_to_back() -> None:
    con = spans_db([_root(w * MS // 4) for w in (1, 2, 3)])
    [line] = completion_lines(completion_rows(con, "r1"), {"source": DB_POLL, "interval_s": 0})
    assert line.startswith("Completion seen by DB polling back to back: window median 500.0 µs")


def test_a_run_without_completion_sources_has_no_line() -> None:
    root = _root(None)
    root["SpanAttributes"] = {}
    assert completion_lines(completion_rows(spans_db([root]), "r1"), None) == []


def test_every_source_has_a_label() -> None:
    assert set(SOURCE_LABELS) == {NOTIFY, DB_POLL, API_POLL}


def test_the_line_sits_in_the_e2e_console_block_and_summary() -> None:
    line = "Completion seen by DB polling every 1.00 ms: window median 1.60 ms (n=3)"
    report = dataclasses.replace(sample_report(), completion=(line,))
    assert line in suite_block(report, Suite.E2E_LATENCY)
    assert line not in suite_block(report, Suite.TASK_INITIALIZATION)
    summary = summary_markdown(report)
    assert summary.index(line) > summary.index(f"## {Suite.E2E_LATENCY}")
