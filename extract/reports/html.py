"""latest/report.html: one self-contained page (inline CSS and SVG, no script, no font, no
request of any kind; its Content-Security-Policy forbids them) with, per suite, the
percentile table and target status, latency distributions, the e2e breakdown and waterfalls,
and the trend across stored runs."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from extract.reports.html_data import ChartData, TrendPoint
from extract.reports.model import (
    E2E_SUITE,
    SET_OFF_HEADING,
    ReportInput,
    benchmark_name,
    check_label,
    checks_for,
    suite_status_line,
    threshold_note,
    unmatched,
)
from extract.reports.phase_colours import WAIT, phase_colour, phase_order
from extract.reports.svg import histogram_svg, stacked_bars_svg, trend_svg, waterfall_svg
from spanbench.units import format_ns, format_target_ms

CSP = "default-src 'none'; style-src 'unsafe-inline'"
STATUS_TEXT = {"pass": "PASS", "warning": "WARNING", "fail": "FAIL", "missing": "NO DATA"}

STYLE = """
body{font-family:sans-serif;margin:0 auto;max-width:1240px;padding:0 16px 40px;color:#222;
background:#fff;line-height:1.4}
h1{margin:16px 0 4px}h2{border-bottom:2px solid #ccc;padding-bottom:2px;margin-top:36px}
h3{margin:22px 0 6px}h4{margin:12px 0 4px;font-weight:normal}
.meta{color:#555;margin:0}.meta code{color:#222}
nav ul{display:flex;flex-wrap:wrap;gap:4px 16px;padding:0;list-style:none}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:right;vertical-align:top;
white-space:nowrap}
th{background:#f2f2f2}td.name,th.name{text-align:left;font-family:monospace;
white-space:normal;overflow-wrap:anywhere;min-width:16em}
.table{overflow-x:auto}
.badge{display:inline-block;padding:0 5px;border-radius:3px;font-size:11px;font-weight:bold;
color:#fff;white-space:nowrap}
.pass{background:#2e7d32}.warning{background:#b26a00}.fail{background:#c62828}
.missing{background:#757575}
.legend{display:flex;flex-wrap:wrap;gap:2px 14px;list-style:none;padding:0;margin:6px 0;
font-size:13px}
.swatch{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;
border:1px solid #0003}
.grid{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;border:1px solid #e4e4e4;padding:4px}
figcaption{font-size:12px;font-family:monospace;color:#333;max-width:340px;overflow-wrap:anywhere}
.note{color:#666;font-size:13px}td.note{white-space:normal;text-align:left}
"""


def _badge(status: str) -> str:
    return f'<span class="badge {status}">{STATUS_TEXT[status]}</span>'


def _counts(checks: Iterable[Any]) -> str:
    tally: dict[str, int] = {}
    for check in checks:
        tally[check.status] = tally.get(check.status, 0) + 1
    if not tally:
        return '<span class="note">no targets</span>'
    return " ".join(f"{_badge(status)} {tally[status]}" for status in STATUS_TEXT
                    if status in tally)


def _legend(phases: Iterable[str]) -> str:
    items = "".join(f'<li><span class="swatch" style="background:{phase_colour(p)}"></span>'
                    f"{escape(p)}</li>" for p in phase_order(set(phases)))
    return f'<ul class="legend" aria-label="Phase colours">{items}</ul>'


NO_TARGET_CELL = '<td class="note">no target</td>'
"""A benchmark without a target: measured, not checked, so no status badge."""


def _target_cell(checks: list[Any]) -> str:
    return "<br>".join(f"{_badge(c.status)} {escape(c.target.metric)} &lt; "
                       f"{escape(format_target_ms(c.target.threshold_ms))}" for c in checks)


def _target_td(checks: list[Any]) -> str:
    return f"<td>{_target_cell(checks)}</td>" if checks else NO_TARGET_CELL


def _stats_table(report: ReportInput, suite: str) -> str:
    heads = ["Benchmark", "n", "errors", "mean", "p50", "p95", "p99", "min", "max", "target"]
    lines = ["<table><thead><tr>" + "".join(
        f'<th scope="col"{" class=name" if h == "Benchmark" else ""}>{h}</th>' for h in heads)
        + "</tr></thead><tbody>"]
    checks = report.checks_of(suite)
    lines += [_stats_row(row, checks) for row in report.measured_of(suite)]
    for check in unmatched(checks, report.stats_of(suite)):
        lines.append(f'<tr><td class="name">{escape(check_label(check))}</td>'
                     f'<td colspan="8" class="note">{escape(check.message)}</td>'
                     f"<td>{_target_cell([check])}</td></tr>")
    set_off = report.set_off_of(suite)
    if set_off:
        lines.append(f'<tr><th scope="rowgroup" colspan="{len(heads)}" class="name">'
                     f"{escape(SET_OFF_HEADING)}</th></tr>")
    lines += [_stats_row(row, checks) for row in set_off]
    lines.append("</tbody></table>")
    return f'<div class="table">{"".join(lines)}</div>'


def _stats_row(row: Any, checks: list[Any]) -> str:
    values = [row.mean_ns, row.p50_ns, row.p95_ns, row.p99_ns, row.min_ns, row.max_ns]
    notes = "; ".join(row.notes)
    return (f'<tr><td class="name" title="{escape(notes)}">{escape(benchmark_name(row))}</td>'
            f"<td>{row.n}</td><td>{row.errors}</td>"
            + "".join(f"<td>{escape(format_ns(v))}</td>" for v in values)
            + _target_td(checks_for(row, checks)) + "</tr>")


def _comparison_table(report: ReportInput, suite: str) -> str:
    rows = report.comparisons_of(suite)
    if not rows:
        return ""
    body = "".join(
        f'<tr><td class="name">{escape(benchmark_name(r))}</td>'
        f"<td>{escape(format_ns(r.baseline_median_ns))}</td>"
        f"<td>{escape(format_ns(r.current_median_ns))}</td><td>{r.change:+.1%}</td>"
        f"<td>{escape(r.status)}</td><td>{escape(threshold_note(r))}</td></tr>" for r in rows)
    return (f"<h3>Against baseline {escape(str(report.baseline_name))} (run-level medians)</h3>"
            '<table><thead><tr><th scope="col" class="name">Benchmark</th>'
            '<th scope="col">baseline</th><th scope="col">current</th>'
            '<th scope="col">change</th><th scope="col">status</th>'
            '<th scope="col">threshold</th></tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _distributions(report: ReportInput, charts: ChartData, suite: str) -> str:
    figures = []
    for row in report.stats_of(suite):
        histogram = charts.histogram((row.suite, row.scenario, row.variant, row.phase))
        if histogram is None:
            continue
        name = benchmark_name(row)
        markers = [(label, value) for label, value in (("p50", row.p50_ns), ("p95", row.p95_ns))
                   if value is not None and value == value]
        svg = histogram_svg(histogram, f"Distribution of {suite}/{name}: {histogram.n} calls "
                            f"from {format_ns(histogram.edges_ns[0])} to "
                            f"{format_ns(histogram.edges_ns[-1])}, log scale", markers)
        figures.append(f"<figure>{svg}<figcaption>{escape(name)} (n = {histogram.n})"
                       "</figcaption></figure>")
    if not figures:
        return '<p class="note">No successful samples to draw.</p>'
    return ('<p class="note">Per-call durations, log-spaced bins; lines mark p50 and p95.</p>'
            f'<div class="grid">{"".join(figures)}</div>')


def _breakdown(report: ReportInput) -> str:
    scenarios: dict[str, list[tuple[str, float, float]]] = {}
    for row in report.breakdown:
        scenarios.setdefault(row.scenario, []).append((row.phase, row.share, row.median_ns))
    if not scenarios:
        return '<p class="note">No complete workflow traces to break down.</p>'
    svg = stacked_bars_svg(list(scenarios.items()),
                           "Share of each e2e scenario's wall time per phase ('wait': no "
                           "phase span open)")
    return ('<p class="note">Each instant of a workflow attributed to one phase; bars are '
            f"100% of the wall time.</p><figure>{svg}</figure>")


def _waterfalls(charts: ChartData) -> str:
    by_scenario: dict[str, list[Any]] = {}
    for waterfall in charts.waterfalls:
        by_scenario.setdefault(waterfall.scenario, []).append(waterfall)
    if not by_scenario:
        return '<p class="note">No traced workflows in this run.</p>'
    parts = []
    for scenario, items in by_scenario.items():
        parts.append(f"<h4>{escape(scenario)}</h4>")
        for waterfall in items:
            title = (f"{waterfall.which} of {waterfall.workflows} workflows: "
                     f"{format_ns(waterfall.duration_ns)}, {len(waterfall.spans)} spans, "
                     f"trace {waterfall.trace_id}")
            svg = waterfall_svg(waterfall, f"Waterfall of the {scenario} {title}")
            parts.append(f"<figure>{svg}<figcaption>{escape(title)}</figcaption></figure>")
    return "".join(parts)


def _trend(charts: ChartData, suite: str) -> str:
    groups: dict[str, list[TrendPoint]] = {}
    for point in charts.trend:
        if point.suite == suite:
            groups.setdefault(point.scenario, []).append(point)
    note = ("No history yet: the points are this run alone." if charts.history_runs == 0
            else f"p50 per run, this run and {charts.history_runs} stored before it "
            "(the larger dot is the newest run).")
    if charts.history_problem:
        note = f"The history is unreadable, so the points are this run alone: " \
               f"{charts.history_problem}"
    figures = []
    for scenario, points in groups.items():
        runs = len({p.run_id for p in points})
        svg = trend_svg(points, f"Trend of {suite}/{scenario}: p50 per phase over {runs} run(s)")
        figures.append(f"<figure>{svg}<figcaption>{escape(scenario)}</figcaption></figure>")
    return f'<p class="note">{escape(note)}</p><div class="grid">{"".join(figures)}</div>'


def _suite_phases(report: ReportInput, charts: ChartData, suite: str) -> set[str]:
    phases = {row.phase for row in report.stats_of(suite)}
    if suite == E2E_SUITE:
        phases |= {row.phase for row in report.breakdown}
        phases |= {span.phase for w in charts.waterfalls for span in w.spans}
        if report.breakdown:
            phases.add(WAIT)
    return phases


def _suite(report: ReportInput, charts: ChartData, suite: str) -> str:
    status = suite_status_line(report, suite)
    heading = [f'<section id="suite-{escape(suite)}" class="suite">', f"<h2>{escape(suite)}</h2>"]
    if status is not None:
        heading.append(f'<p class="status">{escape(status)}</p>')
        if not report.stats_of(suite):
            return "".join([*heading, "</section>"])
    parts = [*heading,
             f"<p>Targets: {_counts(report.checks_of(suite))}</p>",
             _legend(_suite_phases(report, charts, suite)),
             "<h3>Percentiles and targets</h3>", _stats_table(report, suite),
             _comparison_table(report, suite),
             "<h3>Latency distributions</h3>", _distributions(report, charts, suite)]
    tax = report.tracing_tax_line() if suite == E2E_SUITE else None
    if tax is not None:
        parts += ["<h3>Observer effect</h3>", f'<p class="note">{escape(tax)}</p>']
    if suite == E2E_SUITE:
        parts += ["<h3>Where the time goes</h3>", _breakdown(report),
                  "<h3>Waterfalls: median and slowest trace</h3>", _waterfalls(charts)]
    parts += ["<h3>Trend across runs</h3>", _trend(charts, suite), "</section>"]
    return "".join(parts)


def html_report(report: ReportInput) -> str:
    """The whole page; charts come from report.charts (none drawn when it is absent)."""
    charts = report.charts if report.charts is not None else ChartData()
    meta = report.meta
    suites = report.suites()
    nav = "".join(f'<li><a href="#suite-{escape(s)}">{escape(s)}</a></li>' for s in suites)
    prerequisites = "".join(
        f"<li>{'✓' if p.ok else '✗'} {escape(p.name)} ({escape(p.detail)})</li>"
        for p in report.prerequisites)
    head = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>spanbench report: {escape(meta.run_id)}</title><style>{STYLE}</style>"
            "</head><body>")
    header = (f"<header><h1>spanbench report</h1><p class=\"meta\">Run <code>"
              f"{escape(meta.run_id)}</code> · started {meta.started_at:%Y-%m-%d %H:%M:%S} UTC"
              f" · commit <code>{escape(meta.commit)}</code> · {escape(meta.environment)}</p>"
              f"<p>All targets: {_counts(report.checks)}</p>"
              + (f"<details><summary>Prerequisites</summary><ul>{prerequisites}</ul></details>"
                 if prerequisites else "")
              + f'<nav aria-label="Suites"><ul>{nav}</ul></nav></header>')
    body = "".join(_suite(report, charts, suite) for suite in suites)
    if not suites:
        body = '<p class="note">This run has no statistics.</p>'
    return (f"{head}{header}<main>{body}</main><footer class=\"note\"><p>Written by spanbench "
            "from the run's Parquet; durations are per call, warm-up excluded.</p></footer>"
            "</body></html>\n")
