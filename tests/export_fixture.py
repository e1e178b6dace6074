"""A run of hand-made traces in the Parquet store, every field the store keeps exercised:
typed attributes of every kind, events, links, status, kinds, trace state, two resources,
two scopes, warm-up iterations and several scenarios, with exactly known durations."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from extract.receive.columns import as_key_values
from spanbench.vocabulary import Attr
from tests.fake_runs import write_request

RUN_ID = "20261129T000000Z-export"
BASE_NS = 1_764_374_400_123_456_789  # sub-microsecond digits on purpose
SUITE = "e2e_latency"


def trace_id(index: int) -> bytes:
    return bytes([0xA0 + index]) + bytes(14) + bytes([index + 1])


def span_id(trace: int, index: int) -> bytes:
    return bytes([0x10 + trace, 0, 0, 0, 0, 0, index >> 8, index & 0xFF])


def build_request() -> ExportTraceServiceRequest:
    """Six traces: (scenario, root duration ns, warmup). Trace 5 is a warm-up, the slowest;
    trace 4 ran with stack tracing off (bench.stack_traced false on its root)."""
    plan = [("linear_3", 4_000_123, False), ("diamond_4", 9_500_777, False),
            ("linear_3", 7_250_001, False), ("tree_7", 1_000_999, False),
            ("diamond_4", 3_333_333, False), ("linear_3", 50_000_000, True)]
    request = ExportTraceServiceRequest()
    driver = request.resource_spans.add()
    driver.resource.attributes.extend(as_key_values({"service.name": "spanbench-driver",
                                            "host.cpus": 2, "bench.ratio": 0.5}))
    driver_scope = driver.scope_spans.add()
    driver_scope.scope.name, driver_scope.scope.version = "instrument.e2e", "1.2.3"
    stack = request.resource_spans.add()
    stack.resource.attributes.extend(as_key_values({"service.name": "tasker-worker", "pid": 4242}))
    stack_scope = stack.scope_spans.add()
    stack_scope.scope.name = "stack.engine.worker"
    other_scope = stack.scope_spans.add()
    other_scope.scope.name, other_scope.scope.version = "stack.sql", "0.1"
    for index, (scenario, duration, warmup) in enumerate(plan):
        start = BASE_NS + index * 100_000_000
        bench = {Attr.RUN_ID: RUN_ID, Attr.SUITE: SUITE, Attr.SCENARIO: scenario,
                 Attr.ITERATION: index, Attr.WARMUP: warmup}
        root = driver_scope.spans.add(
            trace_id=trace_id(index), span_id=span_id(index, 1), name="e2e.workflow",
            kind=Span.SpanKind.SPAN_KIND_CLIENT, start_time_unix_nano=start,
            end_time_unix_nano=start + duration, trace_state="vendor=abc,other=1")
        traced = {Attr.STACK_TRACED: index != 4}
        root.attributes.extend(as_key_values({**bench, **traced, "bench.phase": "e2e.workflow",
                                     "payload": b"\x00\x01\xfe", "ratio": 0.1,
                                     "steps": ["a", "b"], "counts": [1, 2, 3],
                                     "nested": {"k": "v", "n": 1}, "big": -(2**62)}))
        root.status.code = Status.StatusCode.STATUS_CODE_OK
        child = stack_scope.spans.add(
            trace_id=trace_id(index), span_id=span_id(index, 2), parent_span_id=span_id(index, 1),
            name="execute", kind=Span.SpanKind.SPAN_KIND_CONSUMER,
            start_time_unix_nano=start + 1_001, end_time_unix_nano=start + duration // 2 + 7)
        child.attributes.extend(as_key_values({**bench, "bench.phase": "execute", "handler": "noop",
                                      "error": False}))
        child.status.code = Status.StatusCode.STATUS_CODE_ERROR
        child.status.message = "handler raised ValueError"
        event = child.events.add(time_unix_nano=start + 2_345, name="exception")
        event.attributes.extend(as_key_values({"exception.type": "ValueError", "attempt": 2}))
        child.events.add(time_unix_nano=start + 3_999, name="retry")
        link = child.links.add(trace_id=trace_id((index + 1) % len(plan)),
                               span_id=span_id((index + 1) % len(plan), 1),
                               trace_state="t=1")
        link.attributes.extend(as_key_values({"link.reason": "batch"}))
        sql = other_scope.spans.add(
            trace_id=trace_id(index), span_id=span_id(index, 3), parent_span_id=span_id(index, 2),
            name="sql.get_next_ready_tasks", kind=Span.SpanKind.SPAN_KIND_INTERNAL,
            start_time_unix_nano=start + 5_000, end_time_unix_nano=start + 9_999)
        sql.attributes.extend(as_key_values({**bench, "db.system.name": "postgresql"}))
        unspecified = other_scope.spans.add(
            trace_id=trace_id(index), span_id=span_id(index, 4), parent_span_id=span_id(index, 1),
            name="unspecified kind", start_time_unix_nano=start + 20_000,
            end_time_unix_nano=start + 20_000)
        unspecified.attributes.extend(as_key_values(bench))
    return request


def write_run(runs_dir: Path) -> ExportTraceServiceRequest:
    """Store the request as the run's Parquet (as the sink would); return the request."""
    request = build_request()
    write_request(runs_dir, request, "00000000000000000000-0000")
    return request


def _value(value: AnyValue) -> object:
    return json_format.MessageToDict(value)


def _attributes(attributes: Iterable[KeyValue]) -> dict[str, object]:
    return {kv.key: _value(kv.value) for kv in attributes}


def canonical(requests: Iterable[ExportTraceServiceRequest]) -> dict[str, dict[str, object]]:
    """Every span of the requests by hex span id, with everything the store keeps."""
    spans: dict[str, dict[str, object]] = {}
    for request in requests:
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                scope = (scope_spans.scope.name, scope_spans.scope.version)
                for span in scope_spans.spans:
                    assert span.span_id.hex() not in spans, "a span id twice"
                    spans[span.span_id.hex()] = {
                        "trace": span.trace_id.hex(), "parent": span.parent_span_id.hex(),
                        "name": span.name, "kind": span.kind, "trace_state": span.trace_state,
                        "start": span.start_time_unix_nano, "end": span.end_time_unix_nano,
                        "status": (span.status.code, span.status.message),
                        "attributes": _attributes(span.attributes),
                        "events": [(event.time_unix_nano, event.name,
                                    _attributes(event.attributes)) for event in span.events],
                        "links": [(link.trace_id.hex(), link.span_id.hex(), link.trace_state,
                                   _attributes(link.attributes)) for link in span.links],
                        "resource": resource, "scope": scope,
                    }
    return spans
