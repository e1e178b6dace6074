"""A tiny OTLP/HTTP trace receiver for tests: port 0, a queue, `get_spans(count, timeout)`.

def test_x(otlp_capture):   # a fixture: tests/conftest.py registers this module as a plugin
    ... export to otlp_capture.endpoint ...
    spans = otlp_capture.get_spans(2, timeout=5)
"""

from __future__ import annotations

import gzip
import queue
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class CapturedEvent:
    name: str
    time_ns: int
    attributes: dict[str, object]


@dataclass(frozen=True)
class CapturedSpan:
    """One received span, decoded; ids are lowercase hex, `parent_span_id` '' for a root."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: str
    start_ns: int
    end_ns: int
    attributes: dict[str, object]
    resource: dict[str, object]
    scope: str
    status_code: str
    status_message: str
    trace_state: str
    events: tuple[CapturedEvent, ...] = field(default_factory=tuple)

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return tuple(_value(item) for item in value.array_value.values)
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind)


def _attributes(pairs: list[KeyValue]) -> dict[str, object]:
    return {pair.key: _value(pair.value) for pair in pairs}


def decode_request(body: bytes) -> list[CapturedSpan]:
    """Decode an ExportTraceServiceRequest body into spans (pure, no sockets)."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    CapturedSpan(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        kind=Span.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_"),
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        attributes=_attributes(span.attributes),
                        resource=resource,
                        scope=scope_spans.scope.name,
                        status_code=Status.StatusCode.Name(span.status.code).removeprefix(
                            "STATUS_CODE_"
                        ),
                        status_message=span.status.message,
                        trace_state=span.trace_state,
                        events=tuple(
                            CapturedEvent(e.name, e.time_unix_nano, _attributes(e.attributes))
                            for e in span.events
                        ),
                    )
                )
    return spans


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


class OtlpCapture:
    """An OTLP/HTTP receiver on 127.0.0.1 (port 0) in a background thread."""

    def __init__(self) -> None:
        self._spans: queue.Queue[CapturedSpan] = queue.Queue()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="otlp-capture",
            daemon=True,
        )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        spans = self._spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != TRACES_PATH:
                    self.send_error(404)
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    body = _decompress(body, self.headers.get("Content-Encoding", ""))
                    for span in decode_request(body):
                        spans.put(span)
                except (DecodeError, OSError, zlib.error):
                    self.send_error(400)
                    return
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    @property
    def endpoint(self) -> str:
        """Base URL, as OTEL_EXPORTER_OTLP_ENDPOINT means it."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def traces_url(self) -> str:
        """Full traces URL, as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT means it."""
        return self.endpoint + TRACES_PATH

    def start(self) -> OtlpCapture:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OtlpCapture:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def get_spans(self, count: int, timeout: float = 5.0) -> list[CapturedSpan]:
        """Wait for `count` spans (in arrival order); AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        received: list[CapturedSpan] = []
        while len(received) < count:
            remaining = deadline - time.monotonic()
            try:
                received.append(self._spans.get(timeout=max(remaining, 0.0)))
            except queue.Empty:
                names = [span.name for span in received]
                raise AssertionError(
                    f"expected {count} spans within {timeout} s, got {len(received)}: {names}"
                ) from None
        return received

    def received(self) -> list[CapturedSpan]:
        """Every span received and not yet taken, without waiting."""
        spans = []
        while True:
            try:
                spans.append(self._spans.get_nowait())
            except queue.Empty:
                return spans


@pytest.fixture
def otlp_capture() -> Iterator[OtlpCapture]:
    """A running OtlpCapture, stopped after the test."""
    with OtlpCapture() as capture:
        yield capture
