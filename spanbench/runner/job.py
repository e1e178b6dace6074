"""The main job's steps, each returning data: check prerequisites, run the suites, summarise.

The CLI (`spanbench run`) strings them together and decides what is printed.
"""

from __future__ import annotations

import dataclasses
import logging
import traceback
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from opentelemetry.sdk.trace import TracerProvider

import queries
from extract.analyse.analysis import PhaseStats, Target
from extract.analyse.duckdb_runner import open_runs
from extract.store.run_json import (
    SUITE_FAILED,
    SUITE_RAN,
    SUITE_SKIPPED,
    DeploymentRecord,
    PrerequisiteRecord,
    RunConfig,
    RunRecord,
    SuiteRecord,
)
from extract.store.runstore import RunStore
from instrument import settings as tracing_settings
from instrument.delivery import ExportCounts
from instrument.drivers import e2e_latency, worker_execution
from instrument.drivers.base import (
    DriverContext,
    IterationFailure,
    Need,
    Progress,
    RunSettings,
)
from instrument.recorder import PhaseRecorder
from instrument.settings import orchestration_auth_headers
from instrument.systems.base import Endpoints, System
from instrument.systems.completion import completion_method
from instrument.tracing import setup_tracing, shutdown_tracing
from instrument.workload.load import LATE_START_NS, LoadProfile
from spanbench import settings
from spanbench.runner import (
    deployment_export,
    machine_load,
    prerequisites,
    readiness,
    runinfo,
    sample_plan,
    scratch,
    speed_probe,
    suites,
    system_choice,
)
from spanbench.runner.deployment import Deployment
from spanbench.runner.prerequisites import Check, SuiteReadiness
from spanbench.runner.suites import DRIVERS, FOREIGN_HANDLER_COMMAND, stack_handlers
from spanbench.runner.system_choice import SystemChoice
from spanbench.vocabulary import Attr, Phase, Source

SERVICE_NAME = "spanbench-driver"
FAILURE_FILE = "failure.txt"
"""A failed suite's traceback, in its artifacts directory."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    suites: Sequence[str]
    samples: int | None = None
    warmup: int | None = None
    quick: bool = False
    iteration_timeout_s: float = 30.0
    load: LoadProfile = field(default_factory=LoadProfile)
    """e2e_latency's workflows in flight (--concurrency, --rate); other suites ignore it."""
    system: SystemChoice = field(default_factory=SystemChoice)
    """The adapter the deployment is measured through (--system, --template)."""
    write_to_deployment: bool = False
    """--write-to-deployment: run the suites that write into the deployment's own tables
    (`WRITES_DEPLOYMENT`) on a deployment the run did not start."""
    targets: Sequence[Target] = ()
    """The targets checked after the run: a scenario takes the samples their percentiles need
    (spanbench.runner.sample_plan)."""
    client_poll: bool = False
    """--client-poll: e2e_latency also polls each workflow through the API (RunSettings)."""


@dataclass
class RunOutcome:
    run_id: str
    results: dict[str, Any] = field(default_factory=dict)
    """What each suite's driver returned (e2e_latency: the tracing tax)."""
    failures: dict[str, list[IterationFailure]] = field(default_factory=dict)
    interrupted: bool = False
    telemetry: dict[str, Any] = field(default_factory=dict)
    """The drivers' own span count beside what their exporter delivered, retried, dropped."""
    suites: dict[str, SuiteRecord] = field(default_factory=dict)
    """What became of each suite asked for: ran, skipped or failed, and why."""

    def ran(self) -> list[str]:
        return [suite for suite, record in self.suites.items() if record.status == SUITE_RAN]

    def failed(self) -> list[str]:
        return [suite for suite, record in self.suites.items() if record.status == SUITE_FAILED]


def needs_of(chosen: Sequence[str]) -> frozenset[Need]:
    """Every part of the deployment the chosen suites use."""
    return frozenset(need for suite in chosen for need in DRIVERS[suite].NEEDS)


