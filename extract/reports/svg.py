"""Inline SVG charts for the HTML report: pure functions from data to markup, no fonts or
scripts. Every chart is role="img" with a <title> (its text alternative); every mark has a
<title> tooltip and a data-* attribute carrying the value it draws, for tests and readers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from extract.reports.html_data import Histogram, TrendPoint, Waterfall
from extract.reports.phase_colours import phase_colour, phase_order, text_colour
from spanbench.units import format_ns

FONT = 'font-family="sans-serif" font-size="10"'
AXIS = "#666666"
LABEL_CHAR_PX = 6.2
"""Width of a character of a 10 px sans-serif label, near enough to keep labels apart."""


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, label: str, body: list[str], css_class: str) -> str:
    return (f'<svg class="{css_class}" role="img" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
            + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = AXIS,
          extra: str = "") -> str:
    return (f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" fill="{fill}" {FONT}'
            f'{extra}>{escape(text)}</text>')


@dataclass(frozen=True)
class LogScale:
    """Maps [lo, hi] (positive) onto [start, end] logarithmically; a point range maps to the
    middle."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        if self.hi <= self.lo:
            return (self.start + self.end) / 2
        fraction = math.log(max(value, self.lo) / self.lo) / math.log(self.hi / self.lo)
        return self.start + min(max(fraction, 0.0), 1.0) * (self.end - self.start)

    def ticks(self, most: int = 5) -> list[float]:
        """Round values (1, 2, 5 × 10^k) within [lo, hi]; the ends when none fit."""
        if self.hi <= self.lo:
            return [self.lo]
        for steps in ((1, 2, 5), (1,)):
            found = [m * 10 ** k for k in range(math.floor(math.log10(self.lo)),
                                                 math.ceil(math.log10(self.hi)) + 1)
                     for m in steps if self.lo <= m * 10 ** k <= self.hi]
            if 2 <= len(found) <= most:
                return found
        return [self.lo, self.hi]


def histogram_svg(histogram: Histogram, label: str,
                  markers: Sequence[tuple[str, float]] = ()) -> str:
    """Bars of the bin counts on a log time axis; markers (name, ns) as vertical lines."""
    width, height, left, right, top, bottom = 280, 130, 30, 10, 10, 24
    edges, counts = histogram.edges_ns, histogram.counts
    scale = LogScale(edges[0], edges[-1], left, width - right)
    peak = max(counts) or 1
    plot_h = height - top - bottom
    body = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" '
            f'y2="{height - bottom}" stroke="{AXIS}"/>',
            _text(left - 4, top + 8, str(peak), "end"),
            _text(left - 4, height - bottom, "0", "end")]
    colour = phase_colour(histogram.phase)
    for index, count in enumerate(counts):
        x0, x1 = scale(edges[index]), scale(edges[index + 1])
        if x1 - x0 < 2:  # a single-valued distribution: one visible bar
            x0, x1 = x0 - 4, x0 + 4
        bar_h = count / peak * plot_h
        body.append(
            f'<rect class="bin" data-count="{count}" x="{_num(x0)}" '
            f'y="{_num(height - bottom - bar_h)}" width="{_num(max(x1 - x0 - 0.5, 1))}" '
            f'height="{_num(bar_h)}" fill="{colour}"><title>{count} calls in '
            f'{escape(format_ns(edges[index]))} – '
            f'{escape(format_ns(edges[index + 1]))}</title></rect>')
    free_from = -math.inf
    for tick in scale.ticks():
        x, text = scale(tick), format_ns(tick)
        anchor = ("start" if x - left < 24 else "end" if width - right - x < 24
                  else "middle")
        extent = LABEL_CHAR_PX * len(text)
        start = {"start": x, "middle": x - extent / 2, "end": x - extent}[anchor]
        if start < free_from:  # it would overlap the label before it
            continue
        free_from = start + extent + 6
        body.append(f'<line x1="{_num(x)}" y1="{height - bottom}" x2="{_num(x)}" '
                    f'y2="{height - bottom + 3}" stroke="{AXIS}"/>')
        body.append(_text(x, height - bottom + 13, text, anchor))
    for row, (name, ns) in enumerate(markers):
        x = _num(scale(ns))
        dash = ' stroke-dasharray="3 2"' if name != "p50" else ""
        body.append(f'<line class="marker" x1="{x}" y1="{top}" x2="{x}" y2="{height - bottom}" '
                    f'stroke="#222222"{dash}><title>{escape(name)} {escape(format_ns(ns))}</title>'
                    '</line>')
        near_end = float(x) > width - right - 24
        body.append(_text(float(x) + (-2 if near_end else 2), top + 8 + 10 * row, name,
                          "end" if near_end else "start", "#222222"))
    return _svg(width, height, label, body, "chart histogram")


