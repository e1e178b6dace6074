"""Golden tests: the console blocks, the per-suite log, summary.md and the baseline table."""

from dataclasses import replace

from extract.reports.baseline_table import baseline_markdown
from extract.reports.console import RULE, console_report
from extract.reports.findings import key_findings
from extract.reports.logs import suite_log, summary_markdown
from tests.unit.reports_fixture import assert_golden, sample_report


def test_console_golden() -> None:
    text = console_report(sample_report())
    assert RULE == "═" * 79
    assert "task_initialization/linear_3/api.create_task   time: [17.57 ms 17.75 ms 17.93 ms]" \
        in text
    assert "📊 BENCHMARK RESULTS: E2E LATENCY" in text
    assert_golden("console.txt", text)


def test_findings_are_computed() -> None:
    findings = key_findings(sample_report(), "e2e_latency")
    assert findings[0].startswith("Slowest phase: execute in linear_3, 45%")
    assert any("+22.5%" in line and "Regressed" in line for line in findings)
    assert any(line.startswith("p99 not reported for 2 of 2") for line in findings)
    assert any("1 of 10 linear_3 workflows had incomplete traces (missing claim×1)" in line
               for line in findings)


def test_suite_log_golden() -> None:
    report = sample_report()
    text = suite_log(report, "task_initialization")
    assert "- Status: ✅ PASS (2.8x better than target)" in text
    assert "✅ All tests passed" in text
    assert_golden("task_initialization.log", text)
    assert_golden("e2e_latency.log", suite_log(report, "e2e_latency"))


def test_summary_golden() -> None:
    text = summary_markdown(sample_report())
    for heading in ("## task_initialization", "## e2e_latency", "### E2E Breakdown",
                    "## Baseline Comparison (against main)"):
        assert heading in text
    assert_golden("summary.md", text)


def test_baseline_table_golden() -> None:
    text = baseline_markdown(sample_report().comparisons, "main (2026-11-28)",
                             "20261129T222039Z-3fa9c2")
    assert "| task_initialization/linear_3/api.create_task | 18.2ms | 17.7ms | -2.5% | " \
           "✅ Stable | 5% (floor; spread 0.4% over 10 blocks) |" in text
    assert_golden("baseline.md", text)


def test_undecided_benchmarks_say_what_would_decide_them() -> None:
    rows = [replace(row, status="Unstable", decides=False)
            for row in sample_report().comparisons[:1]] + list(sample_report().comparisons[1:])
    text = baseline_markdown(rows, "main", "now")
    assert text.splitlines()[-1] == (
        "1 of 2 benchmarks undecided: a change is called Regressed or Improved once the spread "
        "between runs of the same code is known from 3 runs (the baseline's — add runs with "
        "'spanbench baseline add NAME RUN...' — or this host's history, which grows with every "
        "run)")
    assert "undecided" not in baseline_markdown(sample_report().comparisons, "main", "now")