def check(deployment: Deployment, needed: Collection[Need] = frozenset(Need)) -> list[Check]:
    """Every prerequisite of the run, before any timing starts: each part of the deployment
    the run names, and each part `needed` it does not name (⚠️: its suites are skipped)."""
    checks: list[Check] = []
    if deployment.database_url is not None:
        checks.append(prerequisites.database(deployment.database_url))
        if checks[-1].ok:
            checks.append(prerequisites.pgmq(deployment.database_url))
    elif Need.DATABASE in needed:
        checks.append(prerequisites.not_named("Database reachable", Need.DATABASE,
                                              settings.DATABASE_URL))
    if deployment.orchestration_url is None and Need.ORCHESTRATION in needed:
        checks.append(prerequisites.not_named("Orchestration healthy", Need.ORCHESTRATION,
                                              settings.TASKER_TEST_ORCHESTRATION_URL))
    if (deployment.orchestration_url is None and not deployment.worker_urls
            and Need.WORKERS in needed):
        checks.append(prerequisites.not_named("Workers healthy", Need.WORKERS,
                                              settings.TASKER_TEST_WORKER_URL))
    if not settings.flag(settings.TASKER_TEST_SKIP_HEALTH_CHECK):
        if deployment.orchestration_url:
            checks.append(prerequisites.service("Orchestration", deployment.orchestration_url,
                                                Need.ORCHESTRATION))
        for index, url in enumerate(deployment.worker_urls, start=1):
            checks.append(prerequisites.service(f"Worker {index}", url, Need.WORKERS))
    checks.append(prerequisites.sink(deployment.otlp_endpoint, deployment.otlp_headers))
    return checks


def run_level_failures(checks: Sequence[Check]) -> list[Check]:
    """Failed checks of the run itself (its sink): no suite can run without them."""
    return [check for check in checks if check.need is None and not check.ok]


def plan(deployment: Deployment, chosen: Sequence[str], checks: Sequence[Check],
         choice: SystemChoice | None = None, *,
         write_to_deployment: bool = False) -> list[SuiteReadiness]:
    """Which chosen suites can run on this deployment, and why the others cannot."""
    system = measured_system(deployment, choice)
    assessed = readiness.assess(
        {suite: DRIVERS[suite].NEEDS for suite in chosen}, checks,
        lambda suite: cannot_run(suite, deployment, system, write_to_deployment))
    if not any(suite.runnable and suites.reports_stack_phases(suite.suite)
               for suite in assessed):
        return assessed
    caveat = stack_phase_caveat(deployment)
    if caveat is None:
        return assessed
    why, fix = caveat
    return [dataclasses.replace(suite, caveat=why, fix=fix)
            if suite.runnable and suites.reports_stack_phases(suite.suite) else suite
            for suite in assessed]


def stack_phase_caveat(deployment: Deployment) -> tuple[str, str] | None:
    """Why the deployment's own spans may not reach the run's sink, and what to do; None when
    they do: spanbench's stack started by this run exports there, or the sink already holds
    spans of a service other than the drivers'."""
    if deployment.started_stack:
        return None
    status = sink_status(deployment.otlp_endpoint)
    if deployment_services(status):
        return None
    why = ("its stack phases come from the deployment's own spans, and none has reached the "
           "run's sink (spanbench did not start this deployment; the run says after the suites "
           "whether any arrived)")
    if deployment.started_sink:
        return why, ("the run's own sink takes spans only from what the run starts: "
                     + deployment_export.collect_recipe())
    export = deployment_export.sink_export(deployment, status)
    return why, f"export the deployment's spans to {export.endpoint} ({export.variables()})"


def export_note(deployment: Deployment, plan: Sequence[SuiteReadiness]) -> str | None:
    """Before the suites: the OTEL_EXPORTER_OTLP_* settings that bring the deployment's own
    spans to the run's sink (`deployment_export.note`); None when the run started the stack or
    no suite that will run reports the deployment's stack phases."""
    if deployment.started_stack or not any(
            suite.runnable and suites.reports_stack_phases(suite.suite) for suite in plan):
        return None
    return deployment_export.note(deployment, sink_status(deployment.otlp_endpoint))


def deployment_spans_note(deployment: Deployment, outcome: RunOutcome,
                          status: Mapping[str, Any]) -> str | None:
    """After the suites, for a deployment spanbench did not start: how many of its own spans
    reached the sink (`status`: the sink's /status), which the stack phases of the suites that
    ran depend on; None when no such suite ran or the run started the stack itself."""
    ran = [suite for suite in outcome.ran() if suites.reports_stack_phases(suite)]
    if not ran or deployment.started_stack:
        return None
    if "error" in status:
        return f"deployment spans at the sink: not known ({status['error']})"
    services = deployment_services(status)
    if services:
        return "deployment spans at the sink: " + ", ".join(
            f"{name or '(no service.name)'} {count}" for name, count in sorted(services.items()))
    return (f"⚠️  no span of the deployment reached the sink: the stack phases of "
            f"{', '.join(ran)} are missing from the breakdowns")


