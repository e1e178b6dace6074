"""Hypothesis settings profiles: `ci` (the default, small enough for `make test`) and `long`.

Choose with HYPOTHESIS_PROFILE=long for a longer local run. Deadlines bound each example's
time; they are generous because the machine running CI is shared.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

PROFILE_VARIABLE = "HYPOTHESIS_PROFILE"
"""Name of the Hypothesis profile to load: "ci" (default) or "long"."""

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "long",
    max_examples=20_000,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)


def load() -> None:
    settings.load_profile(os.environ.get(PROFILE_VARIABLE, "ci"))
