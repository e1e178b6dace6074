"""The observer effect: how much the stack's own tracing slows the workflows it traces.

e2e_latency alternates workflows whose stack spans are on and off (bench.stack_traced); the tax
is the difference of the medians as a fraction of the untraced median, with a
percentile-bootstrap 95% CI, over every scenario measured both ways (queries/tracing_tax.sql).
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

import queries

GOAL = 0.03
"""The tax spanbench aims to stay under, and the widest half-interval its default run allows."""


@dataclass(frozen=True)
class TracingTax:
    """The stack's tracing cost: (traced − untraced) ÷ untraced, of medians, with its CI."""

    median_traced: float
    median_untraced: float
    ratio: float
    ci_low: float
    ci_high: float
    n_traced: int
    n_untraced: int

    def describe(self) -> str:
        """The tax in one sentence, with its interval and verdict (every report's)."""
        return (f"Tracing tax (stack traced vs untraced workflows, medians): {self.ratio:+.1%}, "
                f"95% CI {self.ci_low:+.1%} … {self.ci_high:+.1%} (n = {self.n_traced} + "
                f"{self.n_untraced}): {self.verdict()}")

    def half_width(self) -> float:
        """The interval's larger distance from the estimate."""
        return max(self.ratio - self.ci_low, self.ci_high - self.ratio)

    def verdict(self) -> str:
        """What the interval allows one to say about GOAL."""
        if self.half_width() > GOAL:
            return (f"interval wider than ±{GOAL:.0%}: too few workflows for this spread "
                    "to tell (more e2e_latency samples narrow it)")
        if self.ci_high < GOAL:
            return f"below the {GOAL:.0%} goal"
        if self.ci_low > GOAL:
            return f"above the {GOAL:.0%} goal"
        return f"the interval straddles the {GOAL:.0%} goal"


Samples = Sequence[int] | Sequence[float]


def tracing_tax(samples_traced_ns: Samples, samples_untraced_ns: Samples,
                resamples: int = 2000, seed: int = 0) -> TracingTax:
    """Difference of medians as a fraction of the untraced median; percentile-bootstrap 95% CI."""
    return stratified_tracing_tax([(samples_traced_ns, samples_untraced_ns)], resamples, seed)


def stratified_tracing_tax(strata: Sequence[tuple[Samples, Samples]], resamples: int = 2000,
                           seed: int = 0) -> TracingTax:
    """The tax over several scenarios: Σ traced medians ÷ Σ untraced medians − 1.

    The bootstrap resamples within each scenario (stratum), so mixing scenarios of different
    lengths adds no spread, and resamples the design's unit there: each side's samples in the
    order they ran, the i-th traced with the i-th untraced (neighbours in time, as e2e_latency
    alternates them), so a drift of the machine during the run moves both medians of a
    resample alike instead of widening the interval; samples beyond the shorter side are
    resampled alone. The medians reported are the sums of the scenarios' medians.
    """
    if not strata or any(not traced or not untraced for traced, untraced in strata):
        raise ValueError("the tracing tax needs traced and untraced samples of every scenario")
    median_traced = math.fsum(statistics.median(traced) for traced, _ in strata)
    median_untraced = math.fsum(statistics.median(untraced) for _, untraced in strata)
    if median_untraced <= 0:
        raise ValueError("the untraced median must be positive")
    rng = random.Random(seed)
    ratios = []
    for _ in range(resamples):
        traced_sum = untraced_sum = 0.0
        for traced, untraced in strata:
            traced_again, untraced_again = _paired_resample(traced, untraced, rng)
            traced_sum += statistics.median(traced_again)
            untraced_sum += statistics.median(untraced_again)
        ratios.append(traced_sum / untraced_sum - 1.0)
    ratios.sort()
    last = resamples - 1
    return TracingTax(median_traced, median_untraced, median_traced / median_untraced - 1.0,
                      ratios[round(0.025 * last)], ratios[round(0.975 * last)],
                      sum(len(traced) for traced, _ in strata),
                      sum(len(untraced) for _, untraced in strata))


def _paired_resample(traced: Samples, untraced: Samples, rng: random.Random
                     ) -> tuple[list[float], list[float]]:
    pairs = min(len(traced), len(untraced))
    drawn = [rng.randrange(pairs) for _ in range(pairs)]
    traced_again = [traced[i] for i in drawn] + rng.choices(traced[pairs:],
                                                             k=len(traced) - pairs)
    untraced_again = [untraced[i] for i in drawn] + rng.choices(untraced[pairs:],
                                                                 k=len(untraced) - pairs)
    return traced_again, untraced_again


def run_tracing_tax(con: duckdb.DuckDBPyConnection, run_id: str) -> TracingTax | None:
    """The run's tax over its e2e_latency scenarios measured both ways; None without one."""
    rows = con.execute(queries.load()["tracing_tax"].sql, {"run_id": run_id}).fetchall()
    strata = [(traced, untraced) for _, traced, untraced in rows if traced and untraced]
    return stratified_tracing_tax(strata) if strata else None
