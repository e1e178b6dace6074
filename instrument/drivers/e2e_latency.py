"""e2e_latency: whole workflows, from POST /v1/tasks to the finalization NOTIFY.

One iteration is one trace:

    e2e.workflow (driver, root)      starts before the POST, ends at the LISTEN receipt
     └─ api.create_task (CLIENT)     carries traceparent + baggage into POST /v1/tasks
         └─ POST /v1/tasks → task.initialize → discovery, publish → claim, execute, submit
            → result.process → ... → task.finalize          (the stack's spans)

Completion is seen twice. The FinalizationListener (one LISTEN connection for the suite)
stamps the NOTIFY in its own thread: that is the span's end. Polling GET /v1/tasks/{uuid}
every `poll_interval_s`, as a plain client would, gives attribute `e2e.poll_completion_ns`:
nanoseconds from the span's start to the poll that first saw the task final.

Observer effect: even iterations trace the stack, odd ones send it an unsampled traceparent
so the stack exports nothing. The driver's e2e.workflow is always a sampled root, stamped
`bench.stack_traced`; `run` returns the durations and the tracing tax between the two.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from opentelemetry.trace import SpanKind
from opentelemetry.trace.status import StatusCode

from instrument.drivers.base import DriverContext, Iteration, IterationTimeout
from instrument.drivers.completion import FinalizationListener
from instrument.drivers.observer_effect import TracingTax, stratified_tracing_tax, tracing_tax
from instrument.drivers.tasker_client import FINAL_EXECUTION_STATUSES, TaskerClient, task_request
from spanbench.vocabulary import FINALIZED_CHANNEL, Attr, Phase

SUITE = "e2e_latency"
SAMPLES = 10
WARMUP = 2
STACK_TRACED = Attr.STACK_TRACED
"""True when the stack traced the workflow, false when it was sent an unsampled context."""
POLL_COMPLETION = "e2e.poll_completion_ns"
"""Nanoseconds from e2e.workflow's start until a GET /v1/tasks/{uuid} first saw it final."""
FINAL_STATE = "tasker.final_state"
DEFAULT_CONTEXT: Mapping[str, Any] = {"even_number": 6}


class WorkflowFailed(RuntimeError):
    """The workflow finished, but not as it should (blocked, or wrong math)."""


@dataclass(frozen=True)
class Workflow:
    """A template to run and the results that prove it ran right."""

    name: str
    namespace: str
    final_powers: Mapping[str, int]
    """Checked steps, each result as a power of the context's even_number."""
    context: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_CONTEXT))

    def expected(self) -> dict[str, int]:
        base = int(self.context["even_number"])
        return {step: base**power for step, power in self.final_powers.items()}


SCENARIOS: Mapping[str, Workflow] = {
    "linear_3": Workflow("linear_3", "linear_workflow", {"linear_step_3": 8}),
    "linear_4": Workflow("linear_4", "linear_workflow", {"linear_step_4": 16}),
    "diamond_4": Workflow("diamond_4", "diamond_workflow", {"diamond_end": 16}),
    "tree_7": Workflow("tree_7", "tree_workflow", {f"tree_leaf_{leaf}": 8 for leaf in "defg"}),
    "complex_dag_7": Workflow("complex_dag_7", "dag_workflow", {"dag_finalize": 64}),
}


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:18]}…{text[-18:]}"


def check_results(steps: Sequence[Mapping[str, Any]], expected: Mapping[str, int]) -> str | None:
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
    poll_completion_ns: int


@dataclass
class E2eOutcome:
    """What `run` measured, for the CLI to print; the spans hold the same durations."""

    samples: list[WorkflowSample] = field(default_factory=list)

    def durations(self, scenario: str, stack_traced: bool | None = None) -> list[int]:
        return [s.duration_ns for s in self.samples if s.scenario == scenario
                and (stack_traced is None or s.stack_traced == stack_traced)]

    def scenarios(self) -> list[str]:
        return list(dict.fromkeys(s.scenario for s in self.samples))

    def tax_by_scenario(self) -> dict[str, TracingTax | None]:
        """Each scenario's tax; None where one side has no samples."""
        taxes: dict[str, TracingTax | None] = {}
        for scenario in self.scenarios():
            traced, untraced = self.durations(scenario, True), self.durations(scenario, False)
            taxes[scenario] = tracing_tax(traced, untraced) if traced and untraced else None
        return taxes

    def tax(self) -> TracingTax | None:
        """The tax over every scenario with samples on both sides; None if there is none."""
        strata = [(self.durations(s, True), self.durations(s, False)) for s in self.scenarios()]
        strata = [(traced, untraced) for traced, untraced in strata if traced and untraced]
        return stratified_tracing_tax(strata) if strata else None


