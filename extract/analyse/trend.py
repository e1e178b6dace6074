"""Trending across runs, from the history the store keeps (extract/store/history.py).

Where a change began (queries/trend.sql), on the gate's model (extract/analyse/run_level.py):
each run is judged against the runs before it on the same host. Its reference is the median of
the medians of the up to REFERENCE_RUNS runs before it; its threshold is SPREAD_MULTIPLE × the
robust spread of the medians of the up to SPREAD_RUNS runs before it (from MIN_VALUES runs on),
never below the suite's noise floor (extract.analyse.noise: 5%, sql_functions 15%). The run is
*off* when its median differs from the reference by more than the threshold. A change began at
a run that is off while the run before it is not off in the same direction, and the run after
it is off in the same direction too: a shift of the rolling median beyond the calibrated
threshold for two consecutive runs. One off run that the next run does not confirm is noise;
the newest run has no successor yet, so its `direction` says whether it is off but
`change_began` stays false until the next run confirms it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import queries
from extract.analyse import run_level
from extract.analyse.noise import noise_thresholds
from extract.store.history import Runs, open_history

REFERENCE_RUNS = 5
"""Runs before a run whose medians make its reference (the window in queries/trend.sql)."""
SPREAD_RUNS = 20
"""Runs before a run whose medians give its spread (the window in queries/trend.sql)."""
SPREAD_MULTIPLE = 3.0
"""How many spreads a run must be off by. Lower than the gate's (run_level.SPREAD_MULTIPLE): a
change begins only where two runs in a row are off the same way."""


@dataclass(frozen=True)
class TrendRow:
    """One run of one benchmark (suite, scenario, phase), in ns; see the module docstring."""

    suite: str
    scenario: str
    phase: str
    run_id: str
    started_at: datetime
    git_commit: str | None
    n: int
    median_ns: float
    p95_ns: float | None
    reference_ns: float | None
    """Median of the medians of the up to REFERENCE_RUNS runs before (None for the first)."""
    change: float | None
    """median_ns / reference_ns - 1."""
    threshold: float
    """The greater of the floor and SPREAD_MULTIPLE × spread."""
    floor: float
    spread: float | None
    """Robust relative spread of the medians of the runs before (None: too few of them)."""
    spread_runs: int
    direction: int
    """+1 slower / -1 faster than the reference beyond the threshold, 0 within it."""
    change_began: bool


def load_trend(runs_dir: Runs, suite: str | None = None, scenario: str | None = None,
               thresholds: Mapping[str, float] | None = None) -> list[TrendRow]:
    """Every benchmark's runs, oldest first, with where a change began (queries/trend.sql).

    `thresholds` maps a suite to its noise threshold ("*" sets the default), merged over
    extract.analyse.noise's NOISE_THRESHOLDS and DEFAULT_NOISE.
    """
    con = open_history(runs_dir)
    if con is None:
        return []
    noise, default = noise_thresholds(thresholds)
    try:
        result = con.execute(queries.load()["trend"].sql, {
            "suite": suite, "scenario": scenario, "default_threshold": default,
            "thresholds": {"key": list(noise), "value": list(noise.values())},
            "spread_multiple": SPREAD_MULTIPLE, "mad_to_sigma": run_level.MAD_TO_SIGMA,
            "min_values": run_level.MIN_VALUES})
        columns = [d[0] for d in result.description]
        return [TrendRow(**dict(zip(columns, row, strict=True))) for row in result.fetchall()]
    finally:
        con.close()
