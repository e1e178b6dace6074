"""`spanbench run`: the main job, drawn with Rich (the steps are in spanbench.runner.job)."""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from extract.analyse import confirmation
from extract.analyse.analysis import MEAN_MIN_N, P95_MIN_N, P99_MIN_N, PhaseStats
from extract.analyse.baseline_compare import add_runs
from extract.analyse.baseline_compare import save_baseline as keep_baseline
from extract.analyse.duckdb_runner import NoSpansError
from extract.analyse.run_level import REGRESSED
from extract.reports.model import SET_OFF_HEADING, Prerequisite, ReportInput, scenario_name
from extract.store.run_json import SUITE_FAILED, SUITE_SKIPPED
from extract.store.runstore import RunsDirError, RunStore, new_run_id
from instrument.drivers import e2e_latency
from instrument.workload.load import LoadProfile
from spanbench import settings
from spanbench.cli.common import report_console
from spanbench.cli.phase_map_option import PhaseMapOption, read_phase_map
from spanbench.cli.report_command import (
    DEFAULT_OUTPUT_DIR,
    OutputDirOption,
    ReportError,
    TargetsOption,
    baseline_path,
    baselines_dir,
    check_targets_file,
    collect,
    judge_again,
    publish,
)
from spanbench.cli.runs_dir import RunsDirOutOption, resolve_store
from spanbench.phase_map import PhaseMap
from spanbench.runner import (
    derivation,
    job,
    prerequisites,
    sample_plan,
    settle,
    suites,
    system_choice,
)
from spanbench.runner.deployment import DeploymentError, deploy
from spanbench.security import check_name
from spanbench.units import format_ms, format_ns, ms
from spanbench.vocabulary import is_measurement
from stack.local.migrate import MigrationError
from stack.local.pg_runtime import ClusterError
from stack.local.supervisor import SupervisorError
from stack.settings import spanbench_home

EXIT_OK, EXIT_FAILED, EXIT_PREREQUISITE, EXIT_INTERRUPTED = 0, 1, 2, 130
"""0: every suite asked for ran and met its targets (skipped suites are reported, not failed);
1: a target or the baseline missed, or a suite failed; 2: nothing could run (a prerequisite of
the run, every suite skipped or failed) or bad input; 130: interrupted."""


SUITE_LINE = "{suite}: whole suite"


class RichProgress:
    """One bar per line a driver reports (`suite/line`), with its elapsed and remaining time,
    and one for the whole suite when its driver planned it."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[tuple[str, str], Any] = {}
        self._suites: dict[str, Any] = {}

    def plan(self, suite: str, total: int) -> None:
        self._suites[suite] = self._progress.add_task(SUITE_LINE.format(suite=suite),
                                                      total=total)

    def start(self, suite: str, line: str, total: int) -> None:
        self._tasks[(suite, line)] = self._progress.add_task(f"{suite}/{line}", total=total)

    def advance(self, suite: str, line: str) -> None:
        self._progress.advance(self._tasks[(suite, line)])
        if suite in self._suites:
            self._progress.advance(self._suites[suite])


def progress_bars(console: Console) -> Progress:
    """The run's progress display: name, bar, done/total, elapsed, estimated time left."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                    console=console)


def _cell(value: float | None, n: int, needed: int) -> str:
    if value is None:
        return f"n<{needed}" if 0 < n < needed else "—"
    return format_ms(value)


def summary_tables(stats: Sequence[PhaseStats]) -> list[Table]:
    """One table per suite: each scenario and phase, warm-up excluded; the phases a suite only
    sets off in other components (spanbench.vocabulary.SET_OFF_PHASES) in a table after it."""
    tables: dict[tuple[str, bool], Table] = {}
    for row in stats:
        measured = is_measurement(row.suite, row.phase)
        table = tables.get((row.suite, measured))
        if table is None:
            table = tables[(row.suite, measured)] = _stats_table(
                f"{row.suite} (warm-up excluded)" if measured
                else f"{row.suite}: {SET_OFF_HEADING.rstrip(':').lower()}")
        scenario = scenario_name(row.scenario, row.variant)
        table.add_row(scenario, row.phase, str(row.n), str(row.errors),
                      _cell(ms(row.mean_ns), row.n, MEAN_MIN_N), _cell(ms(row.p50_ns), row.n, 1),
                      _cell(ms(row.p95_ns), row.n, P95_MIN_N),
                      _cell(ms(row.p99_ns), row.n, P99_MIN_N))
    suites = dict.fromkeys(suite for suite, _ in tables)
    return [tables[(suite, measured)] for suite in suites for measured in (True, False)
            if (suite, measured) in tables]


