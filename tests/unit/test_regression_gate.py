"""benchmarks/regression_gate.py's arithmetic: which benchmark sets a delay, what is counted."""

from __future__ import annotations

import pytest

from benchmarks.regression_gate import (
    RunResult,
    Simulated,
    injected_delay,
    injection_targets,
    rejudge,
    report,
    shifted,
    simulated_summary,
)
from extract.analyse.baseline_compare import Comparison, compare_repetitions
from extract.analyse.confirmation import confirm
from extract.analyse.disturbance import set_aside
from extract.analyse.run_level import Spread


def _row(scenario: str, phase: str, median_ns: float, suite: str = "event_propagation"
         ) -> Comparison:
    return Comparison(suite, scenario, None, phase, median_ns, median_ns, 0.0,
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


def test_only_phases_the_driver_times_are_targets_and_suites_take_turns() -> None:
    rows = [_row("a", "p1", 1.0, "s1"), _row("a", "p2", 1.0, "s1"), _row("a", "p3", 1.0, "s1"),
            _row("b", "q1", 1.0, "s2"), _row("b", "stack_phase", 1.0, "s2")]
    timed = {("s1", "p1"): 1, ("s1", "p2"): 1, ("s1", "p3"): 1, ("s2", "q1"): 1}
    assert [name for _, name in injection_targets(rows, timed)] == [
        "s1/a/p1", "s2/b/q1", "s1/a/p2", "s1/a/p3"]


def test_a_batched_phase_is_delayed_for_every_call_its_span_covers() -> None:
    """handler.direct: a span of 10 000 calls of 160 ns; +20% a call is 32 ns a call, so
    320 000 ns a span (its samples are Duration / batch size)."""
    row = _row("direct", "handler.direct", 160.0, "handler_overhead")
    assert injected_delay(row, 0.2, 10_000) == 320_000
    assert injected_delay(_row("bare", "notify", 130_000.0), 0.2) == 26_000


def test_a_shift_moves_every_block_median_by_the_delay() -> None:
    assert shifted({"r1": [10.0, 12.0], "r2": [11.0]}, 2.5) == {"r1": [12.5, 14.5],
                                                                 "r2": [13.5]}


def test_simulated_detections_are_counted_with_their_thresholds(
        capsys: pytest.CaptureFixture[str]) -> None:
    simulated = [Simulated("a1", "x", "Regressed", 0.12, True),
                 Simulated("a1", "y", "Unstable", 0.40, True),
                 Simulated("a1", "z", "Unstable", 0.10, False),
                 Simulated("a2", "x", "Unstable", 0.18, True)]
    summary = simulated_summary(simulated, 0.2)
    assert (summary["simulated_detected"], summary["simulated_undecided"]) == (1, 1)
    assert (summary["simulated_bar_below_slowdown"],
            summary["simulated_detected_bar_below_slowdown"]) == (2, 1)
    assert summary["simulated_median_bar"] == pytest.approx(0.18)
    assert "1/4 Regressed (25%)" in capsys.readouterr().out


class _KeptRuns:
    """A harness over kept runs whose one benchmark moved by the given fractions: A/A runs,
    baseline 100 ns, history spread 10% over 20 runs."""

    def __init__(self, moves: dict[str, float], disturbed: set[str] = frozenset()) -> None:
        self.moves, self.disturbed_runs = moves, disturbed

    def logged(self) -> list[RunResult]:
        return [RunResult("baseline", "b", 0, 1.0),
                *(RunResult("A/A", run_id, 0, 1.0) for run_id in self.moves)]

    def sides(self, run_ids: list[str]) -> tuple[dict, dict]:
        key = ("s", "x", None, "p")
        return ({key: {"b": [100.0] * 5}},
                {key: {r: [100.0 * (1 + self.moves[r])] * 5 for r in run_ids}})

    def history(self, run_id: str) -> dict:
        return {("s", "x", None, "p"): Spread(0.1, 20, "runs of its history", 0.1)}

    def disturbed(self, run_ids: list[str]) -> dict[str, str]:
        return {"s": "busy"} if set(run_ids) & self.disturbed_runs else {}

    def judge(self, run_ids: list[str], confirming: list[str] = ()) -> list[Comparison]:
        def judged(ids: list[str]) -> list[Comparison]:
            return set_aside(compare_repetitions(*self.sides(ids),
                                                 history=self.history(run_ids[0])),
                             self.disturbed(ids))

        return confirm(judged(run_ids), [judged([run_id]) for run_id in confirming])


def test_rejudging_in_groups_judges_each_group_by_its_median() -> None:
    # one benchmark, 20 runs, a baseline of one run: one run's bar is 2.45 spreads (24.5%),
    # the median of three's 2.08 (20.8%); a group's wild run does not move its median
    kept = _KeptRuns({"a1": 0.22, "a2": 0.21, "a3": 0.23, "a4": 0.0, "a5": 0.9, "a6": 0.02,
                      "a7": 0.0})
    alone, _ = rejudge(kept, 0.2)
    assert [r.statuses["s/x/p"] for r in alone if r.kind == "A/A"] == [
        "Unstable", "Unstable", "Unstable", "Stable", "Regressed", "Stable", "Stable"]
    grouped, simulated = rejudge(kept, 0.2, current_runs=3)
    assert [(r.run_id, r.statuses["s/x/p"]) for r in grouped if r.kind == "A/A"] == [
        ("a1", "Regressed"), ("a4", "Stable")]  # a7, a group short, is left out
    assert [s.status for s in simulated] == ["Regressed", "Regressed"]
    set_apart, _ = rejudge(_KeptRuns(kept.moves, disturbed={"a2"}), 0.2, current_runs=3)
    assert [(r.statuses["s/x/p"], r.set_aside) for r in set_apart if r.kind == "A/A"] == [
        ("Unstable", ["s"]), ("Stable", [])]


def test_rejudging_with_the_next_run_as_confirmation_needs_two_runs_beyond_the_bar() -> None:
    # one run's bar is 24.5%: a1, a3 and a4 are beyond it, but only a3's next run is too
    kept = _KeptRuns({"a1": 0.9, "a2": 0.0, "a3": 0.5, "a4": 0.3, "a5": 0.0})
    confirmed, simulated = rejudge(kept, 0.3, confirm_with_next=True)
    assert [(r.run_id, r.statuses["s/x/p"]) for r in confirmed if r.kind == "A/A"] == [
        ("a1", "Unstable"), ("a2", "Stable"), ("a3", "Regressed"), ("a4", "Unstable")]
    # +30% on every run: a run and its next both beyond 24.5%, so every one is caught but a5,
    # which has no next run and is left out
    assert [(s.run_id, s.status) for s in simulated] == [
        ("a1", "Regressed"), ("a2", "Regressed"), ("a3", "Regressed"), ("a4", "Regressed")]
    lone = _KeptRuns({"a1": 0.0, "a2": -0.1})
    _, missed = rejudge(lone, 0.3, confirm_with_next=True)
    assert [s.status for s in missed] == ["Unstable"]  # a2's +20% does not confirm a1's +30%
