"""DuckDB over the Parquet store: a `spans` view over one run, several, or all of them.

The sink acknowledges a request once it is spooled, so delivery is at least once: an exporter
that lost the answer (the sink killed after its fsync, a time-out) sends the same spans again,
and both copies reach Parquet. The view holds each span of a run once (TraceId, SpanId).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow.dataset as ds

from extract.store.parquet_store import SCHEMA
from extract.store.runstore import RunStore
from queries import macros

VIEW: str = "spans"
STORED_VIEW: str = "spans_as_stored"
"""Every row of the part files, repeated deliveries included."""

Runs = RunStore | str | os.PathLike[str]
"""A runs dir as the functions here take it: a RunStore, or a folder or `s3://` URI that
RunStore.at opens."""


class NoSpansError(LookupError):
    """A run (or the whole runs dir) has no span files to query."""


def part_files(runs_dir: Runs, run_id: str) -> list[Path]:
    """The run's completed part files, sorted (RunStore.part_files)."""
    return RunStore.at(runs_dir).part_files(run_id)


def list_runs(runs_dir: Runs) -> list[str]:
    """Run ids under `runs_dir` that have at least one part file, sorted (RunStore.run_ids)."""
    return RunStore.at(runs_dir).run_ids()


def open_runs(
    runs_dir: Runs,
    run_ids: Sequence[str] | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> duckdb.DuckDBPyConnection:
    """A connection with view `spans` over the runs' part files (all runs when None) and the
    queries' macros (queries.macros).

    The file list is fixed when the view is made: call again to see parts written later.
    Runs in a bucket are read through pyarrow's S3 filesystem (no DuckDB extension needed).
    """
    store = RunStore.at(runs_dir)
    if run_ids is None:
        run_ids = store.run_ids()
        if not run_ids:
            raise NoSpansError(
                f"no run under {store} has spans (expected <run_id>/spans/part-*.parquet): "
                "run a benchmark first, or pass the runs dir it wrote to"
            )
    files: list[str] = []
    for run_id in run_ids:
        found = store.part_files(run_id)
        if not found:
            known = ", ".join(store.run_ids()) or "none"
            raise NoSpansError(
                f"run {run_id!r} has no spans under {store.spans_location(run_id)} "
                f"(runs with spans in {store}: {known})"
            )
        files.extend(path.as_posix() for path in found)
    con = connection if connection is not None else duckdb.connect()
    filesystem = store.filesystem()
    if filesystem is None:
        con.read_parquet(files, union_by_name=True).create_view(STORED_VIEW, replace=True)
    else:
        con.register(STORED_VIEW, ds.dataset(files, schema=SCHEMA, format="parquet",
                                             filesystem=filesystem))
    _create_spans_view(con)
    return macros.define(con)


def _create_spans_view(con: duckdb.DuckDBPyConnection) -> None:
    """`spans` over the stored rows, each span once. Repeats are rare (a sink crash or a lost
    answer), so they are looked for first and only then removed: the check reads one column,
    the removal all of them."""
    [(repeated,)] = con.execute(
        f"SELECT count(SpanId) - count(DISTINCT SpanId) FROM {STORED_VIEW}").fetchall()
    once = (" QUALIFY SpanId IS NULL OR row_number() OVER "
            "(PARTITION BY RunId, TraceId, SpanId ORDER BY Timestamp) = 1" if repeated else "")
    con.execute(f"CREATE OR REPLACE VIEW {VIEW} AS SELECT * FROM {STORED_VIEW}{once}")
