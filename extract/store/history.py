"""Each run's per-phase statistics kept in a small history beside the runs (for trends:
extract/analyse/trend.py).

One Parquet file per run, `<runs_dir>/_history/<run_id>.parquet` (HISTORY_SCHEMA; written under
a temporary name and renamed, so a reader never sees half a file and recording a run again
replaces its file). A run's rows come from its report's PhaseStats: one row per (suite,
scenario, phase) with n > 0, in ns, unrounded; a variant (a dataset size) is part of the
scenario, `scenario+variant` (spanbench.vocabulary.with_dataset_size), as the reports name it;
history written when it was `scenario@variant` reads back in today's spelling. `_history`
cannot be a run id (run ids start with a letter or a digit), so listing or opening runs never
takes it for one.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from extract.store.runstore import RunStore
from queries import macros
from spanbench.security import check_name, contained
from spanbench.vocabulary import with_dataset_size

Runs = RunStore | Path
"""A runs dir: a RunStore, or a local folder."""


class RunFacts(Protocol):
    """What the history keeps of a run (extract.reports.model.RunMeta has it)."""

    @property
    def run_id(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def commit(self) -> str: ...
    @property
    def host(self) -> str | None: ...


class PhaseFacts(Protocol):
    """What the history keeps of a phase (extract.analyse.analysis.PhaseStats has it)."""

    @property
    def suite(self) -> str: ...
    @property
    def scenario(self) -> str: ...
    @property
    def variant(self) -> str | None: ...
    @property
    def phase(self) -> str: ...
    @property
    def n(self) -> int: ...
    @property
    def mean_ns(self) -> float: ...
    @property
    def p50_ns(self) -> float: ...
    @property
    def p95_ns(self) -> float: ...
    @property
    def p99_ns(self) -> float: ...


class RunReport(Protocol):
    """A run's statistics as the history takes them (extract.reports.model.ReportInput)."""

    @property
    def meta(self) -> RunFacts: ...
    @property
    def stats(self) -> Sequence[PhaseFacts]: ...

HISTORY_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("started_at", pa.timestamp("us", tz="UTC")),
    ("git_commit", pa.string()),
    ("host", pa.string()),
    ("suite", pa.string()),
    ("scenario", pa.string()),
    ("phase", pa.string()),
    ("n", pa.int64()),
    ("mean_ns", pa.float64()),
    ("p50_ns", pa.float64()),
    ("p95_ns", pa.float64()),
    ("p99_ns", pa.float64()),
])
"""DuckDB reads started_at as TIMESTAMP WITH TIME ZONE; p95_ns/p99_ns are null where n is too
small for them (p95 ≥ 20 samples, p99 ≥ 100); git_commit is null when the run's is unknown;
host is run.json's host name (null when unknown, and in files written before it was kept)."""


def history_dir(runs_dir: Runs) -> Path:
    """`<runs_dir>/_history` (a bucket's: on this machine, RunStore.history_dir)."""
    return RunStore.at(runs_dir).history_dir


def history_glob(runs_dir: Runs) -> str:
    """The glob of every run's history file, for read_parquet()."""
    return str(history_dir(runs_dir) / "*.parquet")


def history_path(runs_dir: Runs, run_id: str) -> Path:
    """Where run `run_id`'s history is kept; a run id that could escape the folder is refused."""
    return contained(history_dir(runs_dir), f"{check_name(run_id, 'run id')}.parquet")


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def history_table(report: RunReport, left_out: Collection[str] = ()) -> pa.Table:
    """The run's history rows (HISTORY_SCHEMA) from its PhaseStats; phases with n = 0, and
    those of the suites `left_out`, left out."""
    meta = report.meta
    commit = None if meta.commit in ("", "unknown") else meta.commit
    rows = [
        {"run_id": meta.run_id, "started_at": meta.started_at, "git_commit": commit,
         "host": meta.host,
         "suite": row.suite,
         "scenario": row.scenario if row.variant is None
         else with_dataset_size(row.scenario, row.variant),
         "phase": row.phase, "n": row.n, "mean_ns": _number(row.mean_ns),
         "p50_ns": _number(row.p50_ns), "p95_ns": _number(row.p95_ns),
         "p99_ns": _number(row.p99_ns)}
        for row in report.stats if row.n > 0 and row.suite not in left_out
    ]
    return pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)


def record_run(runs_dir: Runs, report: RunReport, left_out: Collection[str] = ()) -> Path:
    """Write (or replace) the run's history file atomically, without the suites `left_out`;
    returns its path."""
    final = history_path(runs_dir, report.meta.run_id)
    table = history_table(report, left_out)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temp, "wb") as sink:
            pq.write_table(table, sink)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return final


def open_history(runs_dir: Runs,
                 connection: duckdb.DuckDBPyConnection | None = None
                 ) -> duckdb.DuckDBPyConnection | None:
    """A connection with view `history` over every run's history file (scenarios in today's
    spelling: macro bench_history_scenario; host null where a file has none); None when there
    is none."""
    if not any(history_dir(runs_dir).glob("*.parquet")):
        return None
    con = connection if connection is not None else duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # started_at comes back as a UTC datetime
    macros.define(con)
    files = con.read_parquet(history_glob(runs_dir), union_by_name=True)
    if "host" not in files.columns:  # every file written before hosts were kept
        files = files.project("*, NULL::VARCHAR AS host")
    files.project("* REPLACE (bench_history_scenario(scenario) AS scenario)").create_view(
        "history", replace=True)
    return con
