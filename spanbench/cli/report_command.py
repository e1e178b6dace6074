"""`spanbench report`: every report of a run regenerated from its Parquet and run.json alone.

`spanbench run` collects and publishes the same way at the end of a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.console import Console

from extract.analyse.analysis import Target, load_targets
from extract.analyse.disturbance import disturbed_suites
from extract.analyse.duckdb_runner import NoSpansError
from extract.reports.baseline_table import counts_line, status_lines
from extract.reports.console import console_report
from extract.reports.files import LATEST, write_reports
from extract.reports.gather import ReportInputError, gather, judge_runs
from extract.reports.model import Prerequisite, ReportInput
from extract.reports.verdict import EXIT_INPUT, verdict
from extract.store import history, runstore
from extract.store.run_json import RunJsonError
from extract.store.runstore import RunsDirError, RunStore
from spanbench.cli.common import report_console
from spanbench.cli.phase_map_option import PhaseMapOption, read_phase_map
from spanbench.cli.runs_dir import RunsDirOutOption, resolve_store
from spanbench.phase_map import PhaseMap, PhaseMapError
from spanbench.security import check_name, contained
from stack.settings import spanbench_home

DEFAULT_OUTPUT_DIR = Path("tmp/benchmarks")

TargetsOption = Annotated[Path | None, typer.Option(
    help="targets.toml to check against (default: the seed's).")]
OutputDirOption = Annotated[Path, typer.Option(
    help="Where the logs, summary.md and CI files go.")]
"""Options `spanbench report` and `spanbench run` share."""


class ReportError(RuntimeError):
    """An input of the reports is missing or unreadable (exit code 2)."""


def baselines_dir() -> Path:
    """Where named baselines live: <SPANBENCH_HOME>/baselines/<name>."""
    return runstore.baselines_dir(spanbench_home())


def baseline_path(name: str) -> Path:
    """The saved baseline `name`; ReportError naming the known ones when there is none."""
    try:
        path = contained(baselines_dir(), check_name(name, "baseline name"))
    except ValueError as error:
        raise ReportError(str(error)) from None
    if not path.is_dir():
        known = sorted(p.name for p in baselines_dir().glob("*") if p.is_dir())
        raise ReportError(f"no baseline named {name!r} under {baselines_dir()} (saved: "
                          f"{', '.join(known) or 'none'}); save one with "
                          "'spanbench run --save-baseline NAME'")
    return path


def check_targets_file(targets: Path | None) -> list[Target]:
    """Load the targets once so a bad file stops a run before any timing."""
    try:
        return load_targets(targets)
    except ValueError as error:
        raise ReportError(str(error)) from None


READ_ERRORS = (ReportInputError, NoSpansError, ValueError, OSError, duckdb.Error)
"""What reading a run, a baseline or the history for a report can raise."""


def collect(store: RunStore, run_id: str, *, targets: Path | None = None,
            baseline: str | None = None,
            prerequisites: Sequence[Prerequisite] = (),
            phase_map: PhaseMap | None = None, earlier_runs: Sequence[str] = ()) -> ReportInput:
    """Everything the reports say about a run, from its Parquet; ReportError on bad input.
    `earlier_runs`: repeats of it, judged with it against the baseline (gather)."""
    try:
        return gather(store, run_id, targets,
                      baseline_path(baseline) if baseline else None, baseline,
                      tuple(prerequisites), phase_map, earlier_runs)
    except READ_ERRORS as error:
        raise ReportError(str(error)) from None


def judge_again(store: RunStore, run_id: str, baseline: str, *,
                phase_map: PhaseMap | None = None,
                earlier_runs: Sequence[str] = ()) -> list[Any]:
    """The run's comparison with `baseline` alone, as `collect` makes it: for a report whose
    statistics stand while its verdicts change (the runs confirming a regression were
    recorded). ReportError on bad input."""
    try:
        return judge_runs(store, [*earlier_runs, run_id], baseline_path(baseline), baseline,
                          phase_map=phase_map)
    except READ_ERRORS as error:
        raise ReportError(str(error)) from None


def record_history(store: RunStore, report: ReportInput) -> Path | None:
    """Keep the run's statistics for `spanbench trend` and the gate's calibration; a --quick
    smoke run is not kept, nor a suite during which the machine was busy elsewhere
    (extract.analyse.disturbance): it measured the machine as much as the code."""
    try:
        record = store.record(report.meta.run_id)
        if record.quick:
            return None
        return history.record_run(store, report, left_out=disturbed_suites(record.suites or {}))
    except (RunJsonError, OSError, ValueError) as error:
        raise ReportError(f"cannot record the run in {store.history_dir}: "
                          f"{error}") from None


def publish(console: Console, errors: Console, report: ReportInput, *,
            store: RunStore,
            output_dir: Path = DEFAULT_OUTPUT_DIR, gate: bool = True) -> int:
    """Write every report file, record the run's history, print the console blocks; the exit
    code (0 or 1).

    The failing checks go to stderr, one line each; without `gate` (a smoke run) they are
    reported but the code stays 0.
    """
    try:
        write_reports(report, output_dir)
    except ValueError as error:  # a suite name from the spans that cannot be a file name
        raise ReportError(f"reports not written: {error}") from None
    recorded = record_history(store, report)
    console.print(console_report(report), highlight=False, markup=False, soft_wrap=True)
    console.print(f"reports: {output_dir / LATEST}/ (report.html, summary.md, results.json, "
                  "github-action-benchmark.json, junit.xml, <suite>.log)", highlight=False)
    console.print(f"history: {recorded} ('spanbench trend' shows it)" if recorded else
                  "history: not recorded (a --quick run)", highlight=False)
    if report.baseline_name is not None:
        for line in (f"baseline {report.baseline_name}: {counts_line(report.comparisons)}",
                     *status_lines(report.comparisons)):
            console.print(line, highlight=False, markup=False, soft_wrap=True)
    outcome = verdict(report)
    for line in outcome.lines:
        errors.print(line if gate else f"{line} (quick run: reported, not gating)",
                     highlight=False, markup=False, soft_wrap=True)
    return outcome.exit_code if gate else 0


def produce(console: Console, errors: Console, store: RunStore, run_id: str, *,
            targets: Path | None = None, baseline: str | None = None,
            output_dir: Path = DEFAULT_OUTPUT_DIR,
            prerequisites: Sequence[Prerequisite] = (), gate: bool = True,
            phase_map: PhaseMap | None = None) -> int:
    """Gather, write every report file, print the console blocks; the exit code (0 or 1)."""
    report = collect(store, run_id, targets=targets, baseline=baseline,
                     prerequisites=prerequisites, phase_map=phase_map)
    return publish(console, errors, report, store=store, output_dir=output_dir, gate=gate)


def newest_run(store: RunStore) -> str:
    """The newest run `spanbench run` made (ids start with their start time)."""
    newest = store.newest_stamped()
    if newest is None:
        raise ReportError(f"no run under {store} has spans: run 'spanbench run' first, "
                          "or pass --runs-dir with the runs dir it wrote to")
    return newest


def report(
    run: Annotated[str | None, typer.Option(
        help="Run id (default: the newest run with spans).")] = None,
    runs_dir: RunsDirOutOption = None,
    targets: TargetsOption = None,
    baseline: Annotated[str | None, typer.Option(
        help="Compare with this saved baseline.")] = None,
    output_dir: OutputDirOption = DEFAULT_OUTPUT_DIR,
    phase_map_file: PhaseMapOption = None,
) -> None:
    """Regenerate every report of a run from its Parquet alone (no stack needed)."""
    console, errors = report_console(), Console(stderr=True)
    try:
        store = resolve_store(runs_dir)
        if run is not None:
            try:
                check_name(run, "run id")
            except ValueError as error:
                raise ReportError(str(error)) from None
        code = produce(console, errors, store, run or newest_run(store),
                       targets=targets, baseline=baseline, output_dir=output_dir,
                       phase_map=read_phase_map(phase_map_file))
    except (ReportError, RunsDirError, PhaseMapError, OSError) as error:
        errors.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INPUT) from None
    raise typer.Exit(code)
