"""benchmarks/load_knee: the knee is the first level whose next step raises p99 by more than it
raises throughput."""

from __future__ import annotations

from benchmarks.load_knee import Figures, Level, knee, render
from instrument.workload.load import LoadProfile


def _level(n: int, p99_ms: float | None, per_s: float | None) -> Figures:
    level = Level("closed", n, LoadProfile(concurrency=n))
    return Figures(level, level.profile.scenario("linear_4"), 100, 0, 1.0, p99_ms, per_s, None)


def test_the_knee_is_where_p99_starts_to_outgrow_throughput() -> None:
    rows = [_level(1, 100, 10), _level(8, 150, 60), _level(32, 900, 70)]
    assert knee(rows) is rows[1]  # 1 → 8: p99 ×1.5, throughput ×6; 8 → 32: ×6 against ×1.17
    assert "knee (closed loop): 8 in flight" in render(rows)


def test_no_knee_within_the_levels_or_without_a_p99() -> None:
    assert knee([_level(1, 100, 10), _level(8, 200, 40)]) is None  # ×2 against ×4
    assert knee([_level(1, 100, 10), _level(8, 800, 80)]) is None  # ×8 against ×8: not faster
    assert knee([_level(1, None, 10), _level(8, 900, 11)]) is None
    assert "not within the levels tried" in render([_level(1, 100, 10), _level(8, 200, 40)])