def _stats_table(title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("scenario", "phase"):
        table.add_column(column, no_wrap=True)
    for column in ("n", "err", "mean", "p50", "p95", "p99"):
        table.add_column(column, justify="right", no_wrap=True)
    return table


def worker_table(rows: list[dict[str, Any]]) -> Table:
    """worker_execution's phases beside the stack's own workers' (from e2e_latency traces)."""
    table = Table(title="worker phases, p50: the driver's worker beside the stack's (e2e traces)",
                  title_justify="left")
    for column in ("handler", "phase"):
        table.add_column(column, no_wrap=True)
    for column in ("driver n", "driver p50", "stack n", "stack p50"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(row["handler"], row["phase"], str(row["driver_n"]),
                      _cell(ms(row["driver_p50_ns"]), row["driver_n"], 1), str(row["stack_n"]),
                      _cell(ms(row["stack_p50_ns"]), row["stack_n"], 1))
    return table


def run(
    suite: Annotated[list[str] | None, typer.Argument(
        help="Suites to run (default: all seven, in the seed's order).")] = None,
    samples: Annotated[int | None, typer.Option(
        min=1, help="Samples per scenario (default: the seed's, 50; e2e 10).")] = None,
    warmup: Annotated[int | None, typer.Option(
        min=0, help="Warm-up iterations per scenario (excluded from statistics).")] = None,
    quick: Annotated[bool, typer.Option(
        help="A smoke run: 3 samples, 1 warm-up, the smallest datasets; targets and the "
             "baseline are reported but do not set the exit code.")] = False,
    runs_dir: RunsDirOutOption = None,
    timeout: Annotated[float, typer.Option(
        min=0.1, help="Seconds one iteration may take before it counts as failed.")] = 30.0,
    workers: Annotated[int, typer.Option(min=1, help="Workers of the reference stack.")] = 2,
    targets: TargetsOption = None,
    baseline: Annotated[str | None, typer.Option(
        help="Compare with this saved baseline; a regression exits 1.")] = None,
    save_baseline: Annotated[str | None, typer.Option(
        help="Keep this run's samples (every repeat's) as baseline NAME.")] = None,
    repeat: Annotated[int, typer.Option(
        min=1, help="Run the suites N times, each run with a stack and run id of its own: "
                    "--baseline judges the median of the N runs against a narrower bound "
                    "(about 0.8 of one run's for 3) and --save-baseline keeps all N; every "
                    "run's targets are checked.")] = 1,
    confirm: Annotated[int, typer.Option(
        min=0, help="With --baseline: when a benchmark comes out Regressed, run the suites "
                    "holding one N more times, each with a stack of its own, and keep "
                    "Regressed only where every one of those runs has it Regressed too; the "
                    "others become Unstable. 0: call it on this run alone.")] = 1,
    output_dir: OutputDirOption = DEFAULT_OUTPUT_DIR,
    phase_map_file: PhaseMapOption = None,
    tee_otlp: Annotated[list[str] | None, typer.Option(
        help="Also send every span to this OTLP/HTTP endpoint (e.g. Jaeger's "
             "http://localhost:4318); the run's sink forwards what it acknowledged. "
             "Repeatable.")] = None,
    concurrency: Annotated[int | None, typer.Option(
        min=1, help="e2e_latency closed loop: keep N workflows in flight, each starting the "
                    "next when it finishes; scenarios become <scenario>@cN. With --rate: "
                    "the most in flight (default 64).")] = None,
    rate: Annotated[float | None, typer.Option(
        min=0.001, help="e2e_latency open loop: start R workflows/s on schedule, latency "
                        "from the intended start, late starts counted; scenarios become "
                        "<scenario>@rR.")] = None,
    arrival: Annotated[str, typer.Option(
        help="Open-loop arrivals: poisson (exponential gaps, mean 1/R) or fixed (every "
             "1/R s).")] = "poisson",
    system: Annotated[str | None, typer.Option(
        help="The kind of deployment measured: spanbench (the reference stack) or "
             "tasker-core (default: what DATABASE_URL's database is, else spanbench).")] = None,
    template: Annotated[list[str] | None, typer.Option(
        help="tasker-core: run SCENARIO on this template, as SCENARIO=namespace/name:version "
             "(e.g. tree_7=rust_e2e_tree/hierarchical_tree:1.0.0). Repeatable.")] = None,
    client_poll: Annotated[bool, typer.Option(
        "--client-poll",
        help="e2e_latency: also poll GET /v1/tasks/{uuid} every 50 ms during each workflow, as "
             "a plain client would, and record when it first saw the task final "
             "(e2e.poll_completion_ns). The polls load the API and database while they are "
             "measured.")] = False,
    write_to_deployment: Annotated[bool, typer.Option(
        "--write-to-deployment",
        help="Run step_enqueueing and worker_execution on a deployment this run did not "
             "start, although they write into its tables (tasks planted over SQL, steps "
             "moved back and restored). Never on a production database.")] = False,
) -> None:
    """Run the benchmark suites against a live stack and print per-phase percentiles."""
    console, errors = report_console(), Console(stderr=True)
    try:
        chosen = suites.resolve(suite or [])
        load = LoadProfile(concurrency, rate, arrival,
                           seed=random.randrange(2**32) if rate is not None else None)
        if load.active and e2e_latency.SUITE not in chosen:
            raise ValueError("--concurrency and --rate load e2e_latency only: name it, e.g. "
                             "'spanbench run e2e_latency --concurrency 8'")
        measured = system_choice.choose(
            system, template or (), settings.env(settings.DATABASE_URL),
            settings.env(settings.TASKER_TEST_ORCHESTRATION_URL))
    except ValueError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(EXIT_PREREQUISITE) from None
    try:  # a bad targets or phase map file or an unknown baseline stops it before any timing
        target_list = check_targets_file(targets)
        chosen_phase_map = read_phase_map(phase_map_file)
        if baseline:
            baseline_path(baseline)
        if save_baseline is not None:
            check_name(save_baseline, "baseline name")
    except (ReportError, ValueError) as error:
        errors.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_PREREQUISITE) from None
    home = spanbench_home()
    try:
        store = resolve_store(runs_dir)
    except RunsDirError as error:
        errors.print(f"error: --runs-dir: {error}", highlight=False, markup=False)
        raise typer.Exit(EXIT_PREREQUISITE) from None
    options = job.RunOptions(chosen, samples, warmup, quick, timeout, load, measured,
                             write_to_deployment, target_list, client_poll)
    console.print(measured.describe(), highlight=False, markup=False)
    for problem in measured.function_problems():
        console.print(f"[yellow]{escape(problem)}[/yellow]", highlight=False)
    for suite, scenarios in system_choice.scenarios_without_template(measured, chosen).items():
        console.print(f"[yellow]{suite}: no {measured.name} template for {', '.join(scenarios)}: "
                      "skipped (--template SCENARIO=namespace/name:version runs one)[/yellow]",
                      highlight=False)
    run_ids: list[str] = []
    codes: list[int] = []
    for index in range(repeat):
        if repeat > 1:
            console.print(f"repeat {index + 1} of {repeat}", highlight=False)
        code, run_id = _measure(
            console, errors, store=store, home=home, options=options, workers=workers,
            tee_otlp=tuple(tee_otlp or ()), targets=targets,
            baseline=baseline if index == repeat - 1 else None,
            chosen_phase_map=chosen_phase_map, output_dir=output_dir,
            earlier_runs=tuple(run_ids), confirm=confirm)
        run_ids.append(run_id)
        codes.append(code)
    if save_baseline:
        try:
            saved = keep_baseline(store, baselines_dir(), save_baseline, run_ids[0])
            if len(run_ids) > 1:
                saved = add_runs(store, baselines_dir(), save_baseline, run_ids[1:])
        except (ReportError, NoSpansError, ValueError, OSError) as error:
            errors.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(EXIT_PREREQUISITE) from None
        console.print(f"baseline {save_baseline!r} saved: {saved}"
                      + (f" ({len(run_ids)} runs)" if len(run_ids) > 1 else ""),
                      highlight=False)
    raise typer.Exit(max(codes))


def _measure(console: Console, errors: Console, *, store: RunStore, home: Path,
             options: job.RunOptions, workers: int, tee_otlp: tuple[str, ...],
             targets: Path | None, baseline: str | None, chosen_phase_map: PhaseMap | None,
             output_dir: Path, earlier_runs: Sequence[str], confirm: int = 0
             ) -> tuple[int, str]:
    """One run: deploy, measure, keep, report; its exit code and run id. `earlier_runs`: the
    repeats before it, judged with it against `baseline`; `confirm`: how many runs of the
    suites holding a regression against it to make before calling it (_confirm)."""
    measured, load, chosen, quick = options.system, options.load, options.suites, options.quick
    write_to_deployment = options.write_to_deployment

    run_id = new_run_id()
    started_at = datetime.now(UTC)
    outcome: job.RunOutcome | None = None
    checks: list[prerequisites.Check] = []
    kept = False
    try:
        with deploy(home, store, workers=workers, tee=tee_otlp) as deployment:
            checks = job.check(deployment, job.needs_of(chosen))
            missing = job.run_level_failures(checks)
            plan = [] if missing else job.plan(deployment, chosen, checks, measured,
                                               write_to_deployment=write_to_deployment)
            console.print(prerequisites.banner(checks, plan), highlight=False)
            if missing:
                errors.print(f"prerequisite missing: {missing[0].name}: {missing[0].fix}")
                raise typer.Exit(EXIT_PREREQUISITE)
            if not any(suite.runnable for suite in plan):
                errors.print("no suite asked for can run on this deployment: "
                             + "; ".join(f"{s.suite}: {s.reason}" for s in plan),
                             highlight=False, markup=False, soft_wrap=True)
                raise typer.Exit(EXIT_PREREQUISITE)
            export = job.export_note(deployment, plan)
            if export is not None:
                console.print(export, highlight=False, markup=False, soft_wrap=True)
            artifacts = store.artifacts_dir(run_id)
            store.write_record(run_id, job.metadata(run_id, deployment, options, started_at,
                                                    checks=checks))
            _print_sample_plan(console, [s.suite for s in plan if s.runnable], options)
            console.print(f"run {run_id}: {', '.join(chosen)}")
            with progress_bars(console) as bars:
                outcome = job.run_suites(deployment, run_id, options, RichProgress(bars),
                                         artifacts, plan)
            final = job.metadata(run_id, deployment, options, started_at, outcome, checks)
            store.write_record(run_id, final)
            note = job.deployment_spans_note(deployment, outcome,
                                             (final.sink or {}).get("status_at_end_of_suites", {}))
            if note is not None:
                console.print(note, highlight=False)
            kept = _keep_record(errors, store, run_id, deployment.database_url, measured.name,
                                started_at, chosen)
            console.print("flushing spans and stopping what the run started…")
        if deployment.stack_telemetry:  # known once the stack has stopped
            store.write_record(run_id, dataclasses.replace(
                final, stack_telemetry=deployment.stack_telemetry))
    except (DeploymentError, ClusterError, MigrationError, SupervisorError) as error:
        errors.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(EXIT_PREREQUISITE) from None
    except KeyboardInterrupt:
        errors.print("interrupted: what the run started has been stopped")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    assert outcome is not None
    if settings.env(settings.OTEL_EXPORTER_OTLP_ENDPOINT) is not None:
        _settle(console, store, outcome.run_id)
    if kept:
        _derive(console, errors, store, outcome.run_id)
    prerequisite_rows = [Prerequisite(c.name, c.ok, c.detail) for c in checks]
    try:
        report = collect(store, outcome.run_id, targets=targets, baseline=baseline,
                         prerequisites=prerequisite_rows, phase_map=chosen_phase_map,
                         earlier_runs=earlier_runs)
    except ReportError as error:
        _print_outcomes(console, outcome)
        console.print(f"no spans to summarise: {error}")
        raise typer.Exit(EXIT_INTERRUPTED if outcome.interrupted else EXIT_PREREQUISITE) \
            from None
    _print_run(console, store, outcome, report.stats)
    if load.active:
        _report_load(console, store, outcome.run_id)
    if outcome.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if baseline and confirm and not quick:
        report = _confirm(console, errors, report, confirm, store=store, home=home,
                          options=options, workers=workers, tee_otlp=tee_otlp, targets=targets,
                          baseline=baseline, chosen_phase_map=chosen_phase_map,
                          output_dir=output_dir, earlier_runs=earlier_runs)
    try:
        code = publish(console, errors, report, store=store, output_dir=output_dir,
                       gate=not quick)
    except (ReportError, NoSpansError, ValueError, OSError) as error:
        errors.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_PREREQUISITE) from None
    return exit_code(outcome, code), outcome.run_id


