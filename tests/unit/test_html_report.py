"""report.html's data (queries/html_*.sql over a `spans` view), its SVG builders and the page."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from extract.analyse.analysis import phase_statistics
from extract.reports import html_data
from extract.reports.html import html_report
from extract.reports.html_data import ChartData, Histogram, TrendPoint
from extract.reports.phase_colours import ORDER, phase_colour, phase_order
from extract.reports.svg import histogram_svg, stacked_bars_svg, trend_svg, waterfall_svg
from queries import macros
from tests.e2e_traces import DIAMOND, Workflow, spans_view
from tests.fake_runs import rows_of, spans_db
from tests.html_run_fixture import write_history
from tests.unit.reports_fixture import sample_report


def _calls(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """A `spans` table of (suite, scenario, phase, Duration, warmup, status, attributes)."""
    columns = ("Suite", "Scenario", "Phase", "Duration", "Warmup", "StatusCode", "SpanAttributes")
    spans_db([{"RunId": "r", **row} for row in rows_of(columns, rows)], con)


def test_histogram_bins_hold_every_measured_call_as_phase_stats_counts_them() -> None:
    con = macros.define(duckdb.connect())
    rows = [("s", "a", "p", 1000 + 37 * i * i, False, "Unset", {}) for i in range(30)]
    rows += [("s", "a", "p", 10**9, True, "Unset", {}),  # warm-up
             ("s", "a", "p", 10**9, False, "Error", {})]  # failed
    rows += [("s", "b", "q", 5000 * (1 + i % 4) * 8, False, "Unset",
              {"bench.batch_size": "8", "bench.dataset_size": "1000"}) for i in range(12)]
    rows += [("s", "c", "same", 700, False, "Unset", {}) for _ in range(3)]
    _calls(con, rows)
    histograms = {h.key: h for h in html_data.histograms(con, "r")}
    stats = {(s.suite, s.scenario, s.variant, s.phase): s for s in phase_statistics(con, "r")}
    assert set(histograms) == set(stats)
    for key, histogram in histograms.items():
        assert histogram.n == stats[key].n
        assert len(histogram.edges_ns) == len(histogram.counts) + 1
        assert histogram.edges_ns[0] == stats[key].min_ns
        assert histogram.edges_ns[-1] == stats[key].max_ns
    assert len(histograms[("s", "a", None, "p")].counts) == 6  # ceil(sqrt(30))
    batched = histograms[("s", "b", "1000", "q")]
    assert batched.edges_ns[0] == 5000 and batched.edges_ns[-1] == 20000  # per call
    assert histograms[("s", "c", None, "same")].counts == (3,)
    for histogram in histograms.values():
        svg = ET.fromstring(histogram_svg(histogram, "label", [("p50", histogram.edges_ns[0])]))
        bars = svg.findall("rect[@class='bin']")
        assert sum(int(bar.get("data-count")) for bar in bars) == histogram.n
        assert svg.get("role") == "img" and svg.find("title").text == "label"


def test_stacked_bar_segments_fill_100_percent_in_phase_order() -> None:
    bars = [("linear_3", [("wait", 0.30, 150.0), ("execute", 0.45, 210.0),
                          ("claim", 0.25, 120.0)]),
            ("diamond_4", [("claim", 0.5, 1.0), ("mystery", 0.5, 1.0)])]
    svg = ET.fromstring(stacked_bars_svg(bars, "breakdown"))
    segments = svg.findall("rect[@class='segment']")
    assert [s.get("data-phase") for s in segments] == ["claim", "execute", "wait",
                                                       "claim", "mystery"]
    first, second = segments[:3], segments[3:]
    for row in (first, second):
        assert math.isclose(sum(float(s.get("data-share")) for s in row), 1.0)
        assert math.isclose(sum(float(s.get("width")) for s in row), 600, abs_tol=0.5)
        for left, right in itertools.pairwise(row):  # contiguous, left to right
            assert math.isclose(float(left.get("x")) + float(left.get("width")),
                                float(right.get("x")), abs_tol=0.1)


def _traced(ends: list[int]) -> duckdb.DuckDBPyConnection:
    con = spans_view([Workflow(f"trace{i}", "diamond_4", DIAMOND, end=end)
                      for i, end in enumerate(ends)]
                     + [Workflow("warm", "diamond_4", DIAMOND, end=999, warmup=True),
                        Workflow("untraced", "diamond_4", (), end=998, stack_traced=False)])
    con.execute("CREATE TABLE drawn AS SELECT * FROM spans")
    con.execute("CREATE OR REPLACE VIEW spans AS SELECT *, SpanName AS Phase, "
                "'orchestration' AS ServiceName, 'Unset' AS StatusCode FROM drawn")
    return con


def test_waterfalls_are_the_median_and_slowest_traces_with_every_span_nested() -> None:
    falls = html_data.waterfalls(_traced([100, 130, 90, 200, 110]), "r")
    assert [(w.which, w.trace_id, w.workflows) for w in falls] == [
        ("median", "trace4", 5), ("slowest", "trace3", 5)]
    for waterfall in falls:
        spans = waterfall.spans
        assert len(spans) == len(DIAMOND) + 1
        assert spans[0].name == "e2e.workflow" and spans[0].depth == 0
        assert spans[0].offset_ns == 0 and spans[0].duration_ns == waterfall.duration_ns
        depth = {s.span_id: s.depth for s in spans}
        for span in spans[1:]:
            assert span.depth == depth[span.parent_id] + 1
            assert spans.index(span) > [s.span_id for s in spans].index(span.parent_id)
        svg = ET.fromstring(waterfall_svg(waterfall, "waterfall"))
        rows = svg.findall("rect[@class='span']")
        assert [r.get("data-span") for r in rows] == [s.span_id for s in spans]
        assert all(float(r.get("x")) >= 0 and float(r.get("x")) + float(r.get("width"))
                   <= 240 + 620 + 1 for r in rows)


def test_nesting_keeps_orphans_and_survives_cycles() -> None:
    def row(span: str, parent: str, offset: int) -> dict[str, object]:
        return {"span_id": span, "parent_id": parent, "name": span, "phase": span,
                "service": None, "offset_ns": offset, "duration_ns": 1, "failed": False}

    spans = html_data.nest([row("b", "root", 5), row("root", "", 0), row("a", "root", 1),
                            row("lost", "gone", 2), row("x", "y", 3), row("y", "x", 4)], "root")
    assert [(s.span_id, s.depth) for s in spans] == [
        ("root", 0), ("a", 1), ("b", 1), ("lost", 0), ("x", 0), ("y", 1)]


def test_one_colour_per_phase_in_every_chart_and_every_run() -> None:
    assert phase_colour("claim") == "#2ca02c" and phase_colour("wait") == "#d4d4d4"
    assert phase_colour("something.new") == phase_colour("something.new")
    assert phase_colour("something.new") != phase_colour("something.newer")
    stack = ORDER[:15]
    assert len({phase_colour(p) for p in stack}) == len(stack)  # they share the e2e charts
    assert phase_order(["zeta", "wait", "claim", "alpha"]) == ["claim", "wait", "alpha", "zeta"]
    colour = phase_colour("claim")
    histogram = Histogram("s", "a", None, "claim", (1e6, 2e6), (4,))
    point = TrendPoint("s", "a", "claim", "r", datetime(2026, 1, 1, tzinfo=UTC), 1e6, None)
    waterfall = html_data.waterfalls(_traced([100]), "r")[0]
    drawn = {"histogram": histogram_svg(histogram, "h"),
             "bars": stacked_bars_svg([("a", [("claim", 1.0, 1.0)])], "b"),
             "trend": trend_svg([point], "t"),
             "waterfall": waterfall_svg(waterfall, "w")}
    for name, svg in drawn.items():
        root = ET.fromstring(svg)
        marks = [m for m in root.iter() if m.get("data-phase") == "claim"
                 or m.get("class") == "bin"
                 or (m.get("class") == "span" and m.find("title").text.startswith("claim"))]
        assert marks and {m.get("fill") for m in marks} == {colour}, name


def test_trend_is_this_run_alone_without_history(tmp_path: Path) -> None:
    report = sample_report()
    points, others, problem = html_data.trend(tmp_path, report)
    assert others == 0 and problem is None
    assert {(p.run_id, p.scenario, p.phase) for p in points} == {
        (report.meta.run_id, s.scenario, s.phase) for s in report.stats}
    (tmp_path / "_history").mkdir()  # present but empty: the same
    assert html_data.trend(tmp_path, report) == (points, 0, None)
    (tmp_path / "_history" / "broken.parquet").write_text("not parquet")
    assert html_data.trend(tmp_path, report)[:2] == (points, 0)
    assert "_history is unreadable" in str(html_data.trend(tmp_path, report)[2])


def test_trend_reads_the_stored_runs_and_replaces_this_runs_copy(tmp_path: Path) -> None:
    stored = write_history(tmp_path, runs=3)
    report = sample_report()
    points, others, _ = html_data.trend(tmp_path, report)
    assert others == 3
    runs = [p.run_id for p in points]
    assert runs == sorted(runs, key=lambda r: [*stored, report.meta.run_id].index(r))
    linear = [p for p in points if (p.suite, p.scenario, p.phase)
              == ("task_initialization", "linear_3", "api.create_task")]
    assert [p.run_id for p in linear] == [*stored, report.meta.run_id]
    assert [round(p.p50_ns) for p in linear[:3]] == [8550000, 9025000, 9500000]
    # A history that already holds this run: its statistics, not the stored copy, are drawn.
    import dataclasses

    again = dataclasses.replace(report, meta=dataclasses.replace(report.meta, run_id=stored[-1]))
    points, others, _ = html_data.trend(tmp_path, again)
    assert others == 2
    assert [p.p50_ns for p in points if p.run_id == stored[-1]] == [
        s.p50_ns for s in report.stats]


def test_the_page_is_self_contained_and_names_every_suite() -> None:
    report = sample_report()
    page = html_report(report)
    assert page.startswith("<!DOCTYPE html><html lang=\"en\">")
    assert f"<title>spanbench report: {report.meta.run_id}</title>" in page
    assert "default-src 'none'" in page
    for forbidden in ("<script", "<link", "<img", "<iframe", "@import", "url(", "src="):
        assert forbidden not in page, forbidden
    assert re.findall(r'href="([^#][^"]*)"', page) == []  # only links within the page
    for suite in report.suites():
        assert f'<section id="suite-{suite}" class="suite"><h2>{suite}</h2>' in page
    assert page.count('<ul class="legend"') == len(report.suites())
    assert '<span class="badge fail">FAIL</span>' in page  # diamond_4's mean misses 500 ms
    assert "No history yet" in page  # no charts gathered: the trend note still says so


@pytest.mark.parametrize("points", [1, 4])
def test_trend_chart_draws_a_point_per_run_and_phase(points: int) -> None:
    series = [TrendPoint("s", "a", phase, f"r{i}", datetime(2026, 1, 1 + i, tzinfo=UTC),
                         1e6 * (1 + i), None) for i in range(points) for phase in ("claim", "x")]
    svg = ET.fromstring(trend_svg(series, "trend"))
    assert len(svg.findall("circle[@class='point']")) == 2 * points
    assert len(svg.findall("polyline")) == (2 if points > 1 else 0)
    assert ChartData().histogram(("s", "a", None, "claim")) is None


def test_trend_reads_what_extract_history_records(tmp_path: Path) -> None:
    import dataclasses
    from datetime import timedelta

    from extract.store.history import record_run

    report = sample_report()
    earlier = dataclasses.replace(report, meta=dataclasses.replace(
        report.meta, run_id="20261128T222039Z-000001",
        started_at=report.meta.started_at - timedelta(days=1)))
    record_run(tmp_path, earlier)
    points, others, problem = html_data.trend(tmp_path, report)
    assert (others, problem) == (1, None)
    assert [p.run_id for p in points if p.scenario == "linear_3"
            and p.phase == "api.create_task"] == [earlier.meta.run_id, report.meta.run_id]
