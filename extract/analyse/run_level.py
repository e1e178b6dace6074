"""The gate's statistics: run-level values, their spread, the threshold and the verdict.

A benchmark's result is a set of repetitions (block medians: queries/baseline_samples.sql), never
its raw samples: what varies between two runs of the same code is the run, so no test treats a run's
samples as independent draws. A run's value is the median of its block medians; a side (baseline or
current) is the median of its runs' values. The spread is a relative standard deviation: of the
blocks around their own run's value (drift within a run; robust: 1.4826 × median absolute deviation
/ median), and between runs of the same code — the baseline's runs, or the same benchmark's past
runs on the same host where the history has more of them (extract/analyse/calibration.py; the wider
of the robust one and the standard deviation of the values' logarithms, which alone sees a minority
of runs in another mode). The threshold is a prediction bound: spread_multiple × the wider of the
two spreads — Student's t for the runs known, at a family-wise false-alarm rate of
FAMILY_FALSE_ALARM over the benchmarks compared, so it is wide when few runs are known and narrows
as they accumulate, times how far the two sides' medians move between them (each side is the median
of its own runs, and each moves) — never below the largest move seen between those runs (heavy
tails, two modes), nor below the floor (the seed's noise threshold: 5%, sql_functions 15%). Without
a spread between runs (fewer than MIN_VALUES runs) no change is called.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from math import expm1, log, pi, sqrt
from statistics import median, stdev

FAMILY_FALSE_ALARM = 0.05
"""The chance, for a comparison of unchanged code, that any of its benchmarks is called
Regressed, which fails the run (Improved is as likely): each benchmark's bar is the one-sided
prediction bound at FAMILY_FALSE_ALARM / (benchmarks compared) (Bonferroni)."""
MAD_TO_SIGMA = 1.4826
"""The median absolute deviation of normal data times this estimates its standard deviation."""

IMPROVED, STABLE, REGRESSED, UNSTABLE = "Improved", "Stable", "Regressed", "Unstable"


@dataclass(frozen=True)
class Spread:
    """One estimate of how far a run-level value moves by chance, as a fraction of it."""

    value: float
    count: int
    """How many values it was estimated from."""
    basis: str
    """What they were: "blocks", "baseline runs" or "runs of its history"."""
    largest_move: float = 0.0
    """Between runs: the largest relative distance of a run's value from their median."""


@dataclass(frozen=True)
class Threshold:
    """The change a benchmark must exceed, and where it came from."""

    value: float
    floor: float
    spread: Spread | None
    """The widest spread known (None: fewer than MIN_VALUES values on every basis)."""
    runs: Spread | None = None
    """The spread between runs of the same code, when known (from MIN_VALUES runs); without
    it no change is called."""
    multiple: float = 0.0
    """How many spreads the bar is (spread_multiple)."""
    current_runs: int = 1
    """How many runs the current side's median is of."""

    @property
    def decides(self) -> bool:
        """Whether a change beyond the bar may be Regressed or Improved."""
        return self.runs is not None

    def note(self) -> str:
        """How the threshold was set, e.g. "58.7% = 4.89 × spread 12.0% over 20 runs of its
        history"; an undecided one says what it lacks."""
        if self.spread is None:
            text = f"{self.value:.0%} (floor; spread unknown)"
        else:
            spread = f"spread {self.spread.value:.1%} over {self.spread.count} {self.spread.basis}"
            if self.runs is not None and self.value == self.runs.largest_move > max(
                    self.floor, self.multiple * self.spread.value):
                text = (f"{self.value:.1%} = the largest move over {self.runs.count} "
                        f"{self.runs.basis} ({spread})")
            elif self.value > self.floor and self.multiple:
                text = f"{self.value:.1%} = {self.multiple:.3g} × {spread}"
            else:
                text = f"{self.value:.0%} (floor; {spread})"
        if self.current_runs > 1:
            text += f" (current: median of {self.current_runs} runs)"
        if self.decides:
            return text
        return f"{text}; undecided: needs {MIN_VALUES} runs of the same code"


MIN_VALUES = 3
"""Fewest values a spread is estimated from."""


def relative_spread(values: Sequence[float]) -> float | None:
    """Robust relative standard deviation of `values`; None for fewer than MIN_VALUES or a
    median that is not positive."""
    if len(values) < MIN_VALUES:
        return None
    centre = median(values)
    if centre <= 0:
        return None
    return MAD_TO_SIGMA * median(abs(v - centre) for v in values) / centre


def log_spread(values: Sequence[float]) -> float | None:
    """The standard deviation of the values' logarithms, as a relative spread (e^sd - 1); None
    for fewer than MIN_VALUES or a value that is not positive."""
    if len(values) < MIN_VALUES or min(values) <= 0:
        return None
    return expm1(stdev(log(v) for v in values))


