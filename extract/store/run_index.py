"""The runs of a runs directory with their metadata, oldest first (`spanbench runs`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from extract.store.run_json import RunJsonError
from extract.store.runstore import STAMPED, RunStore


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    started_at: datetime
    """From run.json; without one, the time in a stamped run id, else the folder's mtime."""
    commit: str | None
    suites: tuple[str, ...]
    """Suites with spans in the run."""
    spans: int
    environment: str
    has_run_json: bool


@dataclass(frozen=True)
class _Dated:
    run_id: str
    started_at: datetime
    commit: str | None
    environment: str


def _span_facts(con: duckdb.DuckDBPyConnection, files: list[Path]) -> tuple[int, tuple[str, ...]]:
    relation = con.read_parquet([str(path) for path in files], union_by_name=True)
    [(spans, suites)] = relation.aggregate(
        "count(*), list(DISTINCT Suite ORDER BY Suite) FILTER (WHERE Suite IS NOT NULL)"
    ).fetchall()
    return int(spans), tuple(suites or ())


def _dated(store: RunStore, run_id: str) -> _Dated:
    try:
        record = store.record(run_id)
    except RunJsonError as error:  # listed all the same, with what is wrong
        return _Dated(run_id, store.last_written(run_id), None, str(error))
    commit = None if record.commit in (None, "unknown") else record.commit
    return _Dated(run_id, store.started_at(run_id, record), commit, record.environment)


def _by_start(store: RunStore) -> list[_Dated]:
    runs = [_dated(store, run_id) for run_id in store.run_ids()]
    return sorted(runs, key=lambda run: (run.started_at, run.run_id))


def summarize_runs(runs_dir: RunStore | Path) -> list[RunSummary]:
    """Every run with spans under `runs_dir`, sorted by start time (then id)."""
    store = RunStore.at(runs_dir)
    summaries = []
    con = duckdb.connect()
    try:
        for run in _by_start(store):
            spans, suites = _span_facts(con, store.part_files(run.run_id))
            summaries.append(RunSummary(
                run_id=run.run_id, started_at=run.started_at, commit=run.commit,
                suites=suites, spans=spans, environment=run.environment,
                has_run_json=store.has_record(run.run_id)))
    finally:
        con.close()
    return summaries


def latest_run(runs_dir: RunStore | Path) -> str | None:
    """The run `spanbench run` started last; without any, the run that started last; None when
    there is no run. (A free-form run such as the sink's 'unassigned' is dated by its folder's
    mtime, which moves whenever a stray span arrives.)"""
    runs = _by_start(RunStore.at(runs_dir))
    made_by_run = [run for run in runs if STAMPED.match(run.run_id)]
    chosen = made_by_run or runs
    return chosen[-1].run_id if chosen else None

