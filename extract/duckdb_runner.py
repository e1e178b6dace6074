"""DuckDB over the Parquet store: a `spans` view over one run, several, or all of them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from extract.otlp_decode import RUN_ID_PATTERN
from extract.parquet_store import spans_dir

VIEW: str = "spans"


class NoSpansError(LookupError):
    """A run (or the whole runs dir) has no span files to query."""


def part_files(runs_dir: Path, run_id: str) -> list[Path]:
    """The run's completed part files, sorted (temp files are never matched)."""
    return sorted(spans_dir(runs_dir, run_id).glob("part-*.parquet"))


def list_runs(runs_dir: Path) -> list[str]:
    """Run ids under `runs_dir` that have at least one part file, sorted."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    return sorted(
        entry.name
        for entry in runs_dir.iterdir()
        if entry.is_dir() and RUN_ID_PATTERN.match(entry.name) and part_files(runs_dir, entry.name)
    )


def open_runs(
    runs_dir: Path,
    run_ids: Sequence[str] | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> duckdb.DuckDBPyConnection:
    """A connection with view `spans` over the runs' part files (all runs when None).

    The file list is fixed when the view is made: call again to see parts written later.
    """
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
                f"run {run_id!r} has no spans under {spans_dir(runs_dir, run_id)} "
                f"(runs with spans in {runs_dir}: {known})"
            )
        files.extend(str(path) for path in found)
    con = connection if connection is not None else duckdb.connect()
    con.read_parquet(files, union_by_name=True).create_view(VIEW, replace=True)
    return con