def deployment_services(status: Mapping[str, Any]) -> dict[str, int]:
    """Spans per exporting service in a sink's /status, the drivers' own left out."""
    services = status.get("services")
    if not isinstance(services, dict):
        return {}
    drivers = tracing_settings.service_name(SERVICE_NAME)
    return {str(name): int(count) for name, count in services.items() if name != drivers}


WRITES_REASON = ("writes into the deployment's own tables ({what}), and this run did not start "
                 "the deployment")
WRITES_FIX = ("measure spanbench's own stack (name no deployment), or pass --write-to-deployment "
              "if writing there is acceptable (never on a production database)")


def cannot_run(suite: str, deployment: Deployment, system: System,
               write_to_deployment: bool = False) -> str | None:
    """Why `suite` cannot run here: the driver's own `unsupported(system)`; else, for a suite
    that writes into the deployment's own tables, that the run did not start the deployment
    (unless `write_to_deployment`); else, for a suite that runs in the scratch copy, why no copy
    can be made. None: it can run."""
    reason = suites.unsupported(suite, system)
    writes = suites.writes_deployment(suite)
    if reason is None and writes and not (deployment.started_stack or write_to_deployment):
        reason = f"{WRITES_REASON.format(what=writes)}: {WRITES_FIX}"
    if reason is None and in_scratch(suite) and deployment.database_url:
        try:
            reason = scratch.unavailable(deployment.database_url)
        except psycopg.Error as error:  # unchecked database (a run without a plan)
            reason = f"needs a scratch database, and the database did not answer: {error}"
    return reason


def in_scratch(suite: str) -> bool:
    """Whether the suite's driver writes into its database (datasets, a queue and its
    notifications), so runs in the run's scratch copy of the deployment's (its `IN_SCRATCH`),
    never in the deployment's own."""
    return bool(getattr(DRIVERS[suite], "IN_SCRATCH", False))


def measured_system(deployment: Deployment, choice: SystemChoice | None = None) -> System:
    """The drivers' system; a part the run does not name has an empty address (no suite that
    needs it runs)."""
    return driver_system(dataclasses.replace(
        deployment, orchestration_url=deployment.orchestration_url or "",
        database_url=deployment.database_url or ""), choice)


def not_run(readiness_of: Sequence[SuiteReadiness]) -> dict[str, SuiteRecord]:
    """The outcome of each suite that cannot run: skipped, or failed when a need is broken."""
    return {suite.suite: SuiteRecord(SUITE_FAILED if suite.broken else SUITE_SKIPPED,
                                     suite.reason)
            for suite in readiness_of if not suite.runnable}


def metadata(run_id: str, deployment: Deployment, options: RunOptions,
             started_at: datetime, outcome: RunOutcome | None = None,
             checks: Sequence[Check] = ()) -> RunRecord:
    """What run.json records."""
    record = RunRecord(
        run_id=run_id,
        started_at=started_at,
        commit=runinfo.git_commit(),
        host=runinfo.host(),
        config=RunConfig(system=options.system.name,
                         templates=system_choice.template_map(options.system),
                         completion=completion_method(
                             measured_system(deployment, options.system),
                             RunSettings.poll_interval_s).describe(),
                         suites=tuple(options.suites),
                         samples=options.samples,
                         warmup=options.warmup, quick=options.quick,
                         iteration_timeout_s=options.iteration_timeout_s,
                         load=options.load.describe()),
        deployment=DeploymentRecord(orchestration_url=deployment.orchestration_url,
                                    worker_urls=tuple(deployment.worker_urls),
                                    otlp_endpoint=deployment.otlp_endpoint,
                                    started_by_run=tuple(deployment.started)),
        prerequisites=tuple(PrerequisiteRecord(c.name, c.ok, c.detail, c.fix) for c in checks),
    )
    if deployment.database_url:
        try:
            database = runinfo.database_versions(deployment.database_url)
        except Exception as error:  # metadata must never fail a run
            database = {"error": str(error)}
        record = dataclasses.replace(record, database=database)
    if outcome is not None:
        record = dataclasses.replace(
            record, finished_at=datetime.now(UTC), interrupted=outcome.interrupted,
            failures={suite: [f.__dict__ for f in failures]
                      for suite, failures in outcome.failures.items() if failures},
            suites={suite: outcome.suites[suite] for suite in options.suites
                    if suite in outcome.suites},
            telemetry=outcome.telemetry,
            sink={"restarts": deployment.sink_restarts,
                  "status_at_end_of_suites": sink_status(deployment.otlp_endpoint)})
    return record


