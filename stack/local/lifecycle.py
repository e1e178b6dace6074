"""The stack as a whole: up (database, schema, services), down, status.

`up` starts or reuses the throwaway cluster (skipped when DATABASE_URL is set), migrates,
starts the orchestration and worker processes and records everything in <home>/stack.json.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from spanbench.settings import DATABASE_URL
from stack.local import migrate, postgres, processes, stackfile, supervisor
from stack.local.stackfile import StackState
from stack.local.supervisor import ServiceSpec, SupervisorError
from stack.settings import database_url as configured_database_url

ORCHESTRATION_MODULE = "stack.engine.orchestration"
WORKER_MODULE = "stack.engine.worker"


@dataclass(frozen=True)
class StackOptions:
    """How many services to run, which modules they are, and the cluster's durability."""

    orchestrators: int = 1
    workers: int = 2
    relaxed: bool = False
    orchestration_module: str = ORCHESTRATION_MODULE
    worker_module: str = WORKER_MODULE
    health_timeout_s: float = supervisor.HEALTH_TIMEOUT_S
    environment: Mapping[str, str] = field(default_factory=dict)
    """Variables the services get on top of this process's (e.g. OTEL_EXPORTER_OTLP_ENDPOINT)."""

    def orchestration_specs(self) -> list[ServiceSpec]:
        return [
            ServiceSpec(f"orchestration-{n}", self.orchestration_module)
            for n in range(1, self.orchestrators + 1)
        ]

    def worker_specs(self) -> list[ServiceSpec]:
        return [
            ServiceSpec(f"worker-{n}", self.worker_module, ("--worker-id", str(n)))
            for n in range(1, self.workers + 1)
        ]


@dataclass(frozen=True)
class UpResult:
    """The running stack, and whether it was already up before this call."""

    state: StackState
    already_running: bool


@dataclass(frozen=True)
class DownResult:
    """What `down` stopped."""

    stopped: list[str]
    killed: list[str]
    cluster_stopped: bool


def _running(state: StackState) -> bool:
    return all(processes.alive(pid) for pid in state.pids.values())


def up(home: Path, options: StackOptions) -> UpResult:
    """Bring the stack up, or report the one already running under `home`."""
    previous = stackfile.load(home)
    if previous is not None and _running(previous):
        return UpResult(previous, already_running=True)
    if previous is not None:  # some services died: clear the rest before starting afresh
        supervisor.stop(previous.services.values())
        stackfile.remove(home)

    url = configured_database_url()
    cluster_info = None
    if url is None:
        cluster_info = postgres.ensure_started(home, relaxed=options.relaxed)
        url = cluster_info.database_url
    try:
        report = migrate.migrate(url)
        settings = cluster_info.server_settings if cluster_info else postgres.server_settings(url)
        env = {**os.environ, **options.environment, DATABASE_URL: url}
        specs = options.orchestration_specs() + options.worker_specs()
        services = supervisor.start_all(specs, env, home / "logs", options.health_timeout_s)
    except BaseException:
        if cluster_info is not None and not cluster_info.reused:
            postgres.stop(home)
        raise
    state = StackState(
        database_url=url,
        cluster=cluster_info.cluster.to_json() if cluster_info else None,
        services={service.name: service for service in services},
        orchestration=tuple(spec.name for spec in options.orchestration_specs()),
        workers=tuple(spec.name for spec in options.worker_specs()),
        server_settings=settings,
        pgmq={"mode": report.pgmq_mode, "version": report.pgmq_version},
        schema_version=report.current_version,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    stackfile.save(home, state)
    return UpResult(state, already_running=False)


def down(home: Path, timeout_s: float = supervisor.STOP_TIMEOUT_S) -> DownResult:
    """Stop the services and the cluster under `home`, and remove stack.json."""
    state = stackfile.load(home)
    services = list(state.services.values()) if state else []
    alive = [s.name for s in services if processes.group_alive(s.pid)]
    killed = supervisor.stop(services, timeout_s=timeout_s)
    cluster_stopped = False
    if state is None or state.cluster is not None:
        cluster_stopped = postgres.stop(home)
    stackfile.remove(home)
    return DownResult(stopped=alive, killed=killed, cluster_stopped=cluster_stopped)


def database_health(url: str) -> dict[str, object]:
    """Whether `url` accepts a connection and answers SELECT 1."""
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return {"reachable": False, "error": str(error).strip()}
    return {"reachable": True, "error": None}


def status(home: Path) -> dict[str, object]:
    """The recorded stack with live health: every service's /health and the database."""
    state = stackfile.load(home)
    if state is None:
        raise SupervisorError(
            f"no stack is up under {home} ({stackfile.path(home)} is missing): "
            "start it with 'spanbench stack up'"
        )
    services: dict[str, object] = {}
    for name, service in state.services.items():
        result = supervisor.health(service.url)
        services[name] = {"url": service.url, "pid": service.pid,
                          "pid_alive": processes.alive(service.pid), **result}
    database = database_health(state.database_url)
    healthy = bool(database["reachable"]) and all(
        bool(entry["healthy"]) for entry in services.values()  # type: ignore[index]
    )
    recorded = state.to_json()
    return {
        "healthy": healthy,
        **{key: recorded[key] for key in ("database_url", "orchestration_url",
                                          "orchestration_urls", "worker_urls", "pids")},
        "health": {"services": services, "database": database},
        "pgmq": state.pgmq,
        "schema_version": state.schema_version,
        "started_at": state.started_at,
    }
