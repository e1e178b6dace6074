"""DuckDB over the Parquet store: a `spans` view over one run, several, or all of them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow.dataset as ds

from extract.receive.otlp_decode import RUN_ID_PATTERN
from extract.store import object_store
from extract.store.object_store import S3Runs
from extract.store.parquet_store import SCHEMA, local_spans_dir, spans_dir
from queries import macros

VIEW: str = "spans"
PART_GLOB = re.compile(r"^part-.+\.parquet$")


class NoSpansError(LookupError):
    """A run (or the whole runs dir) has no span files to query."""


def part_files(runs_dir: Path | S3Runs, run_id: str) -> list[Path]:
    """The run's completed part files, sorted (temp files are never matched).

    In a bucket: their `bucket/key` paths (as Paths), as pyarrow's S3 filesystem names them.
    """
    if isinstance(runs_dir, S3Runs):
        spans = spans_dir(Path(), run_id).as_posix()
        names = object_store.list_names(runs_dir, spans)
        return [Path(runs_dir.key(spans, name)) for name in names if PART_GLOB.match(name)]
    return sorted(local_spans_dir(runs_dir, run_id).glob("part-*.parquet"))


def list_runs(runs_dir: Path | S3Runs) -> list[str]:
    """Run ids under `runs_dir` that have at least one part file, sorted."""
    if isinstance(runs_dir, S3Runs):
        candidates = object_store.list_names(runs_dir)
    else:
        runs_dir = Path(runs_dir)
        if not runs_dir.is_dir():
            return []
        candidates = [entry.name for entry in runs_dir.iterdir() if entry.is_dir()]
    return sorted(
        name
        for name in candidates
        if RUN_ID_PATTERN.fullmatch(name) and part_files(runs_dir, name)
    )


def _where(runs_dir: Path | S3Runs, run_id: str) -> str:
    if isinstance(runs_dir, S3Runs):
        return f"{runs_dir}/{spans_dir(Path(), run_id).as_posix()}"
    return str(spans_dir(runs_dir, run_id))


def open_runs(
    runs_dir: Path | S3Runs,
    run_ids: Sequence[str] | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> duckdb.DuckDBPyConnection:
    """A connection with view `spans` over the runs' part files (all runs when None) and the
    queries' macros (queries.macros).

    The file list is fixed when the view is made: call again to see parts written later.
    Runs in a bucket are read through pyarrow's S3 filesystem (no DuckDB extension needed).
    """
    if not isinstance(runs_dir, S3Runs):
        runs_dir = Path(runs_dir)
    if run_ids is None:
        run_ids = list_runs(runs_dir)
        if not run_ids:
            raise NoSpansError(
                f"no run under {runs_dir} has spans (expected <run_id>/spans/part-*.parquet): "
                "run a benchmark first, or pass the runs dir it wrote to"
            )
    files: list[str] = []
    for run_id in run_ids:
        found = part_files(runs_dir, run_id)
        if not found:
            known = ", ".join(list_runs(runs_dir)) or "none"
            raise NoSpansError(
                f"run {run_id!r} has no spans under {_where(runs_dir, run_id)} "
                f"(runs with spans in {runs_dir}: {known})"
            )
        files.extend(path.as_posix() for path in found)
    con = connection if connection is not None else duckdb.connect()
    if isinstance(runs_dir, S3Runs):
        dataset = ds.dataset(files, schema=SCHEMA, format="parquet",
                             filesystem=object_store.filesystem())
        con.register(VIEW, dataset)
    else:
        con.read_parquet(files, union_by_name=True).create_view(VIEW, replace=True)
    return macros.define(con)
