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


def test_the_threshold_is_three_spreads_floored() -> None:
    wide = run_level.threshold(0.05, [Spread(0.04, 10, "blocks"), None,
                                      Spread(0.02, 6, "runs of its history")])
    assert wide.value == pytest.approx(0.12)
    assert wide.note() == "12.0% = 3 × spread 4.0% over 10 blocks"
    narrow = run_level.threshold(0.05, [Spread(0.01, 6, "runs of its history")])
    assert (narrow.value, narrow.note()) == (0.05, "5% (floor; spread 1.0% over 6 runs of "
                                                   "its history)")
    assert run_level.threshold(0.15, [None]).note() == "15% (floor; spread unknown)"


@pytest.mark.parametrize(("change", "status"), [
    (0.13, "Regressed"), (-0.13, "Improved"), (0.08, "Unstable"), (-0.08, "Unstable"),
    (0.04, "Stable"), (float("nan"), "Stable")])
def test_the_verdict(change: float, status: str) -> None:
    bar = Threshold(0.12, 0.05, Spread(0.04, 10, "blocks"))
    assert run_level.verdict(change, bar) == status
