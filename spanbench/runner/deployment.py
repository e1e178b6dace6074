"""What a run measures and where its spans go: given by the environment, or started here.

The reference stack is started only when the environment names no deployment at all (no
DATABASE_URL, TASKER_TEST_ORCHESTRATION_URL or TASKER_TEST_WORKER_URL): a run never migrates,
starts services against or writes the schema of a database it did not create
('spanbench stack migrate' does that when asked). With a deployment named, the parts it does
not name stay absent and the suites that need them are skipped.

`deploy()` starts what is not given — the sink first (so the stack's services export to it),
then PostgreSQL and the stack — and, when the run ends, stops them in the order that loses no
span: the stack's services flush on SIGTERM before the sink converts its spool and exits.
A sink the run started is supervised: if it dies mid-run it is started again on the same port
(it converts what its predecessor spooled), and the exporters' retries deliver the rest.

The sink it starts listens on loopback, for OTLP/HTTP and OTLP/gRPC (tasker-core exports over
gRPC only), each on a free port kept across restarts, and wants a bearer token:
SPANBENCH_SINK_TOKEN, or a random one per run; the services get it in
OTEL_EXPORTER_OTLP_HEADERS, the drivers in `otlp_headers`. A stack it starts wants the
drivers' orchestration token when one is set (TASKER_ORCHESTRATION_AUTH_TOKEN or
TASKER_AUTH_TOKEN) as SPANBENCH_STACK_TOKEN.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from extract.store.runstore import RunStore
from instrument.settings import orchestration_auth_headers
from spanbench import settings
from stack.local import lifecycle

SINK_START_TIMEOUT_S = 30.0
SINK_STOP_TIMEOUT_S = 120.0
SINK_WATCH_S = 0.1

log = logging.getLogger(__name__)


class DeploymentError(RuntimeError):
    """Something the run needed could not be started."""


@dataclass
class Deployment:
    database_url: str | None
    orchestration_url: str | None
    worker_urls: tuple[str, ...]
    otlp_endpoint: str
    runs_dir: RunStore
    """Where the spans land as Parquet (the run's own sink, or --out for an external one)."""
    started: list[str] = field(default_factory=list)
    server_settings: dict[str, str] = field(default_factory=dict)
    sink_restarts: list[dict[str, object]] = field(default_factory=list)
    stack_telemetry: list[dict[str, object]] = field(default_factory=list)
    """Span counts of each stack process the run started that stopped cleanly (filled at the
    end of `deploy`; a killed process leaves none)."""
    """Each time the run's sink died and was started again: its exit code, when, the new pid."""
    otlp_headers: dict[str, str] | None = None
    """Headers of the drivers' exports (the sink's token); None: OTEL_EXPORTER_OTLP_HEADERS."""
    started_sink: bool = False
    """The sink is the run's own (it takes spans only from what the run started)."""
    started_stack: bool = False
    """The deployment is spanbench's stack, started by this run to export to its sink."""
    system_processes: tuple[int, ...] | None = None
    """The roots of the process trees of the system under test when all are known (the stack
    this run started); None otherwise (spanbench.runner.machine_load)."""
    sink_grpc_endpoint: str | None = None
    """The run's own sink's OTLP/gRPC endpoint (`http://host:port`); None for an external sink."""


@dataclass
class SinkProcess:
    process: subprocess.Popen[bytes]
    endpoint: str
    log_file: Path
    grpc_endpoint: str | None = None
    """Where it takes OTLP/gRPC (`http://host:port`); None when it does not."""

    def stop(self) -> int:
        """SIGTERM, then wait for the spool to be converted; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=SINK_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise DeploymentError(f"the sink did not finish converting within "
                                  f"{SINK_STOP_TIMEOUT_S:.0f} s; see {self.log_file}") from None


def start_sink(runs_dir: RunStore, log_dir: Path, forward: tuple[str, ...] = (),
               listen: str = "127.0.0.1:0", append_log: bool = False,
               token: str | None = None, grpc_listen: str = "127.0.0.1:0") -> SinkProcess:
    """`spanbench collect` on `listen` for OTLP/HTTP and `grpc_listen` for OTLP/gRPC ('off':
    none; free loopback ports by default), in its own process (never the drivers').

    `forward`: OTLP/HTTP endpoints the sink also sends every acknowledged request to.
    `token`: the sink answers 401 to exports without `Authorization: Bearer <token>`.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    ready = log_dir / "sink.ready.json"
    ready.unlink(missing_ok=True)
    log_file = log_dir / "sink.log"
    with log_file.open("ab" if append_log else "wb") as sink_log:
        process = subprocess.Popen(
            [sys.executable, "-m", "spanbench", "collect", "--listen", listen,
             "--grpc", grpc_listen, "--out", str(runs_dir), "--ready-file", str(ready),
             *(arg for url in forward for arg in ("--forward", url))],
            stdin=subprocess.DEVNULL, stdout=sink_log, stderr=subprocess.STDOUT,
            start_new_session=True, env={**os.environ, settings.SINK_TOKEN: token or ""})
    deadline = time.monotonic() + SINK_START_TIMEOUT_S
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise DeploymentError(f"the sink did not start; see {log_file}:\n"
                                  f"{log_file.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)
    bound = json.loads(ready.read_text())
    grpc_address = bound.get("grpc")
    return SinkProcess(process, f"http://{bound['http']}", log_file,
                       f"http://{grpc_address}" if grpc_address else None)


class SupervisedSink:
    """The run's sink, started again on the same port whenever it dies before `stop`."""

    def __init__(self, runs_dir: RunStore, log_dir: Path, forward: tuple[str, ...],
                 restarts: list[dict[str, object]], token: str | None = None) -> None:
        self._runs_dir, self._log_dir, self._forward = runs_dir, log_dir, forward
        self._token = token
        self.current = start_sink(runs_dir, log_dir, forward, token=token)
        self.endpoint = self.current.endpoint
        self.grpc_endpoint = self.current.grpc_endpoint
        self.restarts = restarts
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="spanbench-sink-supervisor",
                                        daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(SINK_WATCH_S):
            with self._lock:
                code = self.current.process.poll()
                if code is None or self._stopping.is_set():
                    continue
                log.warning("the run's sink exited with %s; starting it again on %s", code,
                            self.endpoint)
                try:
                    replacement = start_sink(self._runs_dir, self._log_dir, self._forward,
                                             listen=self.endpoint.removeprefix("http://"),
                                             append_log=True, token=self._token,
                                             grpc_listen=self._grpc_listen())
                except DeploymentError as error:
                    log.error("could not restart the sink (trying again): %s", error)
                    continue
                self.restarts.append({"exit_code": code, "pid": replacement.process.pid,
                                      "restarted_at": time.time_ns()})
                self.current = replacement

    def _grpc_listen(self) -> str:
        """The first sink's gRPC address, for its replacement ('off' when it had none)."""
        return self.grpc_endpoint.removeprefix("http://") if self.grpc_endpoint else "off"

    @property
    def log_file(self) -> Path:
        return self.current.log_file

    def stop(self) -> int:
        """Stop supervising, then stop the sink (it converts its spool); its exit code."""
        self._stopping.set()
        self._thread.join(timeout=SINK_START_TIMEOUT_S + 5)
        with self._lock:
            return self.current.stop()


def _stack_counts(directory: Path) -> list[dict[str, object]]:
    counts = []
    for path in sorted(directory.glob("*.json")):
        try:
            counts.append(json.loads(path.read_text()))
        except (OSError, ValueError) as error:
            log.warning("unreadable span counts %s: %s", path, error)
    return counts


def sink_token() -> str:
    """The token of the run's own sink: SPANBENCH_SINK_TOKEN, else a random one."""
    return settings.env(settings.SINK_TOKEN) or secrets.token_urlsafe(32)


def otlp_headers_variable(token: str) -> str:
    """OTEL_EXPORTER_OTLP_HEADERS carrying `token` (values are percent-encoded, per the spec)."""
    return f"authorization={quote(f'Bearer {token}', safe='')}"


def _stack_environment(deployment: Deployment, token: str | None) -> dict[str, str]:
    environment = {settings.OTEL_EXPORTER_OTLP_ENDPOINT: deployment.otlp_endpoint}
    if token is not None:
        environment[settings.OTEL_EXPORTER_OTLP_HEADERS] = otlp_headers_variable(token)
    bearer = orchestration_auth_headers().get("Authorization", "")
    if bearer.startswith("Bearer "):
        environment[settings.STACK_TOKEN] = bearer.removeprefix("Bearer ")
    return environment


def names_a_deployment() -> bool:
    """The environment names a deployment to measure (any part of it)."""
    return any(settings.env(variable) is not None for variable in (
        settings.DATABASE_URL, settings.TASKER_TEST_ORCHESTRATION_URL,
        settings.TASKER_TEST_WORKER_URL))


@contextmanager
def deploy(home: Path, runs_dir: RunStore, workers: int = 2,
           tee: tuple[str, ...] = ()) -> Iterator[Deployment]:
    """The deployment to measure: the run's sink unless an endpoint is named, and the
    reference stack only when no part of a deployment is named (`names_a_deployment`).

    `tee`: OTLP/HTTP endpoints that also get every span, through the run's own sink.
    """
    external_endpoint = settings.env(settings.OTEL_EXPORTER_OTLP_ENDPOINT)
    if tee and external_endpoint is not None:
        raise DeploymentError(
            f"--tee-otlp needs the run's own sink, but {settings.OTEL_EXPORTER_OTLP_ENDPOINT}="
            f"{external_endpoint} sends spans elsewhere: unset it, or have the receiver there "
            "(e.g. an OpenTelemetry Collector) fan out to both")
    external_orchestration = settings.env(settings.TASKER_TEST_ORCHESTRATION_URL)
    named = names_a_deployment()
    sink: SupervisedSink | None = None
    stack_home: Path | None = None
    deployment = Deployment(
        database_url=settings.env(settings.DATABASE_URL),
        orchestration_url=external_orchestration,
        worker_urls=settings.urls(settings.TASKER_TEST_WORKER_URL),
        otlp_endpoint=external_endpoint or "",
        runs_dir=runs_dir,
        otlp_headers=settings.otlp_headers(),
    )
    token = None
    try:
        if external_endpoint is None:
            token = sink_token()
            sink = SupervisedSink(runs_dir, home / "logs", tee, deployment.sink_restarts, token)
            deployment.otlp_endpoint = sink.endpoint
            deployment.sink_grpc_endpoint = sink.grpc_endpoint
            deployment.otlp_headers = {"authorization": f"Bearer {token}"}
            forwarding = f" (forwarding to {', '.join(tee)})" if tee else ""
            deployment.started.append(f"sink {sink.endpoint}{forwarding}")
            deployment.started_sink = True
        if not named:
            stack_home = home / "run-stack"
            counts_dir = stack_home / "telemetry"
            for stale in counts_dir.glob("*.json"):
                stale.unlink()
            options = lifecycle.StackOptions(
                workers=workers,
                environment={**_stack_environment(deployment, token),
                             settings.TELEMETRY_COUNTS_DIR: str(counts_dir)})
            started = lifecycle.up(stack_home, options)
            if started.already_running:  # left by an interrupted run: it exports elsewhere
                lifecycle.down(stack_home)
                started = lifecycle.up(stack_home, options)
            state = started.state
            deployment.database_url = state.database_url
            deployment.orchestration_url = state.orchestration_urls[0]
            deployment.worker_urls = tuple(state.worker_urls)
            deployment.server_settings = dict(state.server_settings)
            deployment.started.append(f"stack ({len(state.worker_urls)} workers)")
            deployment.started_stack = True
            deployment.system_processes = state.process_roots()
        yield deployment
    finally:
        try:
            if stack_home is not None:
                lifecycle.down(stack_home)
                deployment.stack_telemetry = _stack_counts(stack_home / "telemetry")
        finally:
            if sink is not None:
                code = sink.stop()
                if code != 0:
                    raise DeploymentError(f"the sink exited with {code}; see {sink.log_file}")
