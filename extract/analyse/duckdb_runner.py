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

from extract.analyse import stitching
from extract.store.parquet_store import SCHEMA
from extract.store.runstore import UNASSIGNED, RunStore
from queries import macros, phase_map_sql
from spanbench import phase_map
from spanbench.phase_map import PhaseMap

VIEW: str = "spans"
STORED_VIEW: str = "spans_as_stored"
"""Every row of the part files, repeated deliveries included."""
OWN_VIEW: str = "spans_of_runs"
"""The runs' own spans, each once, with their stored Phase."""
UNASSIGNED_STORED: str = "unassigned_as_stored"
UNASSIGNED_VIEW: str = "unassigned_spans"
DEFAULT_SYSTEM: str = "spanbench"

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
    phase_map: PhaseMap | None = None,
    in_memory: bool = False,
) -> duckdb.DuckDBPyConnection:
    """A connection with view `spans` over the runs' part files (all runs when None) and the
    queries' macros (queries.macros).

    A span's `Phase` is what the phase map gives it (queries.phase_map_sql): `phase_map`, else
    the built-in map of the first run's system (run.json `config.system`). When runs are named,
    the deployment's spans the sink filed under `unassigned` that carry one of their task or
    step ids join their workflows (extract.analyse.stitching).
    The file list is fixed when the view is made: call again to see parts written later.
    Runs in a bucket are read through pyarrow's S3 filesystem (no DuckDB extension needed).
    `in_memory`: `spans` is a temporary table holding the view's rows, read from the files
    once; for a caller that runs many queries (the full analysis, a report), each of which
    would otherwise decode the Parquet, attribute maps included, again.
    """
    store = RunStore.at(runs_dir)
    named = run_ids is not None
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
    _register(con, store, files, STORED_VIEW)
    _create_unique_view(con, STORED_VIEW, OWN_VIEW)
    macros.define(con)
    phase_map_sql.define(con, phase_map or run_phase_map(store, run_ids))
    unassigned = store.part_files(UNASSIGNED) if named and UNASSIGNED not in run_ids else []
    if unassigned:
        _register(con, store, [path.as_posix() for path in unassigned], UNASSIGNED_STORED)
        _create_unique_view(con, UNASSIGNED_STORED, UNASSIGNED_VIEW)
        stitching.stitch(con, OWN_VIEW, UNASSIGNED_VIEW)
        rows = f"SELECT * FROM {OWN_VIEW} UNION ALL BY NAME SELECT * FROM {stitching.STITCHED}"
    else:
        rows = f"SELECT * FROM {OWN_VIEW}"
    con.execute(f"DROP TABLE IF EXISTS temp.{VIEW}")  # an earlier in_memory open's
    con.execute(f"CREATE OR REPLACE VIEW {VIEW} AS SELECT * REPLACE "
                f"(bench_mapped_phase(SpanName, SpanAttributes, Phase) AS Phase) FROM ({rows})")
    if in_memory:  # the temporary table comes first in name resolution: it hides the view
        con.execute(f"CREATE TEMP TABLE {VIEW} AS SELECT * FROM main.{VIEW}")
    return con


def run_phase_map(store: RunStore, run_ids: Sequence[str]) -> PhaseMap:
    """The built-in phase map of the first run whose run.json names its system; spanbench's
    when none does, or names one without a built-in map (each keeps its stored phases)."""
    for run_id in run_ids:
        try:
            record = store.read_record(run_id)
        except ValueError:  # an unreadable run.json: its spans still open
            continue
        system = record.config.system if record is not None and record.config else None
        if system:
            return phase_map.builtin(system if system in phase_map.builtin_names()
                                     else DEFAULT_SYSTEM)
    return phase_map.builtin(DEFAULT_SYSTEM)


def _register(con: duckdb.DuckDBPyConnection, store: RunStore, files: list[str],
              name: str) -> None:
    filesystem = store.filesystem()
    if filesystem is None:
        con.read_parquet(files, union_by_name=True).create_view(name, replace=True)
    else:
        con.register(name, ds.dataset(files, schema=SCHEMA, format="parquet",
                                      filesystem=filesystem))


def _create_unique_view(con: duckdb.DuckDBPyConnection, stored: str, view: str) -> None:
    """`view` over the `stored` rows, each span once. Repeats are rare (a sink crash or a lost
    answer), so they are looked for first and only then removed: the check reads one column,
    the removal all of them."""
    [(repeated,)] = con.execute(
        f"SELECT count(SpanId) - count(DISTINCT SpanId) FROM {stored}").fetchall()
    once = (" QUALIFY SpanId IS NULL OR row_number() OVER "
            "(PARTITION BY RunId, TraceId, SpanId ORDER BY Timestamp) = 1" if repeated else "")
    con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {stored}{once}")