def sink_status(endpoint: str) -> dict[str, Any]:
    """The sink's GET /status counters (spanbench's sink only), or the reason there are none."""
    try:
        response = httpx.get(f"{endpoint.rstrip('/')}/status", timeout=5)
        response.raise_for_status()
        return dict(response.json())
    except (httpx.HTTPError, ValueError) as error:
        return {"error": str(error)}


def driver_tracing(deployment: Deployment, *, counts: ExportCounts | None = None,
                   instance_id: str | None = None) -> TracerProvider | None:
    """The drivers' tracer provider, exporting to the deployment's endpoint with its headers."""
    return setup_tracing(SERVICE_NAME, endpoint=deployment.otlp_endpoint, counts=counts,
                         instance_id=instance_id, headers=deployment.otlp_headers)


def driver_system(deployment: Deployment, choice: SystemChoice | None = None) -> System:
    """What the drivers measure: the deployment's orchestration, database and workers, through
    the chosen system's adapter (default: spanbench's reference stack)."""
    assert deployment.orchestration_url is not None and deployment.database_url is not None
    return system_choice.adapter(choice or SystemChoice(), Endpoints(
        deployment.orchestration_url, deployment.database_url, deployment.worker_urls,
        orchestration_auth_headers()))


def run_suites(deployment: Deployment, run_id: str, options: RunOptions,
               progress: Progress, artifacts_dir: Path,
               readiness_of: Sequence[SuiteReadiness] = ()) -> RunOutcome:
    """Run each runnable suite's driver; spans go to the deployment's OTLP endpoint.

    `readiness_of`: the plan; a suite it says cannot run is recorded skipped or failed and not
    started. A suite it does not cover is asked `cannot_run` first, as `plan()` asks it, and
    skipped with its reason. A driver that raises fails its suite alone:
    the error's first line is its outcome's reason, and the next suite runs.
    Ctrl-C ends the run early: what was measured is flushed and the outcome says interrupted.
    """
    system = measured_system(deployment, options.system)
    skipped = not_run(readiness_of) | unplanned_skips(deployment, system, options.suites,
                                                       readiness_of, options.write_to_deployment)
    counts = ExportCounts()
    instance_id = uuid.uuid4().hex
    provider = driver_tracing(deployment, counts=counts, instance_id=instance_id)
    handlers = stack_handlers()
    run_settings = RunSettings(run_id=run_id, samples=options.samples, warmup=options.warmup,
                               quick=options.quick,
                               iteration_timeout_s=options.iteration_timeout_s,
                               load=options.load, planned=sample_plan.planned(options.targets),
                               client_poll=options.client_poll)
    outcome = RunOutcome(run_id)
    emitted = 0
    scratch_suites = [suite for suite in options.suites
                      if in_scratch(suite) and suite not in skipped]
    scratch_copy = scratch.ScratchOnDemand(deployment.database_url or "", run_id)
    fault_delays = {suite: tracing_settings.fault_delays(suite) for suite in options.suites}
    try:
        for suite in options.suites:
            if suite in skipped:
                outcome.suites[suite] = skipped[suite]
                continue
            ctx = DriverContext(suite, run_settings, system, PhaseRecorder(
                                    provider, base_attributes={Attr.SOURCE: Source.DRIVER},
                                    delays=fault_delays[suite]),
                                progress=progress, artifacts_dir=artifacts_dir,
                                handlers=handlers, foreign_command=FOREIGN_HANDLER_COMMAND,
                                writes_allowed=(deployment.started_stack
                                                or options.write_to_deployment),
                                scratch_database=scratch_copy.url if deployment.database_url
                                else None)
            outcome.suites[suite] = SuiteRecord(SUITE_FAILED, "interrupted")
            measures = suites.subject(DRIVERS[suite], system)
            probe = speed_probe.start(artifacts_dir)
            watch = machine_load.start_watch(deployment.system_processes)
            try:
                if suite in scratch_suites:  # it writes in a copy, never in the deployment
                    ctx.system = _scratch_system(scratch_copy, deployment, options)
                    ctx.database_is_scratch = True
                outcome.results[suite] = DRIVERS[suite].run(ctx)
                machine = machine_load.reading_since(watch)
                outcome.suites[suite] = SuiteRecord(
                    SUITE_RAN, measures=measures, machine=machine.shares, probe=probe.stop(),
                    cpu_takers=[dataclasses.asdict(taker) for taker in machine.takers] or None)
            except Exception as error:
                outcome.suites[suite] = SuiteRecord(SUITE_FAILED, first_line(error),
                                                    measures=measures)
                keep_traceback(ctx, error)
            finally:
                probe.stop()
                ctx.recorder.flush()
                emitted += ctx.recorder.spans_emitted
                outcome.failures[suite] = ctx.failures
                if scratch_suites and suite == scratch_suites[-1]:
                    scratch_copy.close()
    except KeyboardInterrupt:
        outcome.interrupted = True
        for suite in options.suites:
            outcome.suites.setdefault(suite, SuiteRecord(SUITE_SKIPPED, "not reached: the run "
                                                                        "was interrupted"))
    finally:
        scratch_copy.close()
        flushed = provider is None or shutdown_tracing(provider, timeout_s=30)
        outcome.telemetry = {"service_name": tracing_settings.service_name(SERVICE_NAME),
                             "instance_id": instance_id, "spans_emitted": emitted,
                             **counts.as_dict(), "flushed_in_time": flushed}
    return outcome


