"""The gate's statistics on numbers worked out by hand."""

from __future__ import annotations

import pytest

from extract.analyse import run_level
from extract.analyse.run_level import Spread, Threshold


def test_relative_spread_is_the_scaled_median_absolute_deviation() -> None:
    # median 100, deviations 10, 0, 10, 0, 30 → MAD 10
    assert run_level.relative_spread([90.0, 100, 110, 100, 130]) == pytest.approx(0.14826)
    assert run_level.relative_spread([90.0, 100]) is None  # too few to tell
    assert run_level.relative_spread([0.0, 0, 0]) is None


def test_block_spread_pools_deviations_around_each_runs_own_value() -> None:
    # run 1: centre 10, deviations .1 0 .1; run 2: centre 100, deviations .05 0 .05 → median .05
    spread = run_level.block_spread([[9.0, 10, 11], [95.0, 100, 105], [7.0]])
    assert spread == Spread(pytest.approx(0.05 * 1.4826), 6, "blocks")
    assert run_level.block_spread([[1.0, 2.0]]) is None


def test_between_runs_keeps_the_largest_move() -> None:
    # median 100, deviations 10 0 10 0 30 → spread 14.8%, largest move 30%; the logarithms'
    # standard deviation is narrower here, so the robust spread stands
    values = [90.0, 100, 110, 100, 130]
    assert run_level.log_spread(values) < 0.14826
    spread = run_level.between_runs(values, "baseline runs")
    assert spread == Spread(pytest.approx(0.14826), 5, "baseline runs", pytest.approx(0.3))
    assert run_level.between_runs([1.0, 2.0], "baseline runs") is None


def test_the_log_spread_is_the_standard_deviation_of_the_logarithms() -> None:
    # logarithms 0, ln 2, ln 4 → mean ln 2, deviations ∓ln 2 → sd ln 2 (n - 1) → e^ln 2 - 1 = 1
    assert run_level.log_spread([1.0, 2.0, 4.0]) == pytest.approx(1.0)
    assert run_level.log_spread([1.0, 2.0]) is None  # too few to tell
    assert run_level.log_spread([0.0, 1.0, 2.0]) is None


def test_a_minority_of_runs_in_another_mode_widens_the_spread() -> None:
    """Runs at the machine's two speeds: six at 100, two at 170. The median deviation sees none
    of the slower ones, the standard deviation does, and a third run at 170 is within the bar."""
    values = [100.0, 100, 101, 99, 100, 170, 100, 170]
    assert run_level.relative_spread(values) == pytest.approx(0.0074, abs=1e-4)
    spread = run_level.between_runs(values, "runs of its history")
    assert spread is not None
    assert spread.value == pytest.approx(run_level.log_spread(values))
    assert spread.value > 0.25
    bar = run_level.threshold(0.05, None, spread, benchmarks=150)
    assert run_level.verdict(0.75, bar) == "Unstable"


def test_the_multiple_is_students_t_for_the_runs_known_and_the_benchmarks_compared() -> None:
    # one benchmark, 5 runs: t at 0.95 with 4 degrees of freedom (2.132 in any table) × √2,
    # for one run against a baseline of one run: both move
    assert run_level.spread_multiple(5, 1) == pytest.approx(2.132 * 2 ** 0.5, rel=1e-3)
    # 150 benchmarks share the 5%: the bound moves out, and narrows as runs accumulate
    assert run_level.spread_multiple(5, 150) == pytest.approx(13.53, rel=1e-3)
    assert run_level.spread_multiple(20, 150) == pytest.approx(5.743, rel=1e-3)
    assert run_level.spread_multiple(3, 150) > run_level.spread_multiple(5, 150) > \
        run_level.spread_multiple(20, 150) > run_level.spread_multiple(20, 1)


