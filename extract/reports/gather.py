"""Build a ReportInput from one run's Parquet and run.json alone (no stack needed)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from extract.analyse.duckdb_runner import open_runs
from extract.reports.html_data import gather_charts
from extract.reports.model import Prerequisite, ReportInput, RunMeta
from extract.store import object_store
from extract.store.object_store import S3Runs
from spanbench.security import check_name, contained

STAMPED = re.compile(r"^\d{8}T\d{6}Z")
"""Run ids `spanbench run` makes (runinfo.new_run_id) start with their UTC start time."""


class ReportInputError(RuntimeError):
    """The run or the baseline asked for cannot be read."""


def run_record(runs_dir: Path | S3Runs, run_id: str) -> dict[str, Any]:
    """run.json, or {} for a run without one (spans collected by 'spanbench collect')."""
    try:  # a run id that could leave the runs folder
        check = check_name(run_id, "run id")
        local = None if isinstance(runs_dir, S3Runs) else contained(runs_dir, check, "run.json")
    except ValueError as error:
        raise ReportInputError(str(error)) from None
    where = local if local is not None else f"{runs_dir}/{run_id}/run.json"
    try:
        if local is None:
            assert isinstance(runs_dir, S3Runs)
            text = object_store.get_text(runs_dir, f"{run_id}/run.json")
        else:
            text = local.read_text() if local.is_file() else None
        return json.loads(text) if text is not None else {}
    except (OSError, ValueError) as error:
        raise ReportInputError(f"{where} is unreadable: {error}") from None


def _last_written(runs_dir: Path | S3Runs, run_id: str) -> datetime:
    if isinstance(runs_dir, S3Runs):
        return object_store.mtime(runs_dir, run_id)
    return datetime.fromtimestamp((runs_dir / run_id).stat().st_mtime, tz=UTC)


def run_meta(runs_dir: Path | S3Runs, run_id: str) -> RunMeta:
    """From run.json; a run without one still reports, with what its id says."""
    record = run_record(runs_dir, run_id)
    started = record.get("started_at")
    if started:
        started_at = datetime.fromisoformat(started)
    elif STAMPED.match(run_id):
        started_at = datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    else:  # spans collected under a free-form run id: when they were last written
        started_at = _last_written(runs_dir, run_id)
    deployment = record.get("deployment") or {}
    if deployment.get("started_by_run"):
        environment = "Reference stack (started by spanbench run)"
    elif deployment.get("orchestration_url"):
        environment = f"External deployment ({deployment['orchestration_url']})"
    else:
        environment = "unknown (no run.json)"
    return RunMeta(run_id, started_at, str(record.get("commit", "unknown")), environment)


def gather(runs_dir: Path | S3Runs, run_id: str, targets_path: Path | None = None,
           baseline_dir: Path | None = None, baseline_name: str | None = None,
           prerequisites: tuple[Prerequisite, ...] = (),
           history_home: Path | None = None) -> ReportInput:
    """Statistics, target checks, breakdowns and (with a baseline) the comparison of one run.

    Prerequisites not given are those run.json recorded. The trend reads the history kept in
    `history_home` (default: beside the runs; a bucket's is kept on this machine, so the caller
    names it).
    """
    from extract.analyse import analysis, breakdown

    if baseline_dir is not None and not baseline_dir.is_dir():
        raise ReportInputError(f"no baseline at {baseline_dir}: save one with "
                               "'spanbench run --save-baseline NAME'")
    con = open_runs(runs_dir, [run_id])
    try:
        stats = analysis.phase_statistics(con, run_id)
        ran = {row.suite for row in stats}
        checks = [check for check in
                  analysis.check_targets(stats, analysis.load_targets(targets_path))
                  if check.target.suite in ran]  # targets of suites not run are not reported
        comparisons: list[Any] = []
        if baseline_dir is not None:
            from extract.store import baselines

            comparisons = list(baselines.compare(con, run_id, baseline_dir))
        if not prerequisites:
            prerequisites = tuple(
                Prerequisite(str(p["name"]), bool(p["ok"]), str(p.get("detail", "")))
                for p in run_record(runs_dir, run_id).get("prerequisites", []))
        e2e = breakdown.e2e_analysis(con, run_id)  # one walk of the traces for all three
        report = ReportInput(
            meta=run_meta(runs_dir, run_id), stats=stats, checks=checks,
            comparisons=comparisons, baseline_name=baseline_name,
            breakdown=e2e.breakdown, completeness=e2e.completeness, lifecycle=e2e.lifecycle,
            prerequisites=prerequisites)
        if history_home is None and not isinstance(runs_dir, S3Runs):
            history_home = runs_dir
        return dataclasses.replace(report, charts=gather_charts(con, history_home, report))
    finally:
        con.close()
