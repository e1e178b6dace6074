"""task_initialization: POST /v1/tasks for linear_3 and diamond_4.

The client span `api.create_task` covers the request from the driver's side and is the
parent of the orchestration's server span and its task.initialize, discovery and publish
phases. Between iterations, outside any timed region, the driver waits for the task's
finalization NOTIFY: each creation is measured on an idle stack, not while the workers still
run the workflows the previous iterations created.
"""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from instrument.drivers.base import DriverContext
from instrument.workload.completion import FinalizationListener
from instrument.workload.tasker_client import TaskerClient, task_request
from spanbench.vocabulary import Attr, Phase

SUITE = "task_initialization"
SCENARIOS = {"linear_3": "linear_workflow", "diamond_4": "diamond_workflow"}
SAMPLES = 50
WARMUP = 5


def run(ctx: DriverContext) -> None:
    timeout_s = ctx.settings.iteration_timeout_s
    with FinalizationListener(ctx.target.database_url) as listener, \
            TaskerClient(ctx.target.orchestration_url, timeout_s=timeout_s) as client:
        for scenario, namespace in SCENARIOS.items():
            for iteration in ctx.iterations(scenario, SAMPLES, WARMUP):
                body = task_request(scenario, namespace, {"even_number": 6})
                with ctx.guard(iteration):
                    with ctx.recorder.phase(
                            Phase.API_CREATE_TASK, parent=ctx.parent(iteration),
                            kind=SpanKind.CLIENT,
                            attributes={"http.request.method": "POST",
                                        "url.path": "/v1/tasks"}) as span:
                        task = client.create_task(body, propagate=span.context)
                        span.set_attribute(Attr.TASK_UUID, task["task_uuid"])
                        span.set_attribute(Attr.CORRELATION_ID, task["correlation_id"])
                    if listener.wait(task["task_uuid"], timeout_s) is None:
                        raise TimeoutError(f"task {task['task_uuid']} did not finish within "
                                           f"{timeout_s:.0f} s; the next creation would overlap")
