"""A system: a kind of deployment spanbench measures (its own reference stack, tasker-core...).

The drivers reach a deployment only through its System: how it is reached, the task requests
it accepts, how it announces completion, its SQL functions, queues and notifications, and how
its own spans name the phases. Adding a kind of deployment is writing one adapter module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg

DEFAULT_VERSION = "1.0.0"


@dataclass(frozen=True)
class Endpoints:
    """How a deployment is reached."""

    orchestration_url: str
    database_url: str
    worker_urls: tuple[str, ...] = ()
    auth_headers: Mapping[str, str] = field(default_factory=dict)
    """Credential headers of the orchestration API (`Authorization: Bearer`, `X-API-Key`)."""


@dataclass(frozen=True)
class TemplateRef:
    """A task template as a TaskRequest names it."""

    namespace: str
    name: str
    version: str = DEFAULT_VERSION


def final_task_state_sql(final_states: Sequence[str]) -> str:
    """A `System.task_state_sql` for tasker's schema: a task's state is the `to_state` of its
    `most_recent` row in tasker.task_transitions; the states listed are final."""
    states = ", ".join("'" + state.replace("'", "''") + "'" for state in final_states)
    return ("SELECT tr.task_uuid::text, tr.to_state, t.correlation_id::text "
            "FROM tasker.task_transitions tr JOIN tasker.tasks t USING (task_uuid) "
            "WHERE tr.most_recent AND tr.task_uuid = ANY(%s::uuid[]) "
            f"AND tr.to_state IN ({states})")


class System(Protocol):
    """A kind of deployment spanbench measures, as the drivers see it.

    A new adapter is one module under instrument/systems/ with a class that provides every
    member below (plain attributes serve for the properties); it may import instrument and the
    vocabulary, never the deployment's own code. spanbench.runner constructs it.
    """

    @property
    def name(self) -> str:
        """The system's name, recorded in run.json's config as `system`."""
        ...

    @property
    def endpoints(self) -> Endpoints:
        """Where this deployment is: orchestration, database, workers, credentials."""
        ...

    def template(self, scenario: str) -> TemplateRef | None:
        """The template a scenario runs on this system; None: it has none (skip the scenario).

        Scenario names are shared across suites and mean one workflow (`linear_3`)."""
        ...

    def task_request(self, template: TemplateRef, context: Mapping[str, Any]) -> dict[str, Any]:
        """The POST /v1/tasks body of one task; each call's body is accepted anew (a system
        that refuses a repeated identity gets a unique key in the context)."""
        ...

    def expected_results(self, scenario: str,
                         context: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """What the steps of the scenario's template must have returned for `context` (step
        name → `results.result` of GET /v1/tasks/{uuid}/workflow_steps), checked when the task
        completes; None: the results are not checked."""
        ...

    @property
    def finalized_channel(self) -> str | None:
        """The NOTIFY channel announcing a finalized task (JSON `{task_uuid, correlation_id,
        status}`); None: completion is seen by polling the task's state."""
        ...

    @property
    def task_state_sql(self) -> str | None:
        """SQL reading which of some tasks are final, for a system without finalized_channel:
        one %s parameter, a list of task uuids; one row per final task among them:
        (task_uuid, final state, correlation_id). None: its state is read through the API."""
        ...

    @property
    def sql_functions(self) -> Mapping[str, str]:
        """The functions the sql_functions suite times, by name: the query calling each, with
        %s placeholders for the arguments the suite's samples give. Absent: not timed."""
        ...

    def worker_queue(self, namespace: str) -> str:
        """The queue the workers of a namespace read."""
        ...

    @property
    def results_queue(self) -> str:
        """The queue workers send step results to, which the orchestration reads."""
        ...

    def queue_namespace(self, conn: psycopg.Connection, queue: str) -> str:
        """The namespace whose channel a send to `queue` notifies (the system's own rule)."""
        ...

    def message_ready_channel(self, namespace: str) -> str:
        """The channel a send with notify NOTIFYs for a namespace's queues."""
        ...

    @property
    def send_with_notify_sql(self) -> str:
        """SQL sending a PGMQ message and NOTIFYing it, returning the message id; named
        placeholders %(queue)s, %(message)s and %(headers)s (a call without headers omits
        that one, and the message then carries no trace context)."""
        ...

    @property
    def step_rewinds(self) -> bool:
        """Whether a complete step can be moved back to enqueued and claimed over SQL
        (tasker.transition_step_state_atomic, tasker.start_step_attempt): worker_execution
        needs it and is skipped without."""
        ...

    @property
    def plants_tasks(self) -> bool:
        """Whether spanbench may plant a task over SQL in the deployment's tables, its root step
        already claimed (the stack's schema): step_enqueueing needs it and is skipped without."""
        ...

    @property
    def send_with_notify_missing(self) -> str | None:
        """Why `send_with_notify_sql` or `queue_namespace` cannot be called on this deployment
        (a function absent or declared with other arguments, as its database was found to be);
        None: both can. The suites that send with notify are skipped with it."""
        ...

    @property
    def phases(self) -> Mapping[str, str]:
        """The deployment's own span names → spanbench phase names: the rules of its built-in
        phase map (spanbench.phase_map.builtin(name)) that need no attribute condition."""
        ...

