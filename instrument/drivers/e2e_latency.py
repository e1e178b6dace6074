"""e2e_latency: whole workflows, from POST /v1/tasks to the task's completion.

One iteration is one trace:

    e2e.workflow (driver, root)      starts before the POST, ends at the LISTEN receipt
     └─ api.create_task (CLIENT)     carries traceparent + baggage into POST /v1/tasks
         └─ POST /v1/tasks → task.initialize → discovery, publish → claim, execute, submit
            → result.process → ... → task.finalize          (the stack's spans)

Completion is seen twice. The system's completion watch (our stack: one LISTEN connection
for the suite, on its finalization channel) stamps the NOTIFY in its own thread: that is the
span's end. A system announcing none is polled instead: its task states in the database, on
one connection, polls back to back (instrument.systems.completion), else its API; the root then
carries `bench.completion_window_ns`, the window the completion lies in, and every root
`bench.completion_source` (pg_notify, db_poll, api_poll). With `client_poll` (--client-poll),
polling GET /v1/tasks/{uuid} every `poll_interval_s`, as a plain client would, gives attribute
`e2e.poll_completion_ns`: nanoseconds from the span's start to the poll that first saw the task
final (off by default: the polls load what is measured).

Observer effect: even iterations trace the stack, odd ones send it an unsampled traceparent
so the stack exports nothing. The driver's spans are always sampled; `bench.stack_traced`
rides in the iteration's baggage, so every span of the workflow carries it. The statistics and
targets are of the traced workflows (whose phases the breakdown shows); the untraced ones are
the control of the tracing tax (extract.analyse.tracing_tax), so a target's percentile needs
SAMPLES_PER_CHECKED samples for each one it sees. `run` returns the durations.

Load (`RunSettings.load`, `spanbench run --concurrency N` / `--rate R`): each scenario runs as
`<scenario>@c<N>` or `<scenario>@r<R>`, many workflows in flight (instrument.workload.load);
every span carries bench.concurrency or bench.arrival_rate through baggage. Completion is
then taken from the completion watch alone: polling every in-flight workflow through the API
would itself load the stack.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from opentelemetry.trace import SpanKind
from opentelemetry.trace.status import StatusCode

from instrument.drivers.base import Deadline, DriverContext, Iteration, IterationTimeout, Need
from instrument.propagation import context_with_baggage, unsampled_context
from instrument.recorder import AttrValue
from instrument.systems.base import System, TemplateRef
from instrument.systems.completion import watch_completion
from instrument.workload.completion import CompletionWatch, Finalization, TaskStatePoller
from instrument.workload.load import (
    SharedRecorder,
    Start,
    arrival_offsets_ns,
    closed_loop,
    open_loop,
)
from instrument.workload.tasker_client import (
    FINAL_EXECUTION_STATUSES,
    TaskerClient,
    TaskerError,
)
from spanbench.vocabulary import Attr, Phase, Suite

SUITE = Suite.E2E_LATENCY
NEEDS = frozenset({Need.DATABASE, Need.ORCHESTRATION, Need.WORKERS})
STACK_PHASES = True
SAMPLES = 100
"""Per scenario without a target: 50 traced + 50 untraced workflows, which narrow the tracing
tax's interval to about ±3 points over the five scenarios (the targets' scenarios take more)."""
WARMUP = 2
SAMPLES_PER_CHECKED = 2
"""Samples a scenario takes for each one its targets see: one traced, one untraced."""
STACK_TRACED = Attr.STACK_TRACED
"""True when the stack traced the workflow, false when it was sent an unsampled context."""
POLL_COMPLETION = "e2e.poll_completion_ns"
"""Nanoseconds from e2e.workflow's start until a GET /v1/tasks/{uuid} first saw it final."""
FINAL_STATE = Attr.FINAL_STATE
DEFAULT_CONTEXT: Mapping[str, Any] = {"even_number": 6}


class WorkflowFailed(RuntimeError):
    """The workflow finished, but not as it should (blocked, or wrong math)."""


