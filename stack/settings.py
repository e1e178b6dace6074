"""Settings of the reference stack: explicit argument, then environment variable, then default.

Every environment variable the stack reads is named once here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DATABASE_URL = "DATABASE_URL"
"""libpq URL of an existing database. When set, the stack creates no cluster and only migrates."""

SPANBENCH_HOME = "SPANBENCH_HOME"
"""Directory for the throwaway cluster, the stack's state file and runs. Default: ./.spanbench"""

STACK_VISIBILITY_TIMEOUT = "SPANBENCH_VISIBILITY_TIMEOUT_S"
"""Seconds a claimed worker message stays invisible before it is delivered again. Default: 30."""

STACK_POLL_INTERVAL = "SPANBENCH_POLL_INTERVAL_MS"
"""Polling fallback of the LISTEN wake-ups, in milliseconds. Default: 1000."""

STACK_BATCH_SIZE = "SPANBENCH_READ_BATCH"
"""Messages read from a queue at once. Default: 10."""

STACK_TELEMETRY_COUNTS_DIR = "SPANBENCH_TELEMETRY_COUNTS_DIR"
"""Where each stack process writes, as it stops, its span counts (<service>-<pid>.json: spans
emitted, acknowledged by the receiver, dropped). `spanbench run` sets it for the stack it
starts, so the run can account for every span. Unset: nothing is written."""

STACK_FAULT_DIR = "SPANBENCH_FAULT_DIR"
"""Test-only (the fault suite): when <dir>/stall-next-step.json ({"ms": N}) exists, the first
worker to execute a step takes it and stalls that step N ms inside its execute phase, after
writing <dir>/stall-taken.json (its worker id, pid, step and task). Unset: no hook."""

STACK_TOKEN = "SPANBENCH_STACK_TOKEN"
"""When set, the orchestration API's /v1/* routes (the contract's secured ones) want this
credential, as `Authorization: Bearer <token>` (bearer_auth) or `X-API-Key: <token>`
(api_key_auth); without it: 401. /health and /ready stay open. Default: unset (open API)."""

STACK_HOST = "SPANBENCH_STACK_HOST"
"""Address the stack's services listen on. Default: 127.0.0.1 (loopback only); set 0.0.0.0
(and SPANBENCH_STACK_TOKEN) to let other machines in."""

DEFAULT_HOST = "127.0.0.1"


def stack_host(explicit: str | None = None) -> str:
    """Where the services listen: argument, then SPANBENCH_STACK_HOST, then 127.0.0.1."""
    return explicit or os.environ.get(STACK_HOST, "").strip() or DEFAULT_HOST


def api_token(explicit: str | None = None) -> str | None:
    """The orchestration API's credential: argument, then SPANBENCH_STACK_TOKEN, else None."""
    return explicit or os.environ.get(STACK_TOKEN) or None


def spanbench_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding .spanbench state."""
    if explicit is not None:
        return Path(explicit)
    return Path(os.environ.get(SPANBENCH_HOME, ".spanbench")).absolute()


def database_url(explicit: str | None = None) -> str | None:
    """The DATABASE_URL to use, or None when the stack should start its own cluster."""
    return explicit or os.environ.get(DATABASE_URL) or None


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as error:
        raise ValueError(f"{name}={raw!r} is not a number") from error


@dataclass(frozen=True)
class ServiceSettings:
    """What an orchestration or worker process needs to run."""

    database_url: str
    visibility_timeout_s: int = field(
        default_factory=lambda: int(_env_number(STACK_VISIBILITY_TIMEOUT, 30))
    )
    poll_interval_s: float = field(
        default_factory=lambda: _env_number(STACK_POLL_INTERVAL, 1000) / 1000
    )
    read_batch: int = field(default_factory=lambda: int(_env_number(STACK_BATCH_SIZE, 10)))
    fault_dir: Path | None = field(
        default_factory=lambda: Path(os.environ[STACK_FAULT_DIR])
        if os.environ.get(STACK_FAULT_DIR) else None
    )
    api_token: str | None = field(default_factory=api_token)
