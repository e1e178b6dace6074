"""Run the stack's service processes: start detached, wait for /health, stop without leftovers.

A service is `python -m <module> --host <host> --port <free port> [extra args]`, in its
own session, with stdout and stderr in <log_dir>/<name>.log. The host is 127.0.0.1 unless the
environment given names another in SPANBENCH_STACK_HOST.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from spanbench.settings import STACK_HOST
from stack.local import processes
from stack.settings import stack_host

HOST = "127.0.0.1"
WILDCARDS = ("0.0.0.0", "::")
HEALTH_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


class SupervisorError(RuntimeError):
    """A service process did not start, become healthy or stop."""


@dataclass(frozen=True)
class ServiceSpec:
    """What to run: a name (also the log file's), a module for `python -m`, extra arguments."""

    name: str
    module: str
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Service:
    """A started service process."""

    name: str
    module: str
    pid: int
    url: str
    log_file: Path

    def to_json(self) -> dict[str, object]:
        return {"module": self.module, "pid": self.pid, "url": self.url,
                "log_file": str(self.log_file)}

    @classmethod
    def from_json(cls, name: str, raw: Mapping[str, object]) -> Service:
        return cls(name=name, module=str(raw["module"]), pid=int(str(raw["pid"])),
                   url=str(raw["url"]), log_file=Path(str(raw["log_file"])))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _log_tail(log_file: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def service_url(host: str, port: int) -> str:
    """How this machine reaches a service listening on host:port."""
    if host in WILDCARDS:
        host = HOST
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def launch(spec: ServiceSpec, env: Mapping[str, str], log_dir: Path) -> Service:
    """Start one service detached from this process (its own session)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"{spec.name}.log"
    port = free_port()
    host = stack_host(env.get(STACK_HOST))
    command = [sys.executable, "-m", spec.module, "--host", host, "--port", str(port),
               *spec.extra_args]
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=dict(env), start_new_session=True,
        )
    return Service(spec.name, spec.module, process.pid, service_url(host, port), log_file)


def health(url: str, timeout_s: float = 2.0) -> dict[str, object]:
    """GET <url>/health: {healthy, status_code, body, error}."""
    try:
        response = httpx.get(f"{url}/health", timeout=timeout_s)
    except httpx.HTTPError as error:
        return {"healthy": False, "status_code": None, "body": None, "error": str(error)}
    try:
        body: object = response.json()
    except ValueError:
        body = response.text
    healthy = response.status_code == 200 and isinstance(body, dict) and (
        body.get("status") == "healthy"
    )
    return {"healthy": healthy, "status_code": response.status_code, "body": body, "error": None}


def wait_healthy(services: Iterable[Service], timeout_s: float = HEALTH_TIMEOUT_S) -> None:
    """Wait until every service answers /health with 200, or raise naming its log file."""
    deadline = time.monotonic() + timeout_s
    pending = list(services)
    while pending:
        for service in list(pending):
            if not processes.alive(service.pid):
                raise SupervisorError(
                    f"{service.name} ({service.module}) exited during start-up; "
                    f"see {service.log_file}:\n{_log_tail(service.log_file)}"
                )
            if health(service.url, timeout_s=1.0)["healthy"]:
                pending.remove(service)
        if pending and time.monotonic() > deadline:
            names = ", ".join(f"{s.name} (log {s.log_file})" for s in pending)
            raise SupervisorError(f"not healthy after {timeout_s:.0f} s: {names}")
        if pending:
            time.sleep(0.05)


def start_all(
    specs: Iterable[ServiceSpec], env: Mapping[str, str], log_dir: Path,
    timeout_s: float = HEALTH_TIMEOUT_S,
) -> list[Service]:
    """Start every service and wait for all to be healthy; on failure stop them all."""
    services: list[Service] = []
    try:
        for spec in specs:
            services.append(launch(spec, env, log_dir))
        wait_healthy(services, timeout_s)
    except BaseException:
        stop(services)
        raise
    return services


def _ours(service: Service) -> bool:
    """Whether the live process `service.pid` still runs our module (pids get reused)."""
    argv = processes.command_line(service.pid)
    return not argv or service.module in argv


def _signal_group(pid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, signum)


def _wait_gone(groups: list[int], deadline: float) -> list[int]:
    while True:
        left = [pgid for pgid in groups if processes.group_alive(pgid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


def stop(services: Iterable[Service], timeout_s: float = STOP_TIMEOUT_S) -> list[str]:
    """SIGTERM each service's process group, SIGKILL the groups left after `timeout_s`.

    Returns the names of the services that had to be killed.
    """
    targets = {s.pid: s for s in services if processes.group_alive(s.pid) and _ours(s)}
    for pid in targets:
        _signal_group(pid, signal.SIGTERM)
    stubborn = _wait_gone(list(targets), time.monotonic() + timeout_s)
    for pid in stubborn:
        _signal_group(pid, signal.SIGKILL)
    left = _wait_gone(stubborn, time.monotonic() + 5)
    if left:
        raise SupervisorError(f"process groups {left} survived SIGKILL")
    return [targets[pid].name for pid in stubborn]
