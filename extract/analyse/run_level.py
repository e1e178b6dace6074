"""The gate's statistics: run-level values, their spread, the threshold and the verdict.

A benchmark's result is a set of repetitions (block medians: queries/baseline_samples.sql), never
its raw samples: what varies between two runs of the same code is the run, so no test treats a
run's samples as independent draws. A run's value is the median of its block medians; a side
(baseline or current) is the median of its runs' values. The spread is a robust relative
standard deviation (1.4826 × median absolute deviation / median): of the blocks around their own
run's value (drift within a run), and between runs of the same code — the baseline's runs, or
the same benchmark's past runs on the same host where the history has more of them
(extract/analyse/calibration.py). The threshold is SPREAD_MULTIPLE × the wider of the two, never
below the largest move seen between those runs, nor below the floor (the seed's noise threshold:
5%, sql_functions 15%). Only a threshold backed by MIN_RUNS runs calls a change Regressed or
Improved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

SPREAD_MULTIPLE = 4.0
"""How many spreads a change must exceed to count. A run compares about 150 benchmarks: with a
normal run-to-run spread known exactly, 4 spreads make a false alarm anywhere in a run about 0.5%
likely; the margin covers the spread's own estimation error."""
MAD_TO_SIGMA = 1.4826
"""The median absolute deviation of normal data times this estimates its standard deviation."""
MIN_RUNS = 5
"""Fewest runs of the same code whose spread lets a change be called Regressed or Improved; with
fewer, a change beyond the floor is Unstable (the blocks of one run do not show how far a run
moves: on a shared 2-core machine runs of the same code differ 3-4 times more than one run's
blocks suggest)."""

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
    """The spread between runs of the same code, when known; it decides whether a change beyond
    the bar is called (from MIN_RUNS runs)."""

    @property
    def decides(self) -> bool:
        """Whether a change beyond the bar may be Regressed or Improved."""
        return self.runs is not None and self.runs.count >= MIN_RUNS

    def note(self) -> str:
        """How the threshold was set, e.g. "48.0% = 4 × spread 12.0% over 9 runs of its
        history"; an undecided one says what it lacks."""
        if self.spread is None:
            text = f"{self.value:.0%} (floor; spread unknown)"
        else:
            spread = f"spread {self.spread.value:.1%} over {self.spread.count} {self.spread.basis}"
            if self.runs is not None and self.value == self.runs.largest_move > max(
                    self.floor, SPREAD_MULTIPLE * self.spread.value):
                text = (f"{self.value:.1%} = the largest move over {self.runs.count} "
                        f"{self.runs.basis} ({spread})")
            elif self.value > self.floor:
                text = f"{self.value:.1%} = {SPREAD_MULTIPLE:g} × {spread}"
            else:
                text = f"{self.value:.0%} (floor; {spread})"
        if self.decides:
            return text
        known = "no run-to-run spread" if self.runs is None else \
            f"{self.runs.count} {self.runs.basis}"
        return f"{text}; undecided: needs {MIN_RUNS} runs of the same code, has {known}"


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


def between_runs(values: Sequence[float], basis: str) -> Spread | None:
    """The spread of run-level values of the same code, with their largest move; None for
    fewer than MIN_VALUES."""
    spread = relative_spread(values)
    if spread is None:
        return None
    centre = median(values)
    return Spread(spread, len(values), basis, max(abs(v - centre) for v in values) / centre)


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
    known = [s for s in spreads if s is not None]
    return max(known, key=lambda s: s.value) if known else None


def best_known(spreads: Iterable[Spread | None]) -> Spread | None:
    """Of the between-run spreads known, the one estimated from the most runs."""
    known = [s for s in spreads if s is not None]
    return max(known, key=lambda s: s.count) if known else None


def threshold(floor: float, block: Spread | None, runs: Spread | None) -> Threshold:
    """SPREAD_MULTIPLE × the wider of the block and run-to-run spreads, never below the largest
    move between runs of the same code, nor below `floor`."""
    spread = widest([block, runs])
    bar = floor if spread is None else max(floor, SPREAD_MULTIPLE * spread.value)
    if runs is not None:
        bar = max(bar, runs.largest_move)
    return Threshold(bar, floor, spread, runs)


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
