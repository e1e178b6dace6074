"""Run `spanbench collect` as a subprocess for a test, post raw OTLP to it, read its Parquet.

from tests.sink_harness import SinkProcess, read_spans

with SinkProcess(tmp_path / "runs") as sink:
    ... export to sink.http_url / sink.grpc_address ...
    assert sink.stop() == 0
rows = read_spans(tmp_path / "runs", "my-run")
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from extract.analyse.duckdb_runner import list_runs, open_runs, part_files
from extract.receive.columns import as_key_values

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 20.0
SPAN_COLUMNS = """
    SpanId, TraceId, ParentSpanId, TraceState, SpanName, SpanKind, ServiceName,
    ResourceAttributes, ResourceAttributeTypes, ScopeName, ScopeVersion,
    SpanAttributes, SpanAttributeTypes, StatusCode, StatusMessage, RunId,
    epoch_ns(Timestamp) AS start_ns, epoch_ns(EndTimestamp) AS end_ns, Duration,
    list_transform(Events, lambda e: {
        'time_ns': epoch_ns(e.Timestamp), 'name': e.Name,
        'attributes': e.Attributes, 'types': e.AttributeTypes}) AS events,
    Links
"""


class SinkProcess:
    """`python -m spanbench collect` on free ports, writing to `out`."""

    def __init__(
        self, out: Path, *args: str, env: dict[str, str] | None = None, grpc: bool = True
    ) -> None:
        self.out = out
        self.ready_file = out.parent / f"sink-{uuid.uuid4().hex[:8]}.json"
        self.log_file = out.parent / f"{self.ready_file.stem}.log"
        self.command = [
            sys.executable, "-m", "spanbench", "collect", "--listen", "127.0.0.1:0",
            "--grpc", "127.0.0.1:0" if grpc else "off", "--out", str(out),
            "--ready-file", str(self.ready_file), *args,
        ]  # fmt: skip
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}

    def start(self) -> SinkProcess:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        out = self.log_file.open("ab")
        self.process = subprocess.Popen(
            self.command, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT
        )
        out.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"sink exited with {self.process.returncode}: {self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"sink not ready after {READY_TIMEOUT_S} s: {self.log()}")
            time.sleep(0.02)
        self.ready = json.loads(self.ready_file.read_text())
        return self

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    @property
    def http_url(self) -> str:
        """Base URL, as OTEL_EXPORTER_OTLP_ENDPOINT means it."""
        return f"http://{self.ready['http']}"

    @property
    def traces_url(self) -> str:
        return f"{self.http_url}/v1/traces"

    @property
    def grpc_address(self) -> str:
        return str(self.ready["grpc"])

    def status(self) -> dict[str, Any]:
        return httpx.get(f"{self.http_url}/status", timeout=5).json()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal the sink and wait for it; its exit code."""
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired as error:
            self.process.kill()
            self.process.wait()
            message = f"sink still running {timeout} s after signal {sig}: {self.log()}"
            raise AssertionError(message) from error

    def kill(self) -> None:
        """kill -9."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def __enter__(self) -> SinkProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def read_spans(out: Path, run_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every row of the runs (all runs when None), maps as dicts, times as epoch ns."""
    if run_ids is None and not list_runs(out):
        return []
    connection = open_runs(out, run_ids)
    try:
        result = connection.execute(f"SELECT {SPAN_COLUMNS} FROM spans")
        names = [column[0] for column in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        connection.close()


def all_part_files(out: Path) -> list[Path]:
    return [path for run in list_runs(out) for path in part_files(out, run)]


def make_request(
    count: int, run_id: str | None, name: str = "op", **attributes: object
) -> tuple[ExportTraceServiceRequest, list[str]]:
    """A request of `count` spans with fresh random ids; returns it and the hex span ids."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(as_key_values({"service.name": "sink-test"}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "tests.sink"
    now = time.time_ns()
    ids = []
    base = {"bench.run_id": run_id} if run_id is not None else {}
    for index in range(count):
        span_id = os.urandom(8)
        span = scope_spans.spans.add(
            trace_id=os.urandom(16),
            span_id=span_id,
            name=name,
            kind=Span.SpanKind.SPAN_KIND_INTERNAL,
            start_time_unix_nano=now + index,
            end_time_unix_nano=now + index + 1000,
        )
        span.attributes.extend(as_key_values({**base, "index": index, **attributes}))
        ids.append(span_id.hex())
    return request, ids


def count_spans(out: Path) -> dict[str, tuple[int, int]]:
    """Per run directory: (rows the sink stored, distinct span ids)."""
    counts = {}
    for run_id in list_runs(out):
        connection = open_runs(out, [run_id])
        try:
            query = "SELECT count(*), count(DISTINCT SpanId) FROM spans_as_stored"
            row = connection.execute(query).fetchone()
        finally:
            connection.close()
        assert row is not None
        counts[run_id] = (int(row[0]), int(row[1]))
    return counts


def client_process(
    endpoint: str, run_id: str, count: int, protocol: str = "http"
) -> subprocess.Popen[bytes]:
    """Start `tests.sink_client`: the stock SDK exporting `count` spans of run `run_id`."""
    command = [sys.executable, "-m", "tests.sink_client", endpoint, run_id, str(count), protocol]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
