"""Thresholds learnt from the history: how far each benchmark's median moved from run to run on
this host (extract/store/history.py), as a spread for the comparison (run_level.Spread).

The spread is run_level.relative_spread of the medians of the benchmark's HISTORY_RUNS newest
runs on the same host (queries/calibration.sql), the run being judged left out; fewer than
run_level.MIN_VALUES runs give none. Runs whose host is unknown (history written before hosts
were kept) never count. A real change in the history widens the bar only as far as the median
absolute deviation lets it: a minority of shifted runs hardly moves it.
"""

from __future__ import annotations

import queries
from extract.analyse import run_level
from extract.analyse.baseline_compare import BenchmarkKey
from extract.store.history import Runs, open_history
from spanbench.vocabulary import dataset_size

HISTORY_RUNS = 20
"""The newest runs of a benchmark whose medians calibrate its threshold."""
BASIS = "runs of its history"


def history_spreads(runs_dir: Runs, run_id: str, host: str | None
                    ) -> dict[BenchmarkKey, run_level.Spread]:
    """Each benchmark's spread over its history on `host`; empty without a host or a history."""
    if host is None:
        return {}
    con = open_history(runs_dir)
    if con is None:
        return {}
    try:
        rows = con.execute(queries.load()["calibration"].sql,
                           {"host": host, "run_id": run_id, "window": HISTORY_RUNS}).fetchall()
    finally:
        con.close()
    spreads = {}
    for suite, scenario, phase, medians in rows:
        spread = run_level.relative_spread(medians)
        if spread is not None:
            spreads[_key(suite, scenario, phase)] = run_level.Spread(spread, len(medians), BASIS)
    return spreads


def _key(suite: str, scenario: str, phase: str) -> BenchmarkKey:
    """The comparison's key of a history row (`scenario+size` → scenario, size)."""
    size = dataset_size(scenario)
    if size is None:
        return (suite, scenario, None, phase)
    return (suite, scenario[: -len(size) - 1], size, phase)
