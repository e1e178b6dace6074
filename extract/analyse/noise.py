"""Noise thresholds: how far a median may move before a change counts (baselines and trends)."""

from __future__ import annotations

from collections.abc import Mapping

from spanbench.vocabulary import Suite

DEFAULT_NOISE = 0.05
NOISE_THRESHOLDS: Mapping[str, float] = {Suite.SQL_FUNCTIONS: 0.15}
"""Per-suite noise thresholds (fraction of the reference median); others use DEFAULT_NOISE."""


def noise_thresholds(overrides: Mapping[str, float] | None = None
                     ) -> tuple[dict[str, float], float]:
    """(per-suite thresholds, default): `overrides` merged over NOISE_THRESHOLDS, its key "*"
    replacing DEFAULT_NOISE."""
    noise = {**NOISE_THRESHOLDS, **(overrides or {})}
    return noise, noise.pop("*", DEFAULT_NOISE)
