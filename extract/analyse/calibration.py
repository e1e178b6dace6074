"""Thresholds learnt from the history: how far each benchmark's median moved from run to run on
this host (extract/store/history.py), as a spread for the comparison (run_level.Spread).

The spread is run_level.between_runs of the medians of the benchmark's HISTORY_RUNS newest
runs on the same host that started before the run being judged (queries/calibration.sql): a run
is judged on what was known when it ran, even when it is judged again later. Fewer than
run_level.MIN_VALUES runs give none. Runs whose host is unknown (history written before hosts
were kept) never count. A real change in the history widens the bar for as long as its runs
are among the HISTORY_RUNS newest: the spread's standard deviation counts them, as it counts a
benchmark's runs in the machine's slower mode, which unchanged code lands in now and then.
"""

from __future__ import annotations

from datetime import datetime

import queries
from extract.analyse import run_level
from extract.analyse.baseline_compare import BenchmarkKey
from extract.store.history import Runs, open_history
from spanbench.vocabulary import dataset_size

HISTORY_RUNS = 20
"""The newest runs of a benchmark whose medians calibrate its threshold."""
BASIS = "runs of its history"


def history_spreads(runs_dir: Runs, run_id: str, host: str | None,
                    before: datetime | None = None) -> dict[BenchmarkKey, run_level.Spread]:
    """Each benchmark's spread over its history on `host` before `before` (None: all of it
    but `run_id`); empty without a host or a history."""
    if host is None:
        return {}
    con = open_history(runs_dir)
    if con is None:
        return {}
    try:
        rows = con.execute(queries.load()["calibration"].sql,
                           {"host": host, "run_id": run_id, "before": before,
                            "window": HISTORY_RUNS}).fetchall()
    finally:
        con.close()
    spreads = {}
    for suite, scenario, phase, medians in rows:
        spread = run_level.between_runs(medians, BASIS)
        if spread is not None:
            spreads[_key(suite, scenario, phase)] = spread
    return spreads


def _key(suite: str, scenario: str, phase: str) -> BenchmarkKey:
    """The comparison's key of a history row (`scenario+size` → scenario, size)."""
    size = dataset_size(scenario)
    if size is None:
        return (suite, scenario, None, phase)
    return (suite, scenario[: -len(size) - 1], size, phase)
