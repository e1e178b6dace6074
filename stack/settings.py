"""Settings of the reference stack: explicit argument, then environment variable, then default.

The variables the stack reads (DATABASE_URL, SPANBENCH_HOME, SPANBENCH_STACK_*, the worker's
tuning, the fault hook) are declared in spanbench.settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spanbench import settings


def stack_host(explicit: str | None = None) -> str:
    """Where the services listen: argument, then SPANBENCH_STACK_HOST, then 127.0.0.1."""
    return explicit or settings.text(settings.STACK_HOST)


def api_token(explicit: str | None = None) -> str | None:
    """The orchestration API's credential: argument, then SPANBENCH_STACK_TOKEN, else None."""
    return explicit or settings.env(settings.STACK_TOKEN)


def spanbench_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding .spanbench state."""
    if explicit is not None:
        return Path(explicit)
    return Path(settings.text(settings.HOME)).absolute()


def database_url(explicit: str | None = None) -> str | None:
    """The DATABASE_URL to use, or None when the stack should start its own cluster."""
    return explicit or settings.env(settings.DATABASE_URL)


_FROM_ENV: dict[str, Callable[[], object]] = {
    "visibility_timeout_s": lambda: int(settings.number(settings.VISIBILITY_TIMEOUT_S)),
    "poll_interval_s": lambda: settings.number(settings.POLL_INTERVAL_MS) / 1000,
    "read_batch": lambda: int(settings.number(settings.READ_BATCH)),
    "fault_dir": lambda: settings.path(settings.FAULT_DIR),
    "api_token": api_token,
}
"""The fields a service takes from the environment, each with its reader."""


@dataclass(frozen=True)
class ServiceSettings:
    """What an orchestration or worker process needs to run; `from_env` fills what is not given."""

    database_url: str
    visibility_timeout_s: int
    poll_interval_s: float
    read_batch: int
    fault_dir: Path | None
    """Test-only: the fault suite's stall hook (see spanbench.settings.FAULT_DIR)."""
    api_token: str | None

    @classmethod
    def from_env(cls, **given: Any) -> ServiceSettings:
        """The fields given, the others from their variables (a given field's is not read)."""
        read = {name: reader() for name, reader in _FROM_ENV.items() if name not in given}
        return cls(**read, **given)