@dataclass(frozen=True)
class Workflow:
    """A scenario's workflow and the results that prove it ran right."""

    final_powers: Mapping[str, int] | None = None
    """Checked steps, each result as a power of the context's even_number; None: the results
    the system expects of the scenario's template (System.expected_results)."""
    context: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_CONTEXT))
    template: TemplateRef | None = None
    """The template to run; None: the system's template for the scenario."""

    def expected(self) -> dict[str, int]:
        """The results `final_powers` names ({} without them)."""
        base = int(self.context["even_number"])
        return {step: base**power for step, power in (self.final_powers or {}).items()}

    def expected_on(self, system: System, scenario: str) -> Mapping[str, Any] | None:
        """The step results to check on `system`; None: the system checks none."""
        if self.final_powers is not None:
            return self.expected()
        return system.expected_results(scenario, self.context)


SCENARIOS: Mapping[str, Workflow] = {
    scenario: Workflow() for scenario in ("linear_3", "linear_4", "diamond_4", "tree_7",
                                          "complex_dag_7")
}


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:18]}…{text[-18:]}"


def check_results(steps: Sequence[Mapping[str, Any]],
                  expected: Mapping[str, Any]) -> str | None:
    """What is wrong with the steps' results (GET .../workflow_steps), or None."""
    by_name = {step.get("name"): step for step in steps}
    problems = []
    for name, want in expected.items():
        step = by_name.get(name)
        if step is None:
            problems.append(f"step {name} is missing")
            continue
        results = step.get("results")
        got = results.get("result") if isinstance(results, Mapping) else None
        if type(got) is not int or got != want:
            problems.append(f"{name} = {_short(got)}, expected {_short(want)}")
    return "; ".join(problems) or None


@dataclass(frozen=True)
class WorkflowSample:
    """One measured (non-warm-up) workflow."""

    scenario: str
    index: int
    stack_traced: bool
    duration_ns: int
    poll_completion_ns: int | None
    """None under load, where completion is not polled."""
    start_lag_ns: int = 0
    """Open loop: actual start minus intended start (the duration counts from the latter)."""
    start_ns: int = 0
    """time.perf_counter_ns() at the span's start (the intended start under an open loop)."""


@dataclass
class E2eOutcome:
    """What `run` measured, for the CLI to print; the spans hold the same durations."""

    samples: list[WorkflowSample] = field(default_factory=list)

    def durations(self, scenario: str, stack_traced: bool | None = None) -> list[int]:
        return [s.duration_ns for s in self.samples if s.scenario == scenario
                and (stack_traced is None or s.stack_traced == stack_traced)]

    def throughput(self, scenario: str) -> float | None:
        """Workflows/s completed over the scenario's measured window, from the first start to
        the last end (as queries/e2e_throughput.sql computes it from the spans)."""
        measured = [s for s in self.samples if s.scenario == scenario]
        if not measured:
            return None
        window_ns = (max(s.start_ns + s.duration_ns for s in measured)
                     - min(s.start_ns for s in measured))
        return len(measured) / (window_ns / 1e9) if window_ns > 0 else None

    def scenarios(self) -> list[str]:
        return list(dict.fromkeys(s.scenario for s in self.samples))


def stack_traced(iteration: Iteration) -> bool:
    """Whether the stack traces this iteration: even ones yes, odd ones no."""
    return iteration.index % 2 == 0


def run(ctx: DriverContext, *, workflows: Mapping[str, Workflow] | None = None) -> E2eOutcome:
    """Run every scenario (or `workflows`, by scenario name); the caller may ignore the result.

    A scenario whose workflow names no template runs the system's template for it, and is
    skipped when the system has none. Under a load profile (`ctx.settings.load`) each scenario
    runs as `<scenario>@<level>` with many workflows in flight (see instrument.workload.load).
    """
    outcome = E2eOutcome()
    load = ctx.settings.load
    with ctx.tasker_client() as client, watch_completion(
            ctx.system, client, ctx.settings.poll_interval_s) as listener:
        runnable = {name: (workflow, template) for name, workflow
                    in (SCENARIOS if workflows is None else workflows).items()
                    if (template := workflow.template or ctx.system.template(name)) is not None}
        ctx.plan(runnable, *load.default_counts(SAMPLES, WARMUP))
        for name, (workflow, template) in runnable.items():
            expected = workflow.expected_on(ctx.system, name)
            if load.active:
                _run_loaded(ctx, client, listener, workflow, template, load.scenario(name),
                            outcome, expected)
                continue
            for iteration in ctx.iterations(name, SAMPLES, WARMUP):
                with ctx.guard(iteration):
                    sample = measure_workflow(ctx, client, listener, iteration, workflow,
                                              template, expected=expected)
                    if not iteration.warmup:
                        outcome.samples.append(sample)
    return outcome


