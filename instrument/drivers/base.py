"""What every suite driver shares: iterations with warm-up, bench attributes, a per-iteration
deadline that costs one error span instead of the run, and progress reporting.

A driver is a module satisfying `Driver`: `SUITE` (its suite name, from the vocabulary),
`SCENARIOS` (its scenarios, in order), `SAMPLES` and `WARMUP` (its defaults per scenario; a
target may raise a scenario's samples: `DriverContext.samples`; `SAMPLES_PER_CHECKED` says how
many samples it takes per one its targets see), `NEEDS` (what of the deployment it uses:
`Need`s; the runner skips a suite whose needs the run does not name) and `run(ctx:
DriverContext)`. It may also define `unsupported(system) -> str | None`: why this system cannot
run it, checked before any timing (None: it can), and `SUBJECT`: scenario → what it measures,
for a driver that times spanbench's own code rather than the deployment (every report shows it),
or `subject_on(system)` when that depends on the system measured; `STACK_PHASES = True` says its
reports include phases from the deployment's own spans, which must reach the run's sink (the
prerequisites say whether they can); `WRITES_DEPLOYMENT` says what it writes into the
deployment's own tables (the runner runs it only on a deployment the run started, or when asked
to; a driver that can also measure without writing reads `ctx.writes_allowed` instead). It
reaches the deployment only through `ctx.system` (instrument.systems), times phases only with
`ctx.recorder` and parents its root phases on `ctx.parent(iteration)`, so every span carries the
run's bench.* values; it wraps each iteration in `ctx.guard(iteration)` so one failure costs one
iteration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from opentelemetry.context import Context

from instrument.propagation import context_with_baggage, unsampled_context
from instrument.recorder import AttrValue, PhaseRecorder
from instrument.systems.base import System
from instrument.workload.fault_pause import PausePoints
from instrument.workload.handler_framework import HandlerFramework
from instrument.workload.load import LoadProfile
from instrument.workload.tasker_client import TaskerClient
from spanbench.vocabulary import Attr, with_dataset_size

QUICK_SAMPLES = 3
QUICK_WARMUP = 1


def planned_samples(planned: Mapping[tuple[str, str | None], int], suite: str,
                    scenario: str | None, default: int) -> int:
    """A scenario's samples in a default run: `default`, raised to what `planned` (see
    RunSettings.planned) asks of the whole suite or of that scenario."""
    return max(default, planned.get((suite, None), 0),
               planned.get((suite, scenario), 0) if scenario is not None else 0)


class Need(StrEnum):
    """A part of the deployment a suite uses; the runner runs it only when the run has it."""

    DATABASE = "database"
    """The deployment's database (DATABASE_URL)."""
    ORCHESTRATION = "orchestration"
    """Its orchestration API (TASKER_TEST_ORCHESTRATION_URL)."""
    WORKERS = "workers"
    """Workers that run the tasks the orchestration publishes (they come with it; checked
    through TASKER_TEST_WORKER_URL when set)."""


@dataclass(frozen=True)
class RunSettings:
    """How much to measure. None means the suite's own default (the seed's sample sizes)."""

    run_id: str
    samples: int | None = None
    warmup: int | None = None
    quick: bool = False
    """A smoke run: QUICK_SAMPLES samples, QUICK_WARMUP warm-up, the smallest datasets."""
    iteration_timeout_s: float = 30.0
    poll_interval_s: float = 0.05
    """How often completion is polled through GET /v1/tasks/{uuid} (a system without a
    completion NOTIFY, and --client-poll)."""
    client_poll: bool = False
    """e2e_latency also polls each workflow as a plain client would (e2e.poll_completion_ns):
    off by default, as the polls load the API and database during the measured window and
    keep each iteration up to an interval past its completion."""
    load: LoadProfile = field(default_factory=LoadProfile)
    """How many e2e workflows are in flight at once (default: one)."""
    planned: Mapping[tuple[str, str | None], int] = field(default_factory=dict)
    """(suite, scenario) → samples its targets need beyond the driver's default (scenario
    None: every scenario of the suite); spanbench.runner.sample_plan fills it. Ignored under
    --samples and --quick."""


