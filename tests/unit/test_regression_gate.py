"""benchmarks/regression_gate.py's arithmetic: which benchmark sets a delay, what is counted."""

from __future__ import annotations

import pytest

from benchmarks.regression_gate import RunResult, injection_targets, report
from extract.analyse.baseline_compare import Comparison


def _row(scenario: str, phase: str, median_ns: float) -> Comparison:
    return Comparison("event_propagation", scenario, None, phase, median_ns, median_ns, 0.0,
                      "Stable", 5, 5, 0.05, 0.01, "5% (floor)", 1)


def test_a_shared_phase_name_is_targeted_through_its_fastest_benchmark() -> None:
    targets = injection_targets([_row("send", "publish", 800.0), _row("bare", "publish", 120.0),
                                 _row("bare", "notify", 150.0)])
    assert [(row.scenario, row.phase, name) for row, name in targets] == [
        ("bare", "publish", "event_propagation/bare/publish"),
        ("bare", "notify", "event_propagation/bare/notify")]


def test_false_alarms_and_detections_are_counted_per_run(capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    runs = [RunResult("baseline", "b", 0, 10.0),
            RunResult("A/A", "a1", 0, 10.0, {"x": "Stable", "y": "Unstable"}),
            RunResult("A/A", "a2", 1, 10.0, {"x": "Regressed", "y": "Regressed"}),
            RunResult("A/A", "a3", 1, 10.0, {"x": "Stable"}),  # a target failed
            RunResult("injected", "i1", 1, 10.0, {"x": "Regressed"}, target="x"),
            RunResult("injected", "i2", 0, 10.0, {"x": "Unstable", "y": "Regressed"},
                      target="x")]
    summary = report(runs, 0.2)
    assert (summary["aa_pairs"], summary["aa_false_alarms"], summary["aa_exit_nonzero"]) == (
        3, 1, 2)
    assert summary["aa_verdicts"] == {"Stable": 2, "Unstable": 1, "Regressed": 2}
    assert (summary["injected_runs"], summary["injected_detected"]) == (2, 1)
    assert summary["total_wall_s"] == 60.0
    assert "A/A: 1/3 runs with a benchmark Regressed (false-alarm rate 33%)" in \
        capsys.readouterr().out