def _confirm(console: Console, errors: Console, report: ReportInput, count: int, *,
             store: RunStore, home: Path, options: job.RunOptions, workers: int,
             tee_otlp: tuple[str, ...], targets: Path | None, baseline: str,
             chosen_phase_map: PhaseMap | None, output_dir: Path,
             earlier_runs: Sequence[str]) -> ReportInput:
    """The report with its regressions confirmed: the suites holding one run `count` more
    times, each on a stack of its own, recorded in run.json's `confirmation`, and the
    comparison judged again with them (extract.analyse.confirmation). A confirmation that
    cannot run leaves the regressions standing."""
    suspects = confirmation.suspect_suites(report.comparisons)
    if not suspects:
        return report
    run_id = report.meta.run_id
    regressed = sum(row.status == REGRESSED for row in report.comparisons)
    confirming: list[str] = []
    for index in range(count):
        console.print(f"confirming {regressed} regression(s) against {baseline!r}: running "
                      f"{', '.join(suspects)} again ({index + 1} of {count})", highlight=False)
        try:
            _, again = _measure(
                console, errors, store=store, home=home,
                options=dataclasses.replace(options, suites=suspects), workers=workers,
                tee_otlp=tee_otlp, targets=targets, baseline=None,
                chosen_phase_map=chosen_phase_map, output_dir=output_dir, earlier_runs=())
        except typer.Exit as stopped:
            if stopped.exit_code == EXIT_INTERRUPTED:
                raise
            errors.print(f"the confirmation run stopped (exit {stopped.exit_code}): the "
                         "regressions stand unconfirmed", highlight=False)
            return report
        confirming.append(again)
    store.write_record(run_id, dataclasses.replace(
        store.record(run_id), confirmation=confirmation.record(baseline, confirming)))
    try:
        return dataclasses.replace(report, comparisons=judge_again(
            store, run_id, baseline, phase_map=chosen_phase_map, earlier_runs=earlier_runs))
    except ReportError as error:
        errors.print(f"judging the confirmation runs failed ({error}): the regressions stand "
                     "unconfirmed", highlight=False, markup=False, soft_wrap=True)
        return report