@dataclass(frozen=True)
class Iteration:
    scenario: str
    index: int
    warmup: bool


class Progress(Protocol):
    """Where drivers report progress; the CLI draws it. A line is named by what it measures,
    as the statistics name it: the scenario with its dataset size (`get_next_ready_tasks+5000`)
    or its load level (`linear_3@c8`)."""

    def plan(self, suite: str, total: int) -> None:
        """The suite's iterations over all its lines, when its driver knows them up front."""
        ...

    def start(self, suite: str, line: str, total: int) -> None: ...

    def advance(self, suite: str, line: str) -> None: ...


class NoProgress:
    def plan(self, suite: str, total: int) -> None:
        pass

    def start(self, suite: str, line: str, total: int) -> None:
        pass

    def advance(self, suite: str, line: str) -> None:
        pass


class IterationTimeout(TimeoutError):
    """An iteration ran past its deadline."""


@dataclass
class Deadline:
    """The time an iteration may still take."""

    expires_at: float

    def remaining(self) -> float:
        """Seconds left; raises IterationTimeout when none are."""
        left = self.expires_at - time.monotonic()
        if left <= 0:
            raise IterationTimeout("the iteration ran past its deadline")
        return left


@dataclass
class IterationFailure:
    scenario: str
    index: int
    error: str


