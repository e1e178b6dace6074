"""Statistics per phase (queries/phase_stats.sql) and the check of those statistics against
the seed's targets (targets.toml).

The SQL does the counting and the order statistics; Python adds what SQL has no function for
(the t quantile of the mean's interval) and the notes a reader needs when n is too small.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import duckdb

import queries
from spanbench.units import NS_PER_MS
from spanbench.vocabulary import load_level, with_dataset_size

MEAN_MIN_N = 2
"""Below this many samples the standard deviation is not reported, nor the mean unless its one
sample is a batch of several calls (queries/phase_stats.sql)."""
P95_MIN_N = 20
P99_MIN_N = 100
WARNING_FRACTION = 0.9
"""A measurement at or above this fraction of its threshold (and below it) is a warning."""

METRICS = ("mean", "p50", "p95", "p99")
MIN_SAMPLES = {"mean": MEAN_MIN_N, "p50": 1, "p95": P95_MIN_N, "p99": P99_MIN_N}
"""The samples each metric needs before it is reported (and a target on it checked)."""
STATUSES = ("pass", "warning", "fail", "missing")

Interval = tuple[float, float]


@dataclass(frozen=True)
class PhaseStats:
    """One phase of one scenario (and variant) of a run, in ns per call; warm-up excluded.

    With no successful sample (n = 0) mean, min, max and p50 are NaN and a note says so; with
    one, the standard deviation is None and the mean NaN unless that sample is a batch of
    calls: a statistic from fewer samples than it needs is not available, like p95 below
    P95_MIN_N and p99 below P99_MIN_N.
    `mean_ci` is the t-based 95% interval of the mean, clipped to [min, max] (Criterion's
    `time: [low mid high]`);
    the percentile intervals are distribution-free 95% intervals from order statistics.
    """

    suite: str
    scenario: str
    variant: str | None
    phase: str
    n: int
    errors: int
    mean_ns: float
    std_ns: float | None
    min_ns: float
    max_ns: float
    p50_ns: float
    p50_ci: Interval | None
    p95_ns: float | None
    p95_ci: Interval | None
    p99_ns: float | None
    p99_ci: Interval | None
    mean_ci: Interval | None
    outliers_mild: int
    outliers_severe: int
    batch_size: int
    notes: tuple[str, ...]

    def metric_ns(self, metric: str) -> float | None:
        """The value of `metric` (mean, p50, p95, p99); None where it was not computed."""
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")
        value: float | None = getattr(self, f"{metric}_ns")
        return None if value is None or math.isnan(value) else value


def phase_statistics(con: duckdb.DuckDBPyConnection, run_id: str) -> list[PhaseStats]:
    """Statistics of every (suite, scenario, variant, phase) of `run_id` over view `spans`."""
    sql = queries.load()["phase_stats"].sql
    result = con.execute(sql, {"run_id": run_id})
    columns = [d[0] for d in result.description]
    return [_stats(dict(zip(columns, row, strict=True))) for row in result.fetchall()]


def _interval(lo: float | None, hi: float | None) -> Interval | None:
    return None if lo is None or hi is None else (float(lo), float(hi))


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _stats(row: dict) -> PhaseStats:
    n = int(row["n"])
    notes: list[str] = []
    if n == 0:
        notes.append(f"no successful samples ({row['errors']} errors)")
    elif row["p50_lo"] is None:
        notes.append(f"p50 interval needs more samples (n = {n})")
    if 0 < n * int(row["batch_size"]) < MEAN_MIN_N:
        notes.append(f"mean needs ≥ {MEAN_MIN_N} samples (n = {n})")
    if 0 < n < P95_MIN_N:
        notes.append(f"p95 needs ≥ {P95_MIN_N} samples (n = {n})")
    if 0 < n < P99_MIN_N:
        notes.append(f"p99 needs ≥ {P99_MIN_N} samples (n = {n})")
    std = row["std_ns"]
    mean_ci = None
    if n >= 2 and std is not None:
        half = t_quantile(0.975, n - 1) * std / math.sqrt(n)
        # Clipped to the observed range: on a few skewed samples (n = 3) a t interval can reach
        # below zero, which no duration can; a bootstrap interval never leaves the range.
        mean_ci = (max(row["mean_ns"] - half, row["min_ns"]),
                   min(row["mean_ns"] + half, row["max_ns"]))
    return PhaseStats(
        suite=row["suite"], scenario=row["scenario"], variant=row["variant"],
        phase=row["phase"], n=n, errors=int(row["errors"]),
        mean_ns=_float(row["mean_ns"]), std_ns=None if std is None else float(std),
        min_ns=_float(row["min_ns"]), max_ns=_float(row["max_ns"]),
        p50_ns=_float(row["p50_ns"]), p50_ci=_interval(row["p50_lo"], row["p50_hi"]),
        p95_ns=row["p95_ns"], p95_ci=_interval(row["p95_lo"], row["p95_hi"]),
        p99_ns=row["p99_ns"], p99_ci=_interval(row["p99_lo"], row["p99_hi"]),
        mean_ci=mean_ci,
        outliers_mild=int(row["outliers_mild"]), outliers_severe=int(row["outliers_severe"]),
        batch_size=int(row["batch_size"]), notes=tuple(notes),
    )


def t_quantile(p: float, df: int) -> float:
    """Student's t quantile (0.5 < p < 1) by bisection on its exact CDF."""
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


