"""task_initialization: POST /v1/tasks for linear_3 and diamond_4.

The client span `api.create_task` covers the request from the driver's side and is the
parent of the orchestration's server span and its task.initialize, discovery and publish
phases. Between iterations, outside any timed region, the driver waits for the task to finish
(the system's finalization NOTIFY, or polling): each creation is measured on an idle stack,
not while the workers still run the workflows the previous iterations created.
"""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from instrument.drivers.base import DriverContext, Need
from instrument.systems.completion import watch_completion
from spanbench.vocabulary import Attr, Phase, Suite

SUITE = Suite.TASK_INITIALIZATION
NEEDS = frozenset({Need.DATABASE, Need.ORCHESTRATION, Need.WORKERS})
STACK_PHASES = True
SCENARIOS = ("linear_3", "diamond_4")
SAMPLES = 50
WARMUP = 5


def run(ctx: DriverContext) -> None:
    timeout_s = ctx.settings.iteration_timeout_s
    with ctx.tasker_client() as client, watch_completion(
            ctx.system, client, ctx.settings.poll_interval_s) as completion:
        templates = {scenario: template for scenario in SCENARIOS
                     if (template := ctx.system.template(scenario)) is not None}
        ctx.plan(templates, SAMPLES, WARMUP)
        for scenario, template in templates.items():
            for iteration in ctx.iterations(scenario, SAMPLES, WARMUP):
                body = ctx.system.task_request(template, {"even_number": 6})
                with ctx.guard(iteration):
                    with ctx.recorder.phase(
                            Phase.API_CREATE_TASK, parent=ctx.parent(iteration),
                            kind=SpanKind.CLIENT,
                            attributes={"http.request.method": "POST",
                                        "url.path": "/v1/tasks"}) as span:
                        task = client.create_task(body, propagate=span.context)
                        span.set_attribute(Attr.TASK_UUID, task["task_uuid"])
                        span.set_attribute(Attr.CORRELATION_ID, task["correlation_id"])
                    if completion.wait(task["task_uuid"], timeout_s) is None:
                        raise TimeoutError(f"task {task['task_uuid']} did not finish within "
                                           f"{timeout_s:.0f} s; the next creation would overlap")