def test_the_median_of_several_current_runs_narrows_the_bound() -> None:
    # the median's variance: one value 1, the mean of two 1/2, three 1 - sqrt(3)/pi (0.4487)
    assert [run_level.median_variance(k) for k in (1, 2, 3)] == pytest.approx(
        [1, 0.5, 0.4487], abs=1e-4)
    assert run_level.median_variance(9) == pytest.approx(3.14159 / 18, rel=1e-4)
    # 20 runs known, 150 benchmarks: t = 4.061; the median of 3 runs against a baseline of 1
    # run moves by sqrt(0.4487 + 1) spreads, against a baseline of 3 by sqrt(0.4487 * 2)
    t = 4.061
    assert run_level.spread_multiple(20, 150, 3) == pytest.approx(t * 1.4487 ** 0.5, rel=1e-3)
    assert run_level.spread_multiple(20, 150, 3, 3) == pytest.approx(t * 0.8974 ** 0.5,
                                                                     rel=1e-3)
    bar = run_level.threshold(0.05, None, Spread(0.1, 20, "runs of its history", 0.2), 150, 3)
    assert bar.value == pytest.approx(0.4888, rel=1e-3)
    assert bar.note() == ("48.9% = 4.89 × spread 10.0% over 20 runs of its history "
                          "(current: median of 3 runs)")
    # one run against one: the same spread gives a bar of 5.74 spreads
    assert run_level.threshold(0.05, None, Spread(0.1, 20, "runs of its history", 0.2),
                               150).value == pytest.approx(0.5743, rel=1e-3)


def test_the_baselines_own_runs_move_too() -> None:
    """The baseline's value is the median of its runs, which moves like the current run's:
    a spread learnt from 20 runs of history does not make a baseline of one run exact."""
    history = Spread(0.1, 20, "runs of its history", 0.2)
    one = run_level.threshold(0.05, None, history, 150, 1, 1)
    three = run_level.threshold(0.05, None, history, 150, 1, 3)
    assert one.value / three.value == pytest.approx((2 / 1.4487) ** 0.5, rel=1e-3)
    assert run_level.verdict(0.5, three) == "Regressed"
    assert run_level.verdict(0.5, one) == "Unstable"


def test_the_threshold_is_a_prediction_bound_floored() -> None:
    runs = Spread(0.015, 5, "runs of its history", 0.03)
    wide = run_level.threshold(0.05, Spread(0.04, 10, "blocks"), runs)
    assert wide.value == pytest.approx(0.04 * 3.0149, rel=1e-4)
    assert wide.note() == "12.1% = 3.01 × spread 4.0% over 10 blocks"
    narrow = run_level.threshold(0.05, None, runs)
    assert (narrow.value, narrow.note()) == (0.05, "5% (floor; spread 1.5% over 5 runs of "
                                                   "its history)")
    assert run_level.threshold(0.15, None, None).note() == (
        "15% (floor; spread unknown); undecided: needs 3 runs of the same code")


def test_the_largest_move_between_runs_is_a_bar_too() -> None:
    """A jump a benchmark has shown among runs of the same code is not a regression, however
    narrow its spread."""
    bimodal = Spread(0.0, 7, "runs of its history", 0.4)
    bar = run_level.threshold(0.05, None, bimodal)
    assert bar.value == pytest.approx(0.4)
    assert bar.note() == ("40.0% = the largest move over 7 runs of its history "
                          "(spread 0.0% over 7 runs of its history)")
    assert run_level.verdict(0.39, bar) == "Unstable"
    assert run_level.verdict(0.41, bar) == "Regressed"


def test_few_runs_give_a_wide_bar_and_none_decide_nothing() -> None:
    three = run_level.threshold(0.05, None, Spread(0.01, 3, "baseline runs", 0.01), 150, 1, 3)
    assert three.decides and three.value == pytest.approx(0.4659, rel=1e-3)
    assert run_level.verdict(0.4, three) == "Unstable"
    assert run_level.verdict(0.5, three) == "Regressed"
    unknown = run_level.threshold(0.05, Spread(0.01, 20, "blocks"), None)
    assert not unknown.decides
    assert run_level.verdict(3.0, unknown) == "Unstable"  # however far: the spread is unknown
    assert run_level.verdict(0.04, unknown) == "Stable"


def test_the_wider_run_spread_is_the_one_from_more_runs() -> None:
    baseline = Spread(0.01, 3, "baseline runs", 0.01)
    history = Spread(0.05, 12, "runs of its history", 0.1)
    assert run_level.best_known([baseline, history, None]) == history
    assert run_level.best_known([None]) is None


@pytest.mark.parametrize(("change", "status"), [
    (0.13, "Regressed"), (-0.13, "Improved"), (0.08, "Unstable"), (-0.08, "Unstable"),
    (0.04, "Stable"), (float("nan"), "Stable")])
def test_the_verdict(change: float, status: str) -> None:
    bar = Threshold(0.12, 0.05, Spread(0.03, 8, "runs of its history"),
                    Spread(0.03, 8, "runs of its history", 0.05), 4.0)
    assert run_level.verdict(change, bar) == status
