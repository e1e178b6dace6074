"""`spanbench report`: every report of a run regenerated from its Parquet and run.json alone.

`spanbench run` collects and publishes the same way at the end of a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console

from extract.analyse.duckdb_runner import NoSpansError, list_runs
from extract.receive import settings as sink_settings
from extract.reports.console import console_report
from extract.reports.files import LATEST, write_reports
from extract.reports.gather import STAMPED, ReportInputError, gather, run_record
from extract.reports.model import Prerequisite, ReportInput
from extract.reports.verdict import EXIT_INPUT, verdict
from extract.store import history
from extract.store.object_store import S3Runs
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
    return (spanbench_home() / "baselines").absolute()


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


def check_targets_file(targets: Path | None) -> None:
    """Load the targets once so a bad file stops a run before any timing."""
    from extract.analyse.analysis import load_targets

    try:
        load_targets(targets)
    except ValueError as error:
        raise ReportError(str(error)) from None


def collect(runs_dir: Path | S3Runs, run_id: str, *, targets: Path | None = None,
            baseline: str | None = None,
            prerequisites: Sequence[Prerequisite] = ()) -> ReportInput:
    """Everything the reports say about a run, from its Parquet; ReportError on bad input."""
    try:
        return gather(runs_dir, run_id, targets,
                      baseline_path(baseline) if baseline else None, baseline,
                      tuple(prerequisites), history_home=history_home(runs_dir))
    except (ReportInputError, NoSpansError, ValueError, OSError, duckdb.Error) as error:
        raise ReportError(str(error)) from None


def history_home(runs_dir: Path | S3Runs) -> Path:
    """Where the history of runs in `runs_dir` is kept: beside them, or for runs in a bucket,
    in this machine's staging folder of that bucket (the history is not shared through it)."""
    if isinstance(runs_dir, S3Runs):
        return sink_settings.staging_dir(runs_dir, spanbench_home().absolute())
    return runs_dir


def record_history(runs_dir: Path | S3Runs, report: ReportInput) -> Path | None:
    """Keep the run's statistics for `spanbench trend`; a --quick smoke run is not kept."""
    local = history_home(runs_dir)
    try:
        if run_record(runs_dir, report.meta.run_id).get("config", {}).get("quick"):
            return None
        return history.record_run(local, report)
    except (ReportInputError, OSError, ValueError) as error:
        raise ReportError(f"cannot record the run in {history.history_dir(local)}: "
                          f"{error}") from None


def publish(console: Console, errors: Console, report: ReportInput, *,
            runs_dir: Path | S3Runs,
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
    recorded = record_history(runs_dir, report)
    console.print(console_report(report), highlight=False, markup=False, soft_wrap=True)
    console.print(f"reports: {output_dir / LATEST}/ (report.html, summary.md, results.json, "
                  "github-action-benchmark.json, junit.xml, <suite>.log)", highlight=False)
    console.print(f"history: {recorded} ('spanbench trend' shows it)" if recorded else
                  "history: not recorded (a --quick run)", highlight=False)
    outcome = verdict(report)
    for line in outcome.lines:
        errors.print(line if gate else f"{line} (quick run: reported, not gating)",
                     highlight=False, markup=False, soft_wrap=True)
    return outcome.exit_code if gate else 0


def produce(console: Console, errors: Console, runs_dir: Path | S3Runs, run_id: str, *,
            targets: Path | None = None, baseline: str | None = None,
            output_dir: Path = DEFAULT_OUTPUT_DIR,
            prerequisites: Sequence[Prerequisite] = (), gate: bool = True) -> int:
    """Gather, write every report file, print the console blocks; the exit code (0 or 1)."""
    report = collect(runs_dir, run_id, targets=targets, baseline=baseline,
                     prerequisites=prerequisites)
    return publish(console, errors, report, runs_dir=runs_dir, output_dir=output_dir, gate=gate)


def newest_run(runs_dir: Path | S3Runs) -> str:
    """The newest run `spanbench run` made (ids start with their start time)."""
    runs = [run for run in list_runs(runs_dir) if STAMPED.match(run)]
    if not runs:
        raise ReportError(f"no run under {runs_dir} has spans: run 'spanbench run' first, "
                          "or pass --out with the runs dir it wrote to")
    return runs[-1]


def report(
    run: Annotated[str | None, typer.Option(
        help="Run id (default: the newest run with spans).")] = None,
    out: Annotated[str | None, typer.Option(
        help="Runs directory (default .spanbench/runs), or s3://bucket/prefix.")] = None,
    targets: TargetsOption = None,
    baseline: Annotated[str | None, typer.Option(
        help="Compare with this saved baseline.")] = None,
    output_dir: OutputDirOption = DEFAULT_OUTPUT_DIR,
) -> None:
    """Regenerate every report of a run from its Parquet alone (no stack needed)."""
    console, errors = Console(), Console(stderr=True)
    try:
        runs_dir = sink_settings.runs_location(out, home=spanbench_home().absolute())
        if run is not None:
            try:
                check_name(run, "run id")
            except ValueError as error:
                raise ReportError(str(error)) from None
        code = produce(console, errors, runs_dir, run or newest_run(runs_dir),
                       targets=targets, baseline=baseline, output_dir=output_dir)
    except (ReportError, sink_settings.SettingsError, OSError) as error:
        errors.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INPUT) from None
    raise typer.Exit(code)