def _print_sample_plan(console: Console, runnable: list[str], options: job.RunOptions) -> None:
    """How many samples each suite takes and why; under --samples/--quick, what it cannot
    check."""
    if options.samples is None and not options.quick:
        for line in sample_plan.describe(runnable, options.targets):
            console.print(line, highlight=False, markup=False, soft_wrap=True)
        return
    flag = "--quick" if options.quick else f"--samples {options.samples}"
    unchecked = sample_plan.unchecked(runnable, options.targets, options.samples, options.quick)
    if unchecked:
        console.print(f"[yellow]{flag}: too few samples for these targets, which will show "
                      f"NO DATA: {escape(', '.join(unchecked))}[/yellow]", highlight=False,
                      soft_wrap=True)


def exit_code(outcome: job.RunOutcome, report_code: int) -> int:
    """The run's exit code from what became of its suites and the reports' verdict."""
    if not outcome.ran():
        return EXIT_PREREQUISITE
    if outcome.failed():
        return max(report_code, EXIT_FAILED)
    return report_code


def _print_outcomes(console: Console, outcome: job.RunOutcome) -> None:
    """One line per suite that was skipped or failed, with why."""
    for suite, record in outcome.suites.items():
        if record.status == SUITE_FAILED:
            console.print(f"❌ {suite} failed: {record.reason}", highlight=False, markup=False)
        elif record.status == SUITE_SKIPPED:
            console.print(f"⚠️  {suite} skipped: {record.reason}", highlight=False,
                          markup=False)