def stacked_bars_svg(bars: Sequence[tuple[str, Sequence[tuple[str, float, float]]]],
                     label: str) -> str:
    """One 100% bar per row (name, [(phase, share, median ns)]), segments in phase order."""
    left, bar_w, right, row_h, top = 110, 600, 20, 28, 20
    width, height = left + bar_w + right, top + row_h * len(bars) + 6
    body = []
    for percent in (0, 25, 50, 75, 100):
        x = left + bar_w * percent / 100
        body.append(f'<line x1="{_num(x)}" y1="{top - 4}" x2="{_num(x)}" y2="{height - 4}" '
                    'stroke="#dddddd"/>')
        body.append(_text(x, top - 7, f"{percent}%", "middle"))
    for row, (name, segments) in enumerate(bars):
        y = top + row * row_h
        body.append(_text(left - 6, y + row_h / 2 + 3, name, "end", "#222222"))
        total = sum(share for _, share, _ in segments) or 1.0
        x = float(left)
        by_phase = {phase: (share, median) for phase, share, median in segments}
        for phase in phase_order(list(by_phase)):
            share, median = by_phase[phase]
            w = bar_w * share / total
            colour = phase_colour(phase)
            body.append(
                f'<rect class="segment" data-phase="{escape(phase)}" data-share="{share:.6f}" '
                f'x="{_num(x)}" y="{y + 3}" width="{_num(w)}" height="{row_h - 6}" '
                f'fill="{colour}"><title>{escape(name)} · {escape(phase)}: {share:.1%} of wall '
                f'time, median {escape(format_ns(median))}</title></rect>')
            if w >= 30:
                body.append(_text(x + w / 2, y + row_h / 2 + 3, f"{share:.0%}", "middle",
                                  text_colour(colour)))
            x += w
    return _svg(width, height, label, body, "chart breakdown")


def waterfall_svg(waterfall: Waterfall, label: str) -> str:
    """A row per span: indented name, then a bar from its start to its end relative to the
    root (the root spans the full width)."""
    left, bar_w, right, row_h, top = 240, 620, 60, 15, 22
    rows = waterfall.spans
    width, height = left + bar_w + right, top + row_h * len(rows) + 4
    total = max(waterfall.duration_ns, 1)
    body = []
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        x = left + bar_w * fraction
        body.append(f'<line x1="{_num(x)}" y1="{top - 4}" x2="{_num(x)}" y2="{height}" '
                    'stroke="#e4e4e4"/>')
        body.append(_text(x, top - 8, format_ns(total * fraction), "middle"))
    for index, span in enumerate(rows):
        y = top + index * row_h
        if index % 2:
            body.append(f'<rect x="0" y="{y}" width="{width}" height="{row_h}" '
                        'fill="#f6f6f6"/>')
        name = span.name if len(span.name) <= 30 else span.name[:29] + "…"
        body.append(_text(4 + 10 * min(span.depth, 12), y + row_h - 4, name, fill="#222222"))
        start = min(max(span.offset_ns / total, 0.0), 1.0)
        end = min(max((span.offset_ns + span.duration_ns) / total, start), 1.0)
        x, w = left + bar_w * start, max(bar_w * (end - start), 1.0)
        stroke = ' stroke="#b00020" stroke-width="1.5"' if span.failed else ""
        where = f" on {span.service}" if span.service else ""
        body.append(
            f'<rect class="span" data-span="{escape(span.span_id)}" x="{_num(x)}" '
            f'y="{y + 2}" width="{_num(w)}" height="{row_h - 4}" '
            f'fill="{phase_colour(span.phase)}"{stroke}><title>{escape(span.name)}{escape(where)}'
            f': starts at +{escape(format_ns(span.offset_ns))}, '
            f'lasts {escape(format_ns(span.duration_ns))}'
            f'{" (error)" if span.failed else ""}</title></rect>')
        body.append(_text(min(x + w + 3, left + bar_w + 2), y + row_h - 4,
                          format_ns(span.duration_ns)))
    return _svg(width, height, label, body, "chart waterfall")