def _run_loaded(ctx: DriverContext, client: TaskerClient, listener: CompletionWatch,
                workflow: Workflow, template: TemplateRef, scenario: str,
                outcome: E2eOutcome, expected: Mapping[str, Any] | None) -> None:
    """One scenario at the profile's load level: warm-up workflows are dispatched first."""
    load = ctx.settings.load
    samples, warmup = load.default_counts(SAMPLES, WARMUP)
    n_warmup, n_samples = ctx.warmup(warmup), ctx.samples(samples)
    iterations = [Iteration(scenario, index, warmup=index < n_warmup)
                  for index in range(n_warmup + n_samples)]
    recorder = SharedRecorder(ctx.recorder)
    ctx.progress.start(ctx.suite, scenario, len(iterations))

    def run_one(iteration: Iteration, start: Start) -> None:
        with ctx.guard(iteration):
            sample = measure_workflow(ctx, client, listener, iteration, workflow, template,
                                      start=start, finishing=recorder.finishing(),
                                      expected=expected)
            if not iteration.warmup:
                outcome.samples.append(sample)
        recorder.flush()
        ctx.progress.advance(ctx.suite, scenario)

    try:
        if load.rate_per_s is None:
            closed_loop(iterations, load.in_flight, run_one)
        else:
            offsets = arrival_offsets_ns(len(iterations), load.rate_per_s, load.arrival,
                                         random.Random(load.seed))
            open_loop(iterations, offsets, load.in_flight, run_one)
    finally:
        recorder.flush()


def measure_workflow(ctx: DriverContext, client: TaskerClient, listener: CompletionWatch,
                     iteration: Iteration, workflow: Workflow, template: TemplateRef,
                     start: Start | None = None,
                     finishing: AbstractContextManager[Any] | None = None,
                     expected: Mapping[str, Any] | None = None) -> WorkflowSample:
    """Run one workflow to completion; its spans are recorded, a failure is raised.

    `expected`: the step results a complete workflow must show (None: not checked). The
    completion watch is told of the task as soon as the POST answers; the root span carries
    how completion was seen and, when polled, the window it lies in.

    Under load (`start` given) the root span begins at the intended start, carries the
    load's baggage and the start lag, and completion comes from the NOTIFY alone (no
    polling, which would load the stack N times over); `finishing` guards the root's
    last touches against a concurrent flush (see load.SharedRecorder).
    """
    traced = stack_traced(iteration)
    body = ctx.system.task_request(template, workflow.context)
    parent = context_with_baggage({**ctx.settings.load.baggage(), STACK_TRACED: traced},
                                  ctx.parent(iteration))
    to_stack = None if traced else unsampled_context(parent)
    deadline = ctx.deadline()
    attributes: dict[str, AttrValue] = {Attr.NAMESPACE: template.namespace}
    if start is not None and ctx.settings.load.open_loop:
        attributes[Attr.START_LAG] = start.lag_ns
    with ExitStack() as closing:
        with ctx.recorder.phase(Phase.E2E_WORKFLOW, parent=parent,
                                attributes=attributes) as root:
            if start is not None:
                root.start_ns = start.intended_ns
            with ctx.recorder.phase(Phase.API_CREATE_TASK, parent=root, kind=SpanKind.CLIENT,
                                    attributes={"http.request.method": "POST",
                                                "url.path": "/v1/tasks"}) as post:
                with _deadline(deadline.expires_at, "POST /v1/tasks"):
                    task = client.create_task(body, propagate=post.context if to_stack is None
                                              else to_stack, timeout_s=deadline.remaining())
                task_uuid = str(task["task_uuid"])
                ids = {Attr.TASK_UUID: task_uuid,
                       Attr.CORRELATION_ID: str(task["correlation_id"])}
                post.set_attributes(ids)
            listener.expect(task_uuid, post.start_ns)  # after the POST's timed region
            root.set_attributes(ids)
            polled_ns = None
            api_polled = isinstance(listener, TaskStatePoller)
            if start is None and not api_polled and ctx.settings.client_poll:
                polled_ns = _poll_until_final(client, task_uuid, deadline.expires_at,
                                              ctx.settings.poll_interval_s)
            finalization = _finalization(ctx, client, listener, task_uuid, deadline)
            if start is None and api_polled:  # the watch's own polls are the client's
                polled_ns = finalization.received_ns
            root.set_attribute(FINAL_STATE, finalization.status)
            root.set_attribute(Attr.COMPLETION_SOURCE, finalization.source)
            if finalization.window_ns is not None:
                root.set_attribute(Attr.COMPLETION_WINDOW, finalization.window_ns)
            if polled_ns is not None:
                root.set_attribute(POLL_COMPLETION, polled_ns - root.start_ns)
            failure = _outcome_failure(client, expected, task_uuid, finalization.status)
            if failure is not None:
                root.set_status(StatusCode.ERROR, f"{type(failure).__name__}: {failure}")
            if finishing is not None:
                closing.enter_context(finishing)
        root.end_ns = finalization.received_ns  # the receipt, not the block's exit
    if failure is not None:
        raise failure
    return WorkflowSample(iteration.scenario, iteration.index, traced, root.duration_ns,
                          None if polled_ns is None else polled_ns - root.start_ns,
                          0 if start is None else start.lag_ns, root.start_ns)