def _keep_record(errors: Console, store: RunStore, run_id: str, database_url: str | None,
                 system: str, started_at: datetime, chosen: Sequence[str]) -> bool:
    """Keep the deployment's record of the run's tasks (runs of a suite whose tasks get derived
    spans, with a database); a failure is reported and never fails the run."""
    if not database_url or not set(derivation.DERIVING_SUITES) & set(chosen):
        return False
    try:
        derivation.keep_record(store, run_id, database_url, system, started_at)
    except Exception as error:  # deriving is an addition: the measurements stand without it
        errors.print(f"derived spans: reading the deployment's record failed: {error}",
                     highlight=False, markup=False, soft_wrap=True)
        return False
    return True


def _derive(console: Console, errors: Console, store: RunStore, run_id: str) -> None:
    try:
        console.print(derivation.describe(derivation.derive_kept(store, run_id)),
                      highlight=False)
    except Exception as error:  # deriving is an addition: the measurements stand without it
        errors.print(f"derived spans: deriving failed: {error}", highlight=False, markup=False,
                     soft_wrap=True)


def _settle(console: Console, runs: RunStore, run_id: str) -> None:
    """Wait until the external sink has written the run's last spans."""
    try:
        quiet_s = settings.number(settings.SETTLE_S)
    except settings.SettingsError as error:
        console.print(f"{error}; using {settle.DEFAULT_QUIET_S}")
        quiet_s = settle.DEFAULT_QUIET_S
    console.print(f"waiting for the external sink to write the last spans to {runs}/{run_id} "
                  f"(until nothing arrives for {quiet_s:g} s)…", highlight=False)
    count, settled = settle.wait_until_quiet(lambda: settle.span_count(runs, run_id), quiet_s)
    if not settled:
        console.print(f"[yellow]spans still arriving after {settle.DEFAULT_TIMEOUT_S:g} s; "
                      f"reporting the {count} written so far[/yellow]")


