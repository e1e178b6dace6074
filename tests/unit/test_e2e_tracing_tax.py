"""The tracing tax: difference of medians over the untraced median, with a bootstrap CI."""

from __future__ import annotations

import random

import pytest

from extract.analyse.tracing_tax import GOAL, TracingTax, stratified_tracing_tax, tracing_tax


def _noisy(center: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(center, center * 0.02) for _ in range(n)]


def test_equal_distributions_have_a_tax_near_zero_inside_the_interval() -> None:
    tax = tracing_tax(_noisy(100e6, 60, 11), _noisy(100e6, 60, 12))
    assert abs(tax.ratio) < 0.01
    assert tax.ci_low <= 0 <= tax.ci_high
    assert (tax.n_traced, tax.n_untraced) == (60, 60)


def test_the_interval_covers_a_zero_tax_about_95_times_in_100() -> None:
    covered = 0
    for trial in range(100):
        tax = tracing_tax(_noisy(100e6, 30, 2 * trial), _noisy(100e6, 30, 2 * trial + 1),
                          resamples=400, seed=trial)
        covered += tax.ci_low <= 0 <= tax.ci_high
    assert covered >= 88


def test_a_ten_percent_tax_is_found_and_its_interval_excludes_zero() -> None:
    tax = tracing_tax(_noisy(110e6, 60, 3), _noisy(100e6, 60, 4))
    assert tax.ratio == pytest.approx(0.10, abs=0.01)
    assert 0 < tax.ci_low <= tax.ratio <= tax.ci_high < 0.2


def test_exact_medians_and_ratio() -> None:
    tax = tracing_tax([103, 1000, 101], [100, 99, 101, 5000])
    assert (tax.median_traced, tax.median_untraced) == (103, 100.5)
    assert tax.ratio == pytest.approx(103 / 100.5 - 1)


def test_the_interval_is_deterministic() -> None:
    traced, untraced = _noisy(105e6, 20, 5), _noisy(100e6, 20, 6)
    assert tracing_tax(traced, untraced) == tracing_tax(traced, untraced)
    assert tracing_tax(traced, untraced, seed=1) != tracing_tax(traced, untraced, seed=2)


def test_stratified_tax_sums_medians_across_scenarios() -> None:
    strata = [([110.0, 110.0], [100.0, 100.0]), ([1000.0], [1000.0, 1000.0])]
    tax = stratified_tracing_tax(strata)
    assert (tax.median_traced, tax.median_untraced) == (1110, 1100)
    assert tax.ratio == tax.ci_low == tax.ci_high == pytest.approx(10 / 1100)


def test_a_side_without_samples_is_refused() -> None:
    with pytest.raises(ValueError, match="traced and untraced"):
        tracing_tax([1, 2], [])


def _tax(ratio: float, low: float, high: float) -> TracingTax:
    return TracingTax(1.0 + ratio, 1.0, ratio, low, high, 100, 100)


@pytest.mark.parametrize(("ratio", "low", "high", "said"), [
    (0.01, -0.01, 0.025, "below the 3% goal"),
    (0.06, 0.045, 0.08, "above the 3% goal"),
    (0.03, 0.01, 0.05, "straddles"),
    (0.01, -0.03, 0.05, "too few workflows"),   # 4 points above the estimate
])
def test_the_verdict_says_what_the_interval_allows(ratio: float, low: float, high: float,
                                                   said: str) -> None:
    assert said in _tax(ratio, low, high).verdict()


def test_the_half_width_is_the_larger_side() -> None:
    assert _tax(0.01, -0.005, 0.05).half_width() == pytest.approx(0.04)
    assert GOAL == 0.03
