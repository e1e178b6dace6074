"""worker_execution's single-step tasks, created through the deployment's API and run by its
own workers: one `worker.task` span per task in the driver's trace.

    worker.task (driver, root)       from before the POST to the driver seeing the task final
     └─ api.create_task (CLIENT)     POST /v1/tasks, with an unsampled traceparent: the
                                     deployment exports nothing for the task

The span names the task (`task_uuid`, `correlation_id`), so the spans derived afterwards from
the deployment's transitions (claim, execute, submit of its one step: extract/derive) nest under
it. Completion is seen as e2e_latency sees it (instrument.systems.completion): the system's
NOTIFY, else its task states polled from the database, else its API. Nothing is written into
the deployment's tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.trace import SpanKind

from instrument.drivers.base import DriverContext, Iteration, IterationTimeout
from instrument.propagation import unsampled_context
from instrument.systems.base import TemplateRef
from instrument.workload.completion import CompletionWatch
from instrument.workload.tasker_client import TaskerClient
from spanbench.vocabulary import Attr, Phase

EVEN_NUMBER = 6
COMPLETE = "complete"


class TaskFailed(RuntimeError):
    """The deployment finished a task, but not complete."""


@dataclass(frozen=True)
class RunTask:
    """One task the deployment ran for an iteration."""

    task_uuid: str
    correlation_id: str


def run_task(ctx: DriverContext, client: TaskerClient, watch: CompletionWatch,
             iteration: Iteration, template: TemplateRef) -> RunTask:
    """Create one single-step task and wait until the deployment has run it (see the module);
    IterationTimeout when it is not final in time, TaskFailed when it ends otherwise."""
    parent = ctx.parent(iteration)
    deadline = ctx.deadline()
    body = ctx.system.task_request(template, {"even_number": EVEN_NUMBER})
    with ctx.recorder.phase(Phase.WORKER_TASK, parent=parent,
                            attributes={Attr.NAMESPACE: template.namespace}) as root:
        with ctx.recorder.phase(Phase.API_CREATE_TASK, parent=root, kind=SpanKind.CLIENT,
                                attributes={"http.request.method": "POST",
                                            "url.path": "/v1/tasks"}) as post:
            task = client.create_task(body, propagate=unsampled_context(parent),
                                      timeout_s=deadline.remaining())
            ran = RunTask(str(task["task_uuid"]), str(task["correlation_id"]))
            ids = {Attr.TASK_UUID: ran.task_uuid, Attr.CORRELATION_ID: ran.correlation_id}
            post.set_attributes(ids)
        watch.expect(ran.task_uuid, post.start_ns)
        root.set_attributes(ids)
        finalization = watch.wait(ran.task_uuid, deadline.remaining())
        if finalization is None:
            raise IterationTimeout(f"task {ran.task_uuid} was not seen final before the "
                                   "iteration timeout")
        root.set_attribute(Attr.FINAL_STATE, finalization.status)
        root.set_attribute(Attr.COMPLETION_SOURCE, finalization.source)
        if finalization.window_ns is not None:
            root.set_attribute(Attr.COMPLETION_WINDOW, finalization.window_ns)
        if finalization.status != COMPLETE:
            raise TaskFailed(f"task {ran.task_uuid} ended {finalization.status}")
    root.end_ns = finalization.received_ns
    return ran