def _t_cdf(t: float, df: int) -> float:
    """P(T <= t) for t >= 0: 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t²)."""
    return 1 - 0.5 * _beta_inc(df / 2, 0.5, df / (df + t * t))


def _beta_inc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) by its continued fraction (Lentz)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x > (a + 1) / (a + b + 2):
        return 1 - _beta_inc(b, a, 1 - x)
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + num * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return front * h / a


@dataclass(frozen=True)
class Target:
    """A threshold on one metric of one phase; scenario None = every scenario of the suite."""

    suite: str
    scenario: str | None
    phase: str
    metric: str
    threshold_ms: float
    label: str
    published: str | None


@dataclass(frozen=True)
class TargetCheck:
    """One target against one measured (scenario, variant); ratio = threshold / measured."""

    target: Target
    measured_ms: float | None
    status: str
    ratio: float | None
    message: str
    scenario: str | None = None
    variant: str | None = None


def default_targets_path() -> Path:
    """The targets.toml shipped in the package (the repo root's targets.toml links to it)."""
    return Path(str(files("extract") / "targets.toml"))


def load_targets(path: Path | None = None) -> list[Target]:
    """The targets in `path` (default: the packaged targets.toml), checked field by field."""
    path = Path(path) if path is not None else default_targets_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read targets from {path}: {error}") from error
    targets = []
    for index, entry in enumerate(data.get("target", []), start=1):
        where = f"{path}: target #{index}"
        missing = {"suite", "phase", "metric", "threshold_ms", "label"} - set(entry)
        if missing:
            raise ValueError(f"{where} lacks {', '.join(sorted(missing))}")
        if entry["metric"] not in METRICS:
            raise ValueError(f"{where}: metric {entry['metric']!r} is not one of "
                             f"{', '.join(METRICS)}")
        threshold = float(entry["threshold_ms"])
        if not threshold > 0:
            raise ValueError(f"{where}: threshold_ms must be positive, not {threshold}")
        targets.append(Target(
            suite=entry["suite"], scenario=entry.get("scenario"), phase=entry["phase"],
            metric=entry["metric"], threshold_ms=threshold, label=entry["label"],
            published=entry.get("published")))
    return targets


def check_targets(stats: Sequence[PhaseStats], targets: Sequence[Target]) -> list[TargetCheck]:
    """Each target against every matching (scenario, variant); `missing` where nothing matched.

    A target of every scenario (scenario None) leaves out load levels (`linear_4@c8`): the
    seed's targets are for one workflow at a time. A target naming a level applies to it."""
    checks: list[TargetCheck] = []
    for target in targets:
        matched = [s for s in stats if s.suite == target.suite and s.phase == target.phase
                   and (s.scenario == target.scenario
                        or (target.scenario is None and load_level(s.scenario) is None))]
        if not matched:
            where = f"{target.suite}/{target.scenario or '*'} {target.phase}"
            checks.append(TargetCheck(target, None, "missing", None,
                                      f"{target.label}: no samples of {where} in this run",
                                      target.scenario, None))
        checks.extend(_check(target, s) for s in matched)
    return checks


def _check(target: Target, stats: PhaseStats) -> TargetCheck:
    name = stats.scenario if stats.variant is None else with_dataset_size(stats.scenario,
                                                                           stats.variant)
    value = stats.metric_ns(target.metric)
    if value is None:
        reason = next((note for note in stats.notes if note.startswith(target.metric)),
                      f"no {target.metric} (n = {stats.n})")
        if stats.n == 0:
            reason = stats.notes[0]
        return TargetCheck(target, None, "missing", None, f"{target.label} ({name}): {reason}",
                           stats.scenario, stats.variant)
    measured = value / NS_PER_MS
    threshold = target.threshold_ms
    if measured >= threshold:
        status = "fail"
    elif measured >= WARNING_FRACTION * threshold:
        status = "warning"
    else:
        status = "pass"
    ratio = threshold / measured if measured > 0 else None
    message = (f"{target.label} ({name}): {target.metric} {measured:.6g} ms, "
               f"target < {threshold:g} ms: {status}")
    return TargetCheck(target, measured, status, ratio, message, stats.scenario, stats.variant)
