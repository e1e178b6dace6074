"""How the drivers see a task finish on a system: its finalization NOTIFY, or polling.

Preferred in this order: the system's NOTIFY (`finalized_channel`); its task states read from
the database on a dedicated connection, polled back to back while tasks are in flight
(`task_state_sql`, when the deployment's database is named; see
instrument.workload.state_poller); GET /v1/tasks/{uuid} every `poll_interval_s`.
"""

from __future__ import annotations

from dataclasses import dataclass

from instrument.systems.base import System
from instrument.workload.completion import (
    API_POLL,
    DB_POLL,
    NOTIFY,
    CompletionWatch,
    FinalizationListener,
    TaskStatePoller,
)
from instrument.workload.state_poller import DEFAULT_INTERVAL_S, DatabaseStatePoller
from instrument.workload.tasker_client import TaskerClient

DB_POLL_INTERVAL_S = DEFAULT_INTERVAL_S
"""0: back to back; run.json records it as config completion `interval_s`."""


@dataclass(frozen=True)
class CompletionMethod:
    """How completion is seen on a system: `source` (NOTIFY, DB_POLL, API_POLL) and the poll
    interval (None for a NOTIFY). run.json records it as config `completion`."""

    source: str
    interval_s: float | None = None

    def describe(self) -> dict[str, str | float | None]:
        return {"source": self.source, "interval_s": self.interval_s}


def completion_method(system: System, poll_interval_s: float) -> CompletionMethod:
    if system.finalized_channel is not None:
        return CompletionMethod(NOTIFY)
    if system.task_state_sql is not None and system.endpoints.database_url:
        return CompletionMethod(DB_POLL, DB_POLL_INTERVAL_S)
    return CompletionMethod(API_POLL, poll_interval_s)


def watch_completion(system: System, client: TaskerClient,
                     poll_interval_s: float) -> CompletionWatch:
    """A LISTEN on the system's finalization channel, else polling (see the module)."""
    method = completion_method(system, poll_interval_s)
    database_url = system.endpoints.database_url
    if method.source == NOTIFY and system.finalized_channel is not None:
        return FinalizationListener(database_url, system.finalized_channel)
    if method.source == DB_POLL and system.task_state_sql is not None:
        return DatabaseStatePoller(database_url, system.task_state_sql, DB_POLL_INTERVAL_S)
    return TaskStatePoller(client, poll_interval_s)
