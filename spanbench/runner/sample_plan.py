"""How many samples each suite takes, and why: its driver's default, raised where a target
names a percentile that needs more (p99: 100 measured samples of that scenario, after warm-up
and, in e2e_latency, counting only the workflows the targets see).

`--samples N` sets one count for every scenario and `--quick` a smoke count; then
`unchecked` names the targets those counts cannot check.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from extract.analyse.analysis import MIN_SAMPLES, Target
from instrument.drivers.base import QUICK_SAMPLES, planned_samples
from spanbench.runner.suites import DRIVERS

SPARE = 0.05
"""Samples taken beyond a target's need, so that a failed iteration (no sample) does not leave
the target without data."""


@dataclass(frozen=True)
class TargetNeed:
    target: Target
    seen: int
    """Samples the target's metric needs (MIN_SAMPLES) among those it sees."""
    split: int
    """Samples its scenario takes per one the target sees (samples_per_checked)."""

    @property
    def least(self) -> int:
        """Samples its scenario must take at the least for the metric to be reported."""
        return self.seen * self.split

    @property
    def samples(self) -> int:
        """Samples a default run takes for it: the least, and SPARE more where that is
        beyond one (a mean's 2 need none)."""
        spare = math.ceil(self.seen * (1 + SPARE)) if self.seen > MIN_SAMPLES["mean"] \
            else self.seen
        return spare * self.split


def samples_per_checked(suite: str) -> int:
    """Samples a scenario of `suite` takes for each one its targets see (its driver's
    optional `SAMPLES_PER_CHECKED`: e2e_latency runs an untraced control beside each)."""
    return int(getattr(DRIVERS[suite], "SAMPLES_PER_CHECKED", 1))


def target_needs(targets: Iterable[Target]) -> list[TargetNeed]:
    return [TargetNeed(t, MIN_SAMPLES[t.metric], samples_per_checked(t.suite))
            for t in targets if t.suite in DRIVERS]


def planned(targets: Iterable[Target]) -> dict[tuple[str, str | None], int]:
    """The samples each (suite, scenario) needs beyond its driver's default, from `targets`."""
    plan: dict[tuple[str, str | None], int] = {}
    for need in target_needs(targets):
        key = (need.target.suite, need.target.scenario)
        if need.samples > DRIVERS[need.target.suite].SAMPLES:
            plan[key] = max(plan.get(key, 0), need.samples)
    return plan


def describe(chosen: Sequence[str], targets: Sequence[Target]) -> list[str]:
    """Per chosen suite, one line per sample count: the scenarios that take it and why."""
    needs, plan = target_needs(targets), planned(targets)
    lines = ["samples per scenario, after warm-up (a target needs "
             + ", ".join(f"{metric} ≥ {n}" for metric, n in MIN_SAMPLES.items() if n > 1)
             + " samples of what it checks):"]
    width = max(len(suite) for suite in chosen) if chosen else 0
    for suite in chosen:
        driver = DRIVERS[suite]
        counts: dict[int, list[str]] = {}
        for scenario in driver.SCENARIOS:
            n = planned_samples(plan, suite, scenario, driver.SAMPLES)
            counts.setdefault(n, []).append(scenario)
        for index, (n, scenarios) in enumerate(sorted(counts.items(), reverse=True)):
            name = suite if index == 0 else ""
            which = ("every scenario" if len(counts) == 1 else ", ".join(scenarios))
            lines.append(f"  {name:<{width}} {n:>4}  {which}: "
                         + _why(suite, n, scenarios, needs))
    return lines


def _why(suite: str, n: int, scenarios: Sequence[str], needs: Sequence[TargetNeed]) -> str:
    split = samples_per_checked(suite)
    on_these = [need for need in needs if need.target.suite == suite
                and (need.target.scenario is None or need.target.scenario in scenarios)]
    deciding = [need.target for need in on_these if need.samples == n]
    if not deciding:
        covered = sorted({need.target.metric for need in on_these})
        enough = f", enough for its {'/'.join(covered)} targets" if covered else ""
        return ("the suite's default" + enough if split == 1
                else f"{n // split} stack-traced + {n - n // split} untraced, for the tracing tax")
    metrics = sorted({target.metric for target in deciding})
    labels = ", ".join(dict.fromkeys(target.label for target in deciding))
    least = min(need.seen for need in on_these if need.samples == n)
    why = f"{'/'.join(metrics)} target{'s' if len(deciding) > 1 else ''} ({labels}) "
    why += "need" if len(deciding) > 1 else "needs"
    spare = f", {n // split - least} spare for failed iterations" if n // split > least else ""
    if split == 1:
        return f"{why} {least}{spare}"
    return (f"{why} {least} stack-traced workflows{spare}; as many run untraced, the tracing "
            "tax's control")


def unchecked(chosen: Sequence[str], targets: Sequence[Target], samples: int | None,
              quick: bool) -> list[str]:
    """The targets of `chosen` suites that --samples/--quick leave without enough samples."""
    if not quick and samples is None:
        return []
    taken = QUICK_SAMPLES if quick else int(samples or 0)
    return [f"{need.target.label} {need.target.metric} (needs {need.least})"
            for need in target_needs(targets)
            if need.target.suite in chosen and taken < need.least]