def unplanned_skips(deployment: Deployment, system: System, chosen: Sequence[str],
                    readiness_of: Sequence[SuiteReadiness],
                    write_to_deployment: bool = False) -> dict[str, SuiteRecord]:
    """The suites of `chosen` the plan does not cover that cannot run, skipped with why."""
    planned = {suite.suite for suite in readiness_of}
    reasons = {suite: cannot_run(suite, deployment, system, write_to_deployment)
               for suite in chosen if suite not in planned}
    return {suite: SuiteRecord(SUITE_SKIPPED, reason)
            for suite, reason in reasons.items() if reason is not None}


def _scratch_system(copy: scratch.ScratchOnDemand, deployment: Deployment,
                    options: RunOptions) -> System:
    """The system of a suite that runs in the scratch copy: the deployment with its database
    replaced by the run's copy of it."""
    return measured_system(dataclasses.replace(deployment, database_url=copy.url()),
                           options.system)


def keep_traceback(ctx: DriverContext, error: Exception) -> None:
    """A failed suite's traceback, in its artifacts (`<suite>/failure.txt`) and the log."""
    text = "".join(traceback.format_exception(error))
    log.debug("suite %s failed:\n%s", ctx.suite, text)
    path = ctx.artifact_path(FAILURE_FILE)
    if path is not None:
        path.write_text(text, encoding="utf-8")


def first_line(error: BaseException) -> str:
    """`Type: the message's first line`: what a failed suite reports."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def query(runs_dir: RunStore, run_id: str, name: str,
          **parameters: Any) -> list[dict[str, Any]]:
    """Run a query of queries/ over one run's spans; rows as dicts."""
    connection = open_runs(runs_dir, [run_id])
    try:
        cursor = connection.execute(queries.load()[name].sql, {"run_id": run_id, **parameters})
        columns = [description[0] for description in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


WORKER_CYCLE_PHASES = frozenset({Phase.CLAIM, Phase.EXECUTE, Phase.SUBMIT, Phase.WORKER_TOTAL})
"""The worker phases both the driver's cycle and the stack's own workers have (worker_phases)."""


def worker_comparison(runs_dir: RunStore, run_id: str,
                      stats: Sequence[PhaseStats]) -> list[dict[str, Any]]:
    """The worker phases as the worker_execution driver measured them beside the same phases as
    the stack's own workers emitted them during e2e_latency: per handler and phase, both p50s
    (ns)."""
    stack = {(row["handler"], row["phase"]): row
             for row in query(runs_dir, run_id, "worker_phases", suite=e2e_latency.SUITE)}
    rows = []
    for row in stats:
        if row.suite != worker_execution.SUITE or row.phase not in WORKER_CYCLE_PHASES:
            continue
        handler = worker_execution.HANDLER_OF_SCENARIO.get(row.scenario, row.scenario)
        seen = stack.get((handler, row.phase))
        rows.append({"handler": handler, "phase": row.phase, "driver_n": row.n,
                     "driver_p50_ns": row.p50_ns if row.n else None,
                     "stack_n": seen["n"] if seen else 0,
                     "stack_p50_ns": seen["p50_ns"] if seen else None})
    return rows


def throughput(runs_dir: RunStore, run_id: str) -> list[dict[str, Any]]:
    """Per e2e scenario (load levels apart): completed workflows/s over the measured window,
    and the open loop's late starts (queries/e2e_throughput.sql)."""
    return query(runs_dir, run_id, "e2e_throughput", late_ns=LATE_START_NS)