def _print_run(console: Console, runs_dir: RunStore, outcome: job.RunOutcome,
               stats: Sequence[PhaseStats]) -> None:
    for table in summary_tables(stats):
        console.print(table)
    _print_outcomes(console, outcome)
    comparison = job.worker_comparison(runs_dir, outcome.run_id, stats)
    if comparison and any(row["stack_n"] for row in comparison):
        console.print(worker_table(comparison))
    failed = {suite: f for suite, f in outcome.failures.items() if f}
    for suite, failures in failed.items():
        console.print(f"[yellow]{suite}: {len(failures)} failed iteration(s); first: "
                      f"{failures[0].scenario}#{failures[0].index}: {failures[0].error}[/yellow]")
    telemetry = outcome.telemetry
    if telemetry:
        undelivered = telemetry["spans_emitted"] - telemetry["spans_acknowledged"]
        console.print(f"driver spans: {telemetry['spans_emitted']} emitted, "
                      f"{telemetry['spans_acknowledged']} acknowledged by the sink"
                      + (f", [yellow]{undelivered} not delivered[/yellow]" if undelivered else ""))
    console.print(f"spans: {runs_dir}/{outcome.run_id} — open them with "
                  f"'spanbench extract {outcome.run_id}'")


def throughput_table(rows: list[dict[str, Any]]) -> Table:
    """e2e workflows completed per second over each scenario's measured window."""
    table = Table(title="e2e_latency throughput (warm-up excluded)", title_justify="left")
    table.add_column("scenario", no_wrap=True)
    for column in ("completed", "errors", "window", "workflows/s", "late starts",
                   "max lag"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        lag, per_s = row["max_start_lag_ns"], row["throughput_per_s"]
        table.add_row(row["scenario"], str(row["completed"]), str(row["errors"]),
                      format_ns(row["window_ns"]),
                      "—" if per_s is None or not math.isfinite(per_s) else f"{per_s:.2f}",
                      "—" if lag is None else str(row["late_starts"]),
                      "—" if lag is None else format_ns(lag))
    return table


def _report_load(console: Console, store: RunStore, run_id: str) -> None:
    """Print the load run's throughput and keep it in run.json as `throughput`."""
    rows = job.throughput(store, run_id)
    console.print(throughput_table(rows))
    store.write_record(run_id, dataclasses.replace(store.record(run_id), throughput=rows))