def between_runs(values: Sequence[float], basis: str) -> Spread | None:
    """The spread of run-level values of the same code, with their largest move; None for
    fewer than MIN_VALUES. The spread is the wider of the robust one (relative_spread) and
    the standard deviation's (log_spread): a benchmark whose runs sit in two modes (the machine
    runs at two speeds) has a small median deviation, and only the standard deviation sees how
    far its next run may land."""
    spread = relative_spread(values)
    if spread is None:
        return None
    centre = median(values)
    return Spread(max(spread, log_spread(values) or 0.0), len(values), basis,
                  max(abs(v - centre) for v in values) / centre)


def block_spread(runs: Iterable[Sequence[float]]) -> Spread | None:
    """The spread of blocks around their own run's value, pooled over `runs` (each a run's
    block medians): the median of every block's relative deviation, scaled to a sigma."""
    deviations = []
    for blocks in runs:
        if len(blocks) < 2:
            continue
        centre = median(blocks)
        if centre > 0:
            deviations += [abs(b - centre) / centre for b in blocks]
    if len(deviations) < MIN_VALUES:
        return None
    return Spread(MAD_TO_SIGMA * median(deviations), len(deviations), "blocks")


def run_value(blocks: Sequence[float]) -> float:
    """A run's run-level value: the median of its block medians."""
    return median(blocks)


def widest(spreads: Iterable[Spread | None]) -> Spread | None:
    """The largest of the spreads known."""
    return max(filter(None, spreads), key=lambda s: s.value, default=None)


def best_known(spreads: Iterable[Spread | None]) -> Spread | None:
    """Of the between-run spreads known, the one estimated from the most runs."""
    return max(filter(None, spreads), key=lambda s: s.count, default=None)


def median_variance(runs: int) -> float:
    """The variance of the median of `runs` normal values, in units of one value's variance: 1
    for one, 1/2 for two (their mean), 1 - sqrt(3)/pi = 0.449 for three, and from four on
    pi / (2 runs), the large-sample value, which is above the exact one."""
    if runs <= 2:
        return 1 / max(runs, 1)
    if runs == 3:
        return 1 - sqrt(3) / pi
    return pi / (2 * runs)


def spread_multiple(runs: int, benchmarks: int, current_runs: int = 1,
                    baseline_runs: int = 1) -> float:
    """How many spreads a change must exceed when the spread comes from `runs` runs,
    `benchmarks` are compared, and the current and baseline sides are the medians of
    `current_runs` and `baseline_runs` runs: Student's t at 1 - FAMILY_FALSE_ALARM / benchmarks
    with runs - 1 degrees of freedom, times sqrt(median_variance(current_runs) +
    median_variance(baseline_runs)), the spread of the difference of the two medians; e.g. for
    150 benchmarks and one run against one, 13.5 from 5 runs, 5.7 from 20; against a baseline of
    3 runs, 4.9 from 20, and 3.8 for the median of 3 runs."""
    from scipy.special import stdtrit  # imported here: only a comparison needs it

    return float(stdtrit(runs - 1, 1 - FAMILY_FALSE_ALARM / max(benchmarks, 1))
                 * sqrt(median_variance(current_runs) + median_variance(baseline_runs)))


def threshold(floor: float, block: Spread | None, runs: Spread | None, benchmarks: int = 1,
              current_runs: int = 1, baseline_runs: int = 1) -> Threshold:
    """With a spread between runs of the same code: spread_multiple × the wider of it and the
    blocks' spread, never below the largest move between those runs, nor below `floor`.
    Without one: `floor`, deciding nothing. `current_runs`, `baseline_runs`: how many runs each
    side's median is of."""
    spread = widest([block, runs])
    if runs is None:
        return Threshold(floor, floor, spread, current_runs=current_runs)
    multiple = spread_multiple(runs.count, benchmarks, current_runs, baseline_runs)
    bar = max(floor, multiple * spread.value, runs.largest_move)
    return Threshold(bar, floor, spread, runs, multiple, current_runs)


def verdict(change: float, bar: Threshold) -> str:
    """Regressed / Improved beyond a threshold that decides; Unstable when the change exceeds
    the floor but not the threshold, or the threshold does not decide (the noise is too wide,
    or not yet known, to tell); Stable otherwise."""
    if change != change:  # NaN: a baseline of zero
        return STABLE
    if abs(change) > bar.value and bar.decides:
        return REGRESSED if change > 0 else IMPROVED
    if abs(change) > bar.floor:
        return UNSTABLE
    return STABLE