def stack_traced(iteration: Iteration) -> bool:
    """Whether the stack traces this iteration: even ones yes, odd ones no."""
    return iteration.index % 2 == 0


def run(ctx: DriverContext, workflows: Mapping[str, Workflow] | None = None) -> E2eOutcome:
    """Run every scenario (or `workflows`, by scenario name); the caller may ignore the result."""
    outcome = E2eOutcome()
    with FinalizationListener(ctx.target.database_url) as listener, TaskerClient(
            ctx.target.orchestration_url, timeout_s=ctx.settings.iteration_timeout_s) as client:
        for scenario, workflow in (SCENARIOS if workflows is None else workflows).items():
            for iteration in ctx.iterations(scenario, SAMPLES, WARMUP):
                with ctx.guard(iteration):
                    sample = measure_workflow(ctx, client, listener, iteration, workflow)
                    if not iteration.warmup:
                        outcome.samples.append(sample)
    return outcome


def measure_workflow(ctx: DriverContext, client: TaskerClient, listener: FinalizationListener,
                     iteration: Iteration, workflow: Workflow) -> WorkflowSample:
    """Run one workflow to completion; its spans are recorded, a failure is raised."""
    traced = stack_traced(iteration)
    body = task_request(workflow.name, workflow.namespace, workflow.context)
    to_stack = None if traced else ctx.parent(iteration, sampled=False)
    deadline = ctx.deadline()
    with ctx.recorder.phase(Phase.E2E_WORKFLOW, parent=ctx.parent(iteration),
                            attributes={STACK_TRACED: traced,
                                        Attr.NAMESPACE: workflow.namespace}) as root:
        with ctx.recorder.phase(Phase.API_CREATE_TASK, parent=root, kind=SpanKind.CLIENT,
                                attributes={"http.request.method": "POST",
                                            "url.path": "/v1/tasks"}) as post:
            with _deadline(deadline.expires_at, "POST /v1/tasks"):
                task = client.create_task(body, propagate=post.context if to_stack is None
                                          else to_stack, timeout_s=deadline.remaining())
            task_uuid = str(task["task_uuid"])
            ids = {Attr.TASK_UUID: task_uuid, Attr.CORRELATION_ID: str(task["correlation_id"])}
            post.set_attributes(ids)
        root.set_attributes(ids)
        polled_ns = _poll_until_final(client, task_uuid, deadline.expires_at,
                                      ctx.settings.poll_interval_s)
        finalization = listener.wait(task_uuid, deadline.remaining())
        if finalization is None:
            raise IterationTimeout(f"task {task_uuid} is final by GET but no NOTIFY on "
                                   f"{FINALIZED_CHANNEL} arrived before the deadline")
    root.end_ns = finalization.received_ns  # the receipt, not the block's exit (before flush)
    root.set_attributes({POLL_COMPLETION: polled_ns - root.start_ns,
                         FINAL_STATE: finalization.status})
    try:
        _check_outcome(client, workflow, task_uuid, finalization.status)
    except Exception as error:
        root.set_status(StatusCode.ERROR, f"{type(error).__name__}: {error}")
        raise
    return WorkflowSample(iteration.scenario, iteration.index, traced, root.duration_ns,
                          polled_ns - root.start_ns)


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


def _check_outcome(client: TaskerClient, workflow: Workflow, task_uuid: str,
                   final_state: str) -> None:
    """Raise WorkflowFailed when the task was blocked or its math is wrong."""
    if final_state != "complete":
        raise WorkflowFailed(f"task {task_uuid} ended {final_state}")
    wrong = check_results(client.workflow_steps(task_uuid), workflow.expected())
    if wrong is not None:
        raise WorkflowFailed(f"math check failed for task {task_uuid}: {wrong}")
