"""<home>/stack.json: what `spanbench stack up` started, for `status`, `down` and drivers."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from stack.local import postgres
from stack.local.supervisor import Service

FILE_NAME = "stack.json"


class StackFileError(RuntimeError):
    """stack.json exists but cannot be read."""


@dataclass(frozen=True)
class StackState:
    """A running stack: its database, its services and what it was started with."""

    database_url: str
    cluster: dict[str, object] | None
    services: dict[str, Service]
    orchestration: tuple[str, ...]
    workers: tuple[str, ...]
    server_settings: dict[str, str]
    pgmq: dict[str, str]
    schema_version: int
    started_at: str

    @property
    def orchestration_urls(self) -> list[str]:
        return [self.services[name].url for name in self.orchestration]

    @property
    def worker_urls(self) -> list[str]:
        return [self.services[name].url for name in self.workers]

    @property
    def pids(self) -> dict[str, int]:
        return {name: service.pid for name, service in self.services.items()}

    def process_roots(self) -> tuple[int, ...] | None:
        """Every process the stack runs is one of these or a descendant (the postmaster's
        backends): its services and its cluster's postmaster. None when the database is not
        the stack's own cluster, so some of the system's processes are unknown."""
        if self.cluster is None:
            return None
        postmaster = postgres.postmaster_pid(postgres.Cluster.from_json(self.cluster))
        if postmaster is None:
            return None
        return (*self.pids.values(), postmaster)

    def to_json(self) -> dict[str, object]:
        return {
            "database_url": self.database_url,
            "cluster": self.cluster,
            "orchestration_url": (self.orchestration_urls or [None])[0],
            "orchestration_urls": self.orchestration_urls,
            "worker_urls": self.worker_urls,
            "pids": self.pids,
            "services": {name: s.to_json() for name, s in self.services.items()},
            "orchestration": list(self.orchestration),
            "workers": list(self.workers),
            "server_settings": self.server_settings,
            "pgmq": self.pgmq,
            "schema_version": self.schema_version,
            "started_at": self.started_at,
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> StackState:
        services = raw["services"]
        assert isinstance(services, dict)
        return cls(
            database_url=str(raw["database_url"]),
            cluster=raw.get("cluster"),  # type: ignore[arg-type]
            services={name: Service.from_json(name, s) for name, s in services.items()},
            orchestration=tuple(raw["orchestration"]),  # type: ignore[arg-type]
            workers=tuple(raw["workers"]),  # type: ignore[arg-type]
            server_settings=dict(raw["server_settings"]),  # type: ignore[call-overload]
            pgmq=dict(raw["pgmq"]),  # type: ignore[call-overload]
            schema_version=int(str(raw["schema_version"])),
            started_at=str(raw["started_at"]),
        )


def path(home: Path) -> Path:
    """Where the state file of the stack under `home` lives."""
    return home / FILE_NAME


def load(home: Path) -> StackState | None:
    """The recorded stack, or None when no stack.json exists."""
    file = path(home)
    if not file.is_file():
        return None
    try:
        return StackState.from_json(json.loads(file.read_text()))
    except (ValueError, KeyError, AssertionError) as error:
        raise StackFileError(
            f"{file} is unreadable ({error!r}): delete it and run the command again"
        ) from error


def save(home: Path, state: StackState) -> Path:
    """Write stack.json atomically (a reader never sees half a file)."""
    home.mkdir(parents=True, exist_ok=True)
    file = path(home)
    partial = file.with_suffix(".json.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the URL's password
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(state.to_json(), indent=2) + "\n")
    os.replace(partial, file)
    return file


def remove(home: Path) -> None:
    """Delete stack.json if present."""
    path(home).unlink(missing_ok=True)