def _finalization(ctx: DriverContext, client: TaskerClient, listener: CompletionWatch,
                  task_uuid: str, deadline: Deadline) -> Finalization:
    """The task's finalization; IterationTimeout (saying what GET sees) without one."""
    finalization = listener.wait(task_uuid, deadline.remaining())
    if finalization is not None:
        return finalization
    try:
        status = client.get_task(task_uuid, timeout_s=5.0)["execution_status"]
    except (httpx.HTTPError, TaskerError) as error:
        status = f"unknown ({type(error).__name__})"
    if status in FINAL_EXECUTION_STATUSES:
        seen_by = (f"no NOTIFY on {ctx.system.finalized_channel} arrived"
                   if ctx.system.finalized_channel else "polling its state did not see it")
        raise IterationTimeout(f"task {task_uuid} is final by GET but {seen_by} "
                               "before the deadline")
    raise IterationTimeout(f"task {task_uuid} still {status} at the iteration timeout")


def _poll_until_final(client: TaskerClient, task_uuid: str, expires_at: float,
                      interval_s: float) -> int:
    """perf_counter_ns when GET /v1/tasks/{uuid} first answered a final status."""
    status = "unknown"
    while True:
        remaining = expires_at - time.monotonic()
        if remaining <= 0:
            raise IterationTimeout(f"task {task_uuid} still {status} at the iteration timeout")
        with _deadline(expires_at, f"GET /v1/tasks/{task_uuid}"):
            status = client.get_task(task_uuid, timeout_s=remaining)["execution_status"]
        if status in FINAL_EXECUTION_STATUSES:
            return time.perf_counter_ns()
        time.sleep(max(min(interval_s, expires_at - time.monotonic()), 0.0))


@contextmanager
def _deadline(expires_at: float, request: str) -> Iterator[None]:
    """An HTTP timeout cut short by the iteration's deadline is the iteration's timeout."""
    try:
        yield
    except httpx.TimeoutException as error:
        if time.monotonic() < expires_at:
            raise
        raise IterationTimeout(f"{request} unanswered at the iteration timeout") from error


def _outcome_failure(client: TaskerClient, expected: Mapping[str, Any] | None, task_uuid: str,
                     final_state: str) -> WorkflowFailed | None:
    """WorkflowFailed when the task was blocked or its math is wrong, else None."""
    if final_state != "complete":
        return WorkflowFailed(f"task {task_uuid} ended {final_state}")
    if expected is None:
        return None
    wrong = check_results(client.workflow_steps(task_uuid), expected)
    if wrong is not None:
        return WorkflowFailed(f"math check failed for task {task_uuid}: {wrong}")
    return None
