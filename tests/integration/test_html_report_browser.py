"""report.html in headless Chromium: written by `spanbench report` from a run's Parquet, it
renders with no console error and no network request, with each suite's headings, charts and
phase legend; a full-page screenshot is kept under tmp/screenshots/ for review."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from extract.reports.phase_colours import phase_colour
from tests.chromium_cdp import ChromiumError, chromium_binary, open_page
from tests.e2e_traces import DIAMOND
from tests.html_run_fixture import RUN_ID, write_history, write_report_run

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "tmp" / "screenshots" / "report.png"

PAGE_FACTS = """JSON.stringify({
  title: document.title,
  h1: [...document.querySelectorAll('h1')].map(e => e.textContent),
  suites: [...document.querySelectorAll('section.suite')].map(s => ({
    id: s.id,
    h2: s.querySelector('h2').textContent,
    h3: [...s.querySelectorAll('h3')].map(e => e.textContent),
    svgs: s.querySelectorAll('svg').length,
    kinds: Object.fromEntries(['histogram', 'trend', 'breakdown', 'waterfall'].map(
      k => [k, s.querySelectorAll('svg.' + k).length])),
    legend: [...s.querySelectorAll('.legend li')].map(li => [li.textContent,
      getComputedStyle(li.querySelector('.swatch')).backgroundColor]),
    untitled: [...s.querySelectorAll('svg')].filter(
      g => !g.querySelector('title') || !g.getAttribute('aria-label')).length,
    unrendered: [...s.querySelectorAll('svg')].filter(
      g => g.getBoundingClientRect().width < 50 || g.getBoundingClientRect().height < 20).length,
    tableRows: s.querySelectorAll('table tbody tr').length,
    waterfallRows: [...s.querySelectorAll('svg.waterfall')].map(
      g => g.querySelectorAll('rect.span').length),
    notes: [...s.querySelectorAll('p.note')].map(p => p.textContent).join(' | '),
  })),
})"""


def _rgb(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def _write_report(tmp_path: Path) -> Path:
    runs = tmp_path / ".spanbench" / "runs"
    write_report_run(runs)
    write_history(runs, runs=2)
    env = {**os.environ, "SPANBENCH_HOME": str(tmp_path / ".spanbench"), "COLUMNS": "200"}
    env.pop("SPANBENCH_SINK_OUT", None)
    result = subprocess.run([sys.executable, "-m", "spanbench", "report", "--output-dir", "out"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 1: a target failed
    report = tmp_path / "out" / "latest" / "report.html"
    assert report.is_file(), result.stdout + result.stderr
    return report


@pytest.mark.timeout(180)
def test_report_html_renders_offline_with_every_chart(tmp_path: Path) -> None:
    try:
        chromium_binary()
    except ChromiumError as error:
        pytest.fail(str(error))
    report = _write_report(tmp_path)
    url = report.as_uri()
    with open_page(url, tmp_path / "profile") as page:
        facts = json.loads(page.evaluate(PAGE_FACTS))
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(SCREENSHOT)
        events = list(page.events)
    print(f"report.html screenshot: {SCREENSHOT}")

    requests = [e["params"]["request"]["url"] for e in events
                if e["method"] == "Network.requestWillBeSent"]
    assert requests == [url], f"the page made requests besides loading itself: {requests}"
    problems = [e for e in events if e["method"] == "Runtime.exceptionThrown"
                or (e["method"] == "Runtime.consoleAPICalled"
                    and e["params"]["type"] in ("error", "assert"))
                or (e["method"] == "Log.entryAdded"
                    and e["params"]["entry"]["level"] in ("error", "warning"))]
    assert problems == []

    assert facts["title"] == f"spanbench report: {RUN_ID}"
    assert facts["h1"] == ["spanbench report"]
    suites = {s["h2"]: s for s in facts["suites"]}
    assert list(suites) == ["task_initialization", "sql_functions", "e2e_latency"]
    for name, suite in suites.items():
        assert suite["id"] == f"suite-{name}"
        assert suite["h3"][:2] == ["Percentiles and targets", "Latency distributions"]
        assert suite["h3"][-1] == "Trend across runs"
        assert suite["untitled"] == 0 and suite["unrendered"] == 0
        assert "2 stored before it" in suite["notes"]
        for phase, colour in suite["legend"]:
            assert colour == _rgb(phase_colour(phase)), phase
    assert suites["task_initialization"]["kinds"] == {
        "histogram": 2, "trend": 2, "breakdown": 0, "waterfall": 0}
    assert suites["sql_functions"]["kinds"] == {
        "histogram": 2, "trend": 2, "breakdown": 0, "waterfall": 0}  # two dataset sizes
    e2e = suites["e2e_latency"]
    phases = {drawn.name for drawn in DIAMOND} | {"e2e.workflow"}
    assert e2e["kinds"] == {"histogram": len(phases), "trend": 1, "breakdown": 1,
                            "waterfall": 2}
    assert e2e["svgs"] == len(phases) + 4
    assert e2e["h3"] == ["Percentiles and targets", "Latency distributions",
                         "Where the time goes", "Waterfalls: median and slowest trace",
                         "Trend across runs"]
    assert e2e["waterfallRows"] == [len(DIAMOND) + 1] * 2
    assert {phase for phase, _ in e2e["legend"]} == phases | {"wait"}
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert SCREENSHOT.stat().st_size > 20_000
