"""The observer effect: how much the stack's own tracing slows the workflows it traces.

e2e_latency alternates workflows whose stack spans are on and off; the tax is the difference
of the medians as a fraction of the untraced median, with a percentile-bootstrap 95% CI.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


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
        return (f"tracing tax {self.ratio:+.1%} (95% CI {self.ci_low:+.1%} … {self.ci_high:+.1%};"
                f" n = {self.n_traced} traced, {self.n_untraced} untraced)")


Samples = Sequence[int] | Sequence[float]


def tracing_tax(samples_traced_ns: Samples, samples_untraced_ns: Samples,
                resamples: int = 2000, seed: int = 0) -> TracingTax:
    """Difference of medians as a fraction of the untraced median; percentile-bootstrap 95% CI."""
    return stratified_tracing_tax([(samples_traced_ns, samples_untraced_ns)], resamples, seed)


def stratified_tracing_tax(strata: Sequence[tuple[Samples, Samples]], resamples: int = 2000,
                           seed: int = 0) -> TracingTax:
    """The tax over several scenarios: Σ traced medians ÷ Σ untraced medians − 1.

    The bootstrap resamples within each scenario (stratum), so mixing scenarios of different
    lengths adds no spread. The medians reported are the sums of the scenarios' medians.
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
            traced_sum += statistics.median(rng.choices(traced, k=len(traced)))
            untraced_sum += statistics.median(rng.choices(untraced, k=len(untraced)))
        ratios.append(traced_sum / untraced_sum - 1.0)
    ratios.sort()
    last = resamples - 1
    return TracingTax(median_traced, median_untraced, median_traced / median_untraced - 1.0,
                      ratios[round(0.025 * last)], ratios[round(0.975 * last)],
                      sum(len(traced) for traced, _ in strata),
                      sum(len(untraced) for _, untraced in strata))