@dataclass
class DriverContext:
    """One suite's view of the run."""

    suite: str
    settings: RunSettings
    system: System
    """The deployment measured, through its adapter."""
    recorder: PhaseRecorder
    progress: Progress = field(default_factory=NoProgress)
    artifacts_dir: Path | None = None
    """The run's directory for outputs that are not spans (EXPLAIN plans...); None: keep none."""
    failures: list[IterationFailure] = field(default_factory=list)
    pauses: PausePoints | None = field(default_factory=PausePoints.from_env)
    """Test-only pause points (SPANBENCH_FAULT_PAUSE_AT); None in every real run."""
    handlers: HandlerFramework | None = None
    """The handler framework handler_overhead and worker_execution call (the runner passes
    the stack's)."""
    foreign_command: tuple[str, ...] = ()
    """The command of a handler process speaking JSON lines (handler_overhead's foreign path)."""
    writes_allowed: bool = False
    """Whether the run may write into the deployment's own tables (it started the deployment,
    or was told --write-to-deployment): a driver with a writing path takes it only then."""
    database_is_scratch: bool = False
    """Whether `system`'s database is the run's scratch copy, dropped after its last suite:
    what a driver writes there needs no cleaning up, and nothing else reads it."""
    scratch_database: Callable[[], str] | None = None
    """The URL of the run's scratch copy of the deployment's database, made on the first call
    and dropped by the runner (handler_overhead's tasker_py); None: the run has no database."""

    def handler_framework(self) -> HandlerFramework:
        """The context's handler framework; ValueError when it was given none."""
        if self.handlers is None:
            raise ValueError(f"{self.suite} needs a handler framework on its DriverContext")
        return self.handlers

    def tasker_client(self) -> TaskerClient:
        """A client of the system's orchestration API, with its credentials."""
        endpoints = self.system.endpoints
        return TaskerClient(endpoints.orchestration_url,
                            timeout_s=self.settings.iteration_timeout_s,
                            headers=dict(endpoints.auth_headers))

    def artifact_path(self, name: str) -> Path | None:
        """Where to store an artifact of this suite: <artifacts_dir>/<suite>/<name>."""
        if self.artifacts_dir is None:
            return None
        path = self.artifacts_dir / self.suite / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def samples(self, default: int, scenario: str | None = None) -> int:
        """A scenario's measured samples: --quick's, --samples', else the suite's `default`
        raised to what the targets on the scenario need (`RunSettings.planned`)."""
        if self.settings.quick:
            return QUICK_SAMPLES
        if self.settings.samples is not None:
            return self.settings.samples
        return planned_samples(self.settings.planned, self.suite, scenario, default)

    def warmup(self, default: int) -> int:
        if self.settings.quick:
            return QUICK_WARMUP
        return default if self.settings.warmup is None else self.settings.warmup

    def plan(self, scenarios: Iterable[str], samples: int, warmup: int, repeat: int = 1) -> None:
        """Announce the suite's whole work before its first line: one line per scenario (each
        `repeat` times: sql_functions' dataset sizes), each of `samples` and `warmup` as
        `iterations` counts them, so the progress display can estimate the time left."""
        per_round = sum(self.warmup(warmup) + self.samples(samples, scenario)
                        for scenario in scenarios)
        self.progress.plan(self.suite, repeat * per_round)

    def iterations(self, scenario: str, samples: int, warmup: int,
                   dataset_size: int | None = None) -> Iterator[Iteration]:
        """Warm-up iterations first (bench.warmup true), then the samples; reports progress
        on a line named by the scenario and its `dataset_size`, when it has one.

        `samples` and `warmup` are the suite's defaults; --samples, --warmup and --quick
        override them. Spans are flushed after each iteration, outside any timed region.
        """
        n_warmup, n_samples = self.warmup(warmup), self.samples(samples, scenario)
        line = scenario if dataset_size is None else with_dataset_size(scenario, dataset_size)
        self.progress.start(self.suite, line, n_warmup + n_samples)
        for index in range(n_warmup + n_samples):
            if self.pauses is not None:
                self.pauses.before(self.suite, scenario, index)
            yield Iteration(scenario, index, warmup=index < n_warmup)
            self.recorder.flush()
            self.progress.advance(self.suite, line)

    def attributes(self, iteration: Iteration) -> dict[str, AttrValue]:
        """The bench.* attributes of an iteration's spans."""
        return {
            Attr.RUN_ID: self.settings.run_id,
            Attr.SUITE: self.suite,
            Attr.SCENARIO: iteration.scenario,
            Attr.ITERATION: iteration.index,
            Attr.WARMUP: iteration.warmup,
        }

    def parent(self, iteration: Iteration, sampled: bool = True) -> Context:
        """The parent of an iteration's root phase: its bench.* values as W3C baggage, which
        the recorder stamps on every span and propagation carries into the stack.
        With sampled False the trace is switched off downstream (flags 00)."""
        context = context_with_baggage(self.attributes(iteration))
        return context if sampled else unsampled_context(context)

    def deadline(self) -> Deadline:
        return Deadline(time.monotonic() + self.settings.iteration_timeout_s)

    @contextmanager
    def guard(self, iteration: Iteration) -> Iterator[None]:
        """Run one iteration's body; a failure or timeout is noted and the run goes on.

        Time the body's work inside phases: an exception leaving a phase is recorded on its
        span as an error, so the failed iteration is visible in the traces. Ctrl-C (not an
        Exception) still stops the run.
        """
        try:
            yield
        except Exception as error:
            self.failures.append(IterationFailure(iteration.scenario, iteration.index,
                                                  f"{type(error).__name__}: {error}"))


class Driver(Protocol):
    """A suite's driver: a module with these three members (see the module docstring)."""

    SUITE: str
    SCENARIOS: Collection[str]
    """Its scenarios in the order it runs them (a mapping: its keys)."""
    SAMPLES: int
    """Measured samples per scenario by default (targets may ask for more)."""
    WARMUP: int
    NEEDS: Collection[Need]
    """What of the deployment it uses; empty: it measures in the run's own process."""

    def run(self, ctx: DriverContext) -> object:
        """Measure every scenario the system supports; what it returns is for the CLI."""
        ...
