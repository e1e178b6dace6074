"""The runs of a runs directory with their metadata, oldest first (`spanbench runs`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from extract.analyse.duckdb_runner import list_runs, part_files
from extract.reports.gather import STAMPED, ReportInputError, run_meta
from extract.reports.model import RunMeta


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


def _span_facts(con: duckdb.DuckDBPyConnection, files: list[Path]) -> tuple[int, tuple[str, ...]]:
    relation = con.read_parquet([str(path) for path in files], union_by_name=True)
    [(spans, suites)] = relation.aggregate(
        "count(*), list(DISTINCT Suite ORDER BY Suite) FILTER (WHERE Suite IS NOT NULL)"
    ).fetchall()
    return int(spans), tuple(suites or ())


def _meta(runs_dir: Path, run_id: str) -> RunMeta:
    try:
        return run_meta(runs_dir, run_id)
    except ReportInputError as error:  # listed all the same, with what is wrong
        started = datetime.fromtimestamp((runs_dir / run_id).stat().st_mtime, tz=UTC)
        return RunMeta(run_id, started, "unknown", str(error))


def _by_start(runs_dir: Path) -> list[RunMeta]:
    metas = [_meta(runs_dir, run_id) for run_id in list_runs(runs_dir)]
    return sorted(metas, key=lambda meta: (meta.started_at, meta.run_id))


def summarize_runs(runs_dir: Path) -> list[RunSummary]:
    """Every run with spans under `runs_dir`, sorted by start time (then id)."""
    runs_dir = Path(runs_dir)
    summaries = []
    con = duckdb.connect()
    try:
        for meta in _by_start(runs_dir):
            spans, suites = _span_facts(con, part_files(runs_dir, meta.run_id))
            summaries.append(RunSummary(
                run_id=meta.run_id, started_at=meta.started_at,
                commit=None if meta.commit == "unknown" else meta.commit,
                suites=suites, spans=spans, environment=meta.environment,
                has_run_json=(runs_dir / meta.run_id / "run.json").is_file()))
    finally:
        con.close()
    return summaries


def latest_run(runs_dir: Path) -> str | None:
    """The run `spanbench run` started last; without any, the run that started last; None when
    there is no run. (A free-form run such as the sink's 'unassigned' is dated by its folder's
    mtime, which moves whenever a stray span arrives.)"""
    metas = _by_start(Path(runs_dir))
    made_by_run = [meta for meta in metas if STAMPED.match(meta.run_id)]
    chosen = made_by_run or metas
    return chosen[-1].run_id if chosen else None
