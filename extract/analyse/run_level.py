"""The gate's statistics: run-level values, their spread, the threshold and the verdict.

A benchmark's result is a set of repetitions (block medians: queries/baseline_samples.sql), never
its raw samples: what varies between two runs of the same code is the run, so no test treats a
run's samples as independent draws. A run's value is the median of its block medians; a side
(baseline or current) is the median of its runs' values. The spread is a robust relative
standard deviation (1.4826 × median absolute deviation / median): of the blocks around their own
run's value (drift within a run), of the baseline's run values (between runs) and, where the
history has them, of the same benchmark's past runs on the same host (extract/analyse/
calibration.py). The threshold is SPREAD_MULTIPLE × the widest of them, never below the floor
(the seed's noise threshold: 5%, sql_functions 15%).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

SPREAD_MULTIPLE = 3.0
"""How many spreads a change must exceed to count."""
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


@dataclass(frozen=True)
class Threshold:
    """The change a benchmark must exceed, and where it came from."""

    value: float
    floor: float
    spread: Spread | None
    """The widest spread known (None: fewer than MIN_VALUES values on every basis)."""

    def note(self) -> str:
        """How the threshold was set, e.g. "12% = 3 × spread 4% over 6 runs of its history"."""
        if self.spread is None:
            return f"{self.value:.0%} (floor; spread unknown)"
        spread = f"spread {self.spread.value:.1%} over {self.spread.count} {self.spread.basis}"
        if self.value > self.floor:
            return f"{self.value:.1%} = {SPREAD_MULTIPLE:g} × {spread}"
        return f"{self.value:.0%} (floor; {spread})"


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


def threshold(floor: float, spreads: Iterable[Spread | None]) -> Threshold:
    """SPREAD_MULTIPLE × the widest spread, never below `floor`."""
    spread = widest(spreads)
    bar = floor if spread is None else max(floor, SPREAD_MULTIPLE * spread.value)
    return Threshold(bar, floor, spread)


def verdict(change: float, bar: Threshold) -> str:
    """Regressed / Improved beyond the threshold; Unstable when the change exceeds the floor but
    not the spread-set threshold (the noise is too wide to tell); Stable otherwise."""
    if change != change:  # NaN: a baseline of zero
        return STABLE
    if abs(change) > bar.value:
        return REGRESSED if change > 0 else IMPROVED
    if abs(change) > bar.floor:
        return UNSTABLE
    return STABLE
