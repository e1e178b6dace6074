"""How the drivers see a task finish on a system: its finalization NOTIFY, or polling."""

from __future__ import annotations

from instrument.systems.base import System
from instrument.workload.completion import CompletionWatch, FinalizationListener, TaskStatePoller
from instrument.workload.tasker_client import TaskerClient


def watch_completion(system: System, client: TaskerClient,
                     poll_interval_s: float) -> CompletionWatch:
    """A LISTEN on the system's finalization channel, or polling where it has none."""
    channel = system.finalized_channel
    if channel is None:
        return TaskStatePoller(client, poll_interval_s)
    return FinalizationListener(system.endpoints.database_url, channel)
