"""Build a ReportInput from one run's Parquet and run.json alone (no stack needed)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from extract.analyse import (
    analysis,
    baseline_compare,
    breakdown,
    confirmation,
    disturbance,
)
from extract.analyse.baseline_compare import BenchmarkKey
from extract.analyse.calibration import history_spreads
from extract.analyse.derived_check import derived_check
from extract.analyse.derived_worker import derived_worker
from extract.analyse.duckdb_runner import Runs, open_runs
from extract.analyse.run_level import Spread
from extract.analyse.tracing_tax import run_tracing_tax
from extract.analyse.unmapped import unmapped_names
from extract.reports.completion import completion_lines, completion_rows
from extract.reports.html_data import gather_charts
from extract.reports.model import Prerequisite, ReportInput, RunMeta
from extract.store.run_json import RunRecord
from extract.store.runstore import RunStore
from spanbench.phase_map import PhaseMap


class ReportInputError(RuntimeError):
    """The run or the baseline asked for cannot be read."""


def run_record(runs_dir: Runs, run_id: str) -> RunRecord:
    """The run's run.json; an empty record for a run without one (spans collected by
    'spanbench collect'). ReportInputError when it cannot be read."""
    try:
        return RunStore.at(runs_dir).record(run_id)
    except ValueError as error:
        raise ReportInputError(str(error)) from None


def run_meta(runs_dir: Runs, run_id: str) -> RunMeta:
    """From run.json; a run without one still reports, with what its id says."""
    store = RunStore.at(runs_dir)
    record = run_record(store, run_id)
    return RunMeta(run_id, store.started_at(run_id, record), record.commit or "unknown",
                   record.environment, host_name(record))


def run_history_spreads(runs_dir: Runs, run_id: str) -> dict[BenchmarkKey, Spread]:
    """The spreads that calibrate run `run_id`'s comparison: its benchmarks' history on its
    host before it started (extract.analyse.calibration)."""
    meta = run_meta(runs_dir, run_id)
    return history_spreads(runs_dir, run_id, meta.host, meta.started_at)


def host_name(record: RunRecord) -> str | None:
    """The name of the host a run ran on, as run.json records it."""
    name = (record.host or {}).get("name")
    return None if name is None else str(name)


def _prerequisites(record: RunRecord) -> tuple[Prerequisite, ...]:
    return tuple(Prerequisite(p.name, p.ok, p.detail) for p in record.prerequisites or ())


def _judged(store: RunStore, judged: Sequence[str], baseline_dir: Path,
            con: duckdb.DuckDBPyConnection | None, phase_map: PhaseMap | None,
            history: dict[BenchmarkKey, Spread]) -> list[Any]:
    """`judged` (their median when several) against the baseline on `history`, a suite
    disturbed in any of them set aside; `con`: one opened on them already."""
    own = con is None
    con = open_runs(store, list(judged), phase_map=phase_map) if con is None else con
    try:
        disturbed = disturbance.disturbed_in(run_record(store, run_id).suites or {}
                                             for run_id in judged)
        return disturbance.set_aside(
            baseline_compare.compare(con, judged, baseline_dir, history=history), disturbed)
    finally:
        if own:
            con.close()


def judge_runs(runs_dir: Runs, judged: Sequence[str], baseline_dir: Path,
               baseline_name: str | None, con: duckdb.DuckDBPyConnection | None = None,
               phase_map: PhaseMap | None = None,
               confirming: Sequence[str] | None = None) -> list[Any]:
    """`judged` (their median when several) against the baseline, on the history before the
    first, a suite disturbed in any of them set aside; a Regressed row stays so only when the
    runs the last one recorded as confirming it against `baseline_name` reproduce it
    (extract.analyse.confirmation), each judged alone on the same history. `confirming`: these
    runs instead of those recorded ([]: none)."""
    store = RunStore.at(runs_dir)
    history = run_history_spreads(store, judged[0])
    rows = _judged(store, judged, baseline_dir, con, phase_map, history)
    again = confirming if confirming is not None else confirmation.confirming_runs(
        run_record(store, judged[-1]).confirmation, baseline_name)
    if not again or not confirmation.suspect_suites(rows):
        return rows
    return confirmation.confirm(rows, [_judged(store, [run_id], baseline_dir, None, phase_map,
                                               history) for run_id in again])


def gather(runs_dir: Runs, run_id: str, targets_path: Path | None = None,
           baseline_dir: Path | None = None, baseline_name: str | None = None,
           prerequisites: tuple[Prerequisite, ...] = (),
           phase_map: PhaseMap | None = None,
           earlier_runs: Sequence[str] = ()) -> ReportInput:
    """Statistics, target checks, breakdowns and (with a baseline) the comparison of one run;
    with `earlier_runs` (repeats of it), the comparison judges the median of them and it, on
    the history before the first, setting aside a suite disturbed in any.

    Prerequisites not given are those run.json recorded. The trend reads the history the store
    keeps (beside the runs; a bucket's on this machine), and so does the comparison: each
    benchmark's spread over its past runs on the run's host (extract.analyse.calibration).
    `phase_map` attributes the deployment's spans (open_runs: the run's system's map when None).
    """
    store = RunStore.at(runs_dir)
    if baseline_dir is not None and not baseline_dir.is_dir():
        raise ReportInputError(f"no baseline at {baseline_dir}: save one with "
                               "'spanbench run --save-baseline NAME'")
    con = open_runs(store, [run_id], phase_map=phase_map, in_memory=True)
    try:
        stats = analysis.phase_statistics(con, run_id)
        ran = {row.suite for row in stats}
        checks = [check for check in
                  analysis.check_targets(stats, analysis.load_targets(targets_path))
                  if check.target.suite in ran]  # targets of suites not run are not reported
        record = run_record(store, run_id)
        comparisons: list[Any] = []
        if baseline_dir is not None:
            comparisons = judge_runs(store, [*earlier_runs, run_id], baseline_dir,
                                     baseline_name, con if not earlier_runs else None,
                                     phase_map)
        if not prerequisites:
            prerequisites = _prerequisites(record)
        e2e = breakdown.e2e_analysis(con, run_id)  # one walk of the traces for all three
        completion = completion_lines(completion_rows(con, run_id),
                                      record.config.completion if record.config else None)
        derived = breakdown.has_derived(con, run_id)
        report = ReportInput(
            meta=run_meta(store, run_id), stats=stats, checks=checks,
            comparisons=comparisons, baseline_name=baseline_name,
            breakdown=e2e.breakdown, completeness=e2e.completeness, lifecycle=e2e.lifecycle,
            prerequisites=prerequisites, outcomes=record.suites or {}, completion=completion,
            derived_breakdown=(breakdown.derived_e2e_analysis(con, run_id).breakdown
                               if derived else ()),
            derived_check=derived_check(con, run_id) if derived else (),
            derived_worker=derived_worker(con, run_id) if derived else (),
            unmapped=unmapped_names(con, run_id), tracing_tax=run_tracing_tax(con, run_id))
        charts = gather_charts(con, store.history_home, report)
        return dataclasses.replace(report, charts=charts)
    finally:
        con.close()
