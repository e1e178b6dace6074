"""phase_stats: exact percentiles, order-statistic intervals, Tukey counts, gating notes."""

from __future__ import annotations

import math

import duckdb
import pytest

from extract.analyse.analysis import PhaseStats, phase_statistics, t_quantile
from tests.fake_runs import CALL_COLUMNS, rows_of, spans_db

MS = 1_000_000


def _spans(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    return spans_db(rows_of(CALL_COLUMNS, rows))


def _one(values_ns: list[int], extra: list[tuple] = ()) -> PhaseStats:  # type: ignore[assignment]
    rows = [("r", "s", "x", "p", False, "Unset", v, {}) for v in values_ns]
    [stats] = phase_statistics(_spans(rows + list(extra)), "r")
    return stats


def _binomial_ranks(n: int, q: float) -> tuple[int | None, int | None]:
    """The interval's ranks, straight from the definition (independent of the SQL)."""
    cdf, total = [], 0.0
    for k in range(n):
        total += math.comb(n, k) * q**k * (1 - q) ** (n - k)
        cdf.append(total)
    low = [k for k in range(n) if cdf[k] <= 0.025]
    high = [k for k in range(n) if cdf[k] >= 0.975]
    return (1 + max(low) if low else None, 1 + min(high) if high else None)


def test_one_to_a_hundred() -> None:
    stats = _one([ms * MS for ms in range(1, 101)])
    assert (stats.n, stats.errors, stats.batch_size) == (100, 0, 1)
    assert stats.mean_ns == pytest.approx(50.5 * MS)
    assert stats.std_ns == pytest.approx(math.sqrt(100 * 101 / 12) * MS)
    assert (stats.min_ns, stats.max_ns) == (1 * MS, 100 * MS)
    assert stats.p50_ns == pytest.approx(50.5 * MS)
    assert stats.p95_ns == pytest.approx(95.05 * MS)
    assert stats.p99_ns == pytest.approx(99.01 * MS)
    # The textbook 95% interval of the median for n = 100: the 40th and 61st values.
    assert _binomial_ranks(100, 0.5) == (40, 61)
    assert stats.p50_ci == (40 * MS, 61 * MS)
    low, high = _binomial_ranks(100, 0.95)
    assert stats.p95_ci == (low * MS, high * MS)
    # No rank above the 100th covers 97.5% for p99: no interval, though p99 itself is given.
    assert _binomial_ranks(100, 0.99)[1] is None
    assert stats.p99_ci is None
    assert stats.notes == ()
    assert stats.mean_ci is not None
    half = 1.9842169515 * stats.std_ns / 10
    assert stats.mean_ci == pytest.approx((50.5 * MS - half, 50.5 * MS + half))


def test_t_quantiles() -> None:
    assert t_quantile(0.975, 1) == pytest.approx(12.7062047, rel=1e-7)
    assert t_quantile(0.975, 10) == pytest.approx(2.2281389, rel=1e-7)
    assert t_quantile(0.975, 99) == pytest.approx(1.9842169, rel=1e-7)


def test_tukey_counts_as_criterion() -> None:
    # Quartiles 13.75 and 25.25 (IQR 11.5): -5 and 45 are mild, -50 and 100 severe.
    stats = _one([v * MS for v in [-50, -5, *range(10, 30), 45, 100]])
    assert (stats.outliers_mild, stats.outliers_severe) == (2, 2)


def test_percentiles_need_their_samples() -> None:
    stats = _one([ms * MS for ms in range(1, 11)])
    assert (stats.p95_ns, stats.p95_ci, stats.p99_ns, stats.p99_ci) == (None, None, None, None)
    assert stats.notes == ("p95 needs ≥ 20 samples (n = 10)", "p99 needs ≥ 100 samples (n = 10)")
    assert _one([ms * MS for ms in range(1, 7)]).p50_ci == (1 * MS, 6 * MS)
    five = _one([ms * MS for ms in range(1, 6)])
    assert five.p50_ci is None
    assert five.notes[0] == "p50 interval needs more samples (n = 5)"
    assert _one([MS]).mean_ci is None


def test_one_sample_has_no_mean_unless_it_is_a_batch_of_calls() -> None:
    lone = _one([3 * MS])
    assert math.isnan(lone.mean_ns) and lone.std_ns is None
    assert lone.metric_ns("mean") is None and lone.p50_ns == 3 * MS
    assert "mean needs ≥ 2 samples (n = 1)" in lone.notes
    assert _one([3 * MS, 5 * MS]).mean_ns == 4 * MS
    [batch] = phase_statistics(_spans([("r", "s", "x", "p", False, "Unset", 8 * MS,
                                        {"bench.batch_size": "4"})]), "r")
    assert (batch.n, batch.mean_ns) == (1, 2 * MS)  # the mean of four calls
    assert not any(note.startswith("mean") for note in batch.notes)


def test_warmup_and_errors_are_kept_out_and_batches_count_per_call() -> None:
    stats = _one([10 * MS] * 3, [("r", "s", "x", "p", True, "Unset", 999 * MS, {}),
                                ("r", "s", "x", "p", False, "Error", 999 * MS, {}),
                                ("other", "s", "x", "p", False, "Unset", 999 * MS, {})])
    assert (stats.n, stats.errors, stats.max_ns) == (3, 1, 10 * MS)
    conn = _spans([("r", "handler_overhead", "direct", "handler.direct", False, "Unset", 5_000,
                    {"bench.batch_size": "10000"})])
    [batched] = phase_statistics(conn, "r")
    assert (batched.mean_ns, batched.batch_size) == (0.5, 10000)


def test_only_errors_and_variants() -> None:
    conn = _spans([("r", "s", "x", "p", False, "Error", MS, {}),
                   *[("r", "sql_functions", "f", "sql.f", False, "Unset", size,
                      {"bench.dataset_size": str(size)}) for size in (100_000, 1000)]])
    failed, small, large = phase_statistics(conn, "r")
    assert (failed.n, failed.errors) == (0, 1)
    assert math.isnan(failed.mean_ns)
    assert failed.notes == ("no successful samples (1 errors)",)
    assert failed.metric_ns("mean") is None
    assert (small.variant, large.variant) == ("1000", "100000")


def test_the_mean_interval_stays_within_the_observed_range() -> None:
    stats = _one([1_000_000, 1_100_000, 20_000_000])  # three skewed samples
    assert stats.mean_ci is not None
    low, high = stats.mean_ci
    assert low == 1_000_000  # the t interval alone would reach below zero
    assert high == 20_000_000
    assert low <= stats.mean_ns <= high