def trend_svg(points: Sequence[TrendPoint], label: str) -> str:
    """Each phase's p50 over the runs (x: runs in order, y: log time), one colour per phase."""
    width, height, left, right, top, bottom = 340, 160, 58, 12, 12, 30
    runs = sorted({(p.started_at, p.run_id) for p in points})
    position = {run_id: i for i, (_, run_id) in enumerate(runs)}
    values = [p.p50_ns for p in points]
    lo, hi = min(values), max(values)
    pad = max((hi / lo) ** 0.08, 1.3)  # keep the extreme points off the axes
    lo, hi = lo / pad, hi * pad
    y = LogScale(lo, hi, height - bottom, top)
    step = (width - left - right) / max(len(runs) - 1, 1)

    def x_of(run_id: str) -> float:
        return left + (position[run_id] * step if len(runs) > 1 else (width - left - right) / 2)

    body = [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="{AXIS}"/>',
            f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" '
            f'y2="{height - bottom}" stroke="{AXIS}"/>']
    drawn_at = math.inf
    for tick in LogScale(min(values), max(values), 0, 1).ticks(4):  # data values, not padding
        if drawn_at - y(tick) < 12:
            continue
        drawn_at = y(tick)
        body.append(_text(left - 4, y(tick) + 3, format_ns(tick), "end"))
        body.append(f'<line x1="{left}" y1="{_num(y(tick))}" x2="{width - right}" '
                    f'y2="{_num(y(tick))}" stroke="#eeeeee"/>')
    for (started, run_id) in (runs[0], runs[-1]) if len(runs) > 1 else runs[:1]:
        anchor = "start" if run_id == runs[0][1] and len(runs) > 1 else "end"
        anchor = "middle" if len(runs) == 1 else anchor
        body.append(_text(x_of(run_id), height - bottom + 13, f"{started:%Y-%m-%d %H:%M}",
                          anchor))
    body.append(_text((left + width - right) / 2, height - 4, f"{len(runs)} run(s)", "middle"))
    newest = runs[-1][1]
    for phase in phase_order({p.phase for p in points}):
        series = sorted((p for p in points if p.phase == phase),
                        key=lambda p: position[p.run_id])
        colour = phase_colour(phase)
        if len(series) > 1:
            path = " ".join(f"{_num(x_of(p.run_id))},{_num(y(p.p50_ns))}" for p in series)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                        'stroke-width="1.5"/>')
        for p in series:
            radius = 3.5 if p.run_id == newest else 2.5
            body.append(
                f'<circle class="point" data-phase="{escape(phase)}" cx="{_num(x_of(p.run_id))}" '
                f'cy="{_num(y(p.p50_ns))}" r="{radius}" fill="{colour}"><title>{escape(phase)} '
                f'p50 {escape(format_ns(p.p50_ns))} in run {escape(p.run_id)} '
                f'({p.started_at:%Y-%m-%d %H:%M})</title></circle>')
    return _svg(width, height, label, body, "chart trend")
