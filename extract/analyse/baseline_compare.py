"""A later run compared with a baseline: on the raw per-call samples (queries/baseline_compare.sql).

The change of the median counts only when it is larger than the noise threshold and the
Mann–Whitney U test finds it significant (two-sided, 0.05). Baselines are kept by
extract/store/baselines.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

import queries
from extract.analyse.duckdb_runner import Runs, open_runs
from extract.analyse.noise import noise_thresholds
from extract.store.baselines import load_metadata, load_samples, write_baseline
from extract.store.runstore import RunStore
from spanbench.security import check_name

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Comparison:
    """One (suite, scenario, variant, phase) in both samples; change = current / baseline - 1."""

    suite: str
    scenario: str
    variant: str | None
    phase: str
    baseline_median_ns: float
    current_median_ns: float
    change: float
    p_value: float
    status: str
    n_baseline: int
    n_current: int
    threshold: float


def run_samples(con: duckdb.DuckDBPyConnection, run_id: str) -> pa.Table:
    """Run `run_id`'s samples (over the connection's `spans` view), as a baseline keeps them."""
    return con.sql(queries.load()["baseline_samples"].sql,
                   params={"run_id": run_id}).to_arrow_table()


def save_baseline(runs_dir: Runs, baselines_dir: Path, name: str, run_id: str) -> Path:
    """Keep run `run_id`'s samples and metadata as baseline `name`; returns its folder."""
    check_name(name, "baseline name")  # before anything is read
    store = RunStore.at(runs_dir)
    con = open_runs(store, [run_id])
    try:
        table = run_samples(con, run_id)
    finally:
        con.close()
    run = store.record(run_id)
    metadata = {"name": name, "run_id": run_id, "commit": run.commit,
                "date": None if run.started_at is None else run.started_at.isoformat(),
                "saved_at": datetime.now(UTC).isoformat(), "samples": table.num_rows}
    return write_baseline(baselines_dir, name, table, metadata)


def compare(con: duckdb.DuckDBPyConnection, run_id: str, baseline_dir: Path,
            thresholds: Mapping[str, float] | None = None) -> list[Comparison]:
    """Run `run_id` (over the connection's `spans` view) against the baseline in `baseline_dir`."""
    load_metadata(baseline_dir)
    return compare_tables(load_samples(baseline_dir), run_samples(con, run_id), thresholds)


def compare_baselines(base_dir: Path, current_dir: Path,
                      thresholds: Mapping[str, float] | None = None) -> list[Comparison]:
    """Two saved baselines against each other (`spanbench compare BASE CURRENT`)."""
    load_metadata(base_dir)
    load_metadata(current_dir)
    return compare_tables(load_samples(base_dir), load_samples(current_dir), thresholds)


def compare_tables(baseline: object, current: object,
                   thresholds: Mapping[str, float] | None = None) -> list[Comparison]:
    """Two Arrow tables of samples (baseline_samples' columns) compared in DuckDB.

    `thresholds` maps a suite to its noise threshold (a fraction; key "*" sets the default),
    merged over NOISE_THRESHOLDS and DEFAULT_NOISE.
    """
    con = duckdb.connect()
    con.register("baseline_samples", baseline)
    con.register("current_samples", current)
    result = con.execute(queries.load()["baseline_compare"].sql)
    columns = [d[0] for d in result.description]
    noise, default = noise_thresholds(thresholds)
    comparisons = []
    for values in result.fetchall():
        row = dict(zip(columns, values, strict=True))
        z = row.pop("z")
        p_value = 1.0 if z is None else math.erfc(z / math.sqrt(2))
        threshold = noise.get(row["suite"], default)
        change = math.nan if row["change"] is None else row["change"]
        row["change"] = change
        if p_value < SIGNIFICANCE and abs(change) > threshold:
            status = "Regressed" if change > 0 else "Improved"
        else:
            status = "Stable"
        comparisons.append(Comparison(**row, p_value=p_value, status=status,
                                      threshold=threshold))
    return comparisons
