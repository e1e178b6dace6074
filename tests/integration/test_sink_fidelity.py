"""Every field the stock SDK exporters send survives the sink into Parquet (HTTP, gRPC, JSON)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from extract.receive.columns import decode_value
from tests.sink_harness import SinkProcess, read_spans

ATTRIBUTES: dict[str, Any] = {
    "str": "text ✓",
    "int": -(2**40),
    "double": 0.1,
    "bool": True,
    "strs": ["a", "b"],
    "ints": [1, 2, 3],
    "doubles": [1.5, -2.25],
    "bools": [True, False],
}


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SinkProcess]:
    with SinkProcess(tmp_path_factory.mktemp("fidelity") / "runs") as process:
        yield process


def _wait_written(sink: SinkProcess, at_least: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while (status := sink.status())["written_spans"] < at_least:
        assert time.monotonic() < deadline, f"spans not in Parquet after {timeout} s: {status}"
        time.sleep(0.05)


def _emit(exporter: SpanExporter, run_id: str) -> list[ReadableSpan]:
    """Spans with every kind of field, exported to the sink; returns what the SDK sent."""
    sent = InMemorySpanExporter()
    resource = Resource.create(
        {"service.name": "fidelity", "res.int": 7, "res.list": ["x", "y"], "bench.run_id": run_id}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(sent))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.fidelity", "1.2.3")
    remote = SpanContext(
        0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED), trace_state=TraceState([("vendor", "v1")]),
    )  # fmt: skip
    linked = SpanContext(0x1234, 0x5678, is_remote=True)
    with tracer.start_as_current_span(
        "root", context=set_span_in_context(NonRecordingSpan(remote)), kind=SpanKind.SERVER,
        attributes={**ATTRIBUTES, "bench.iteration": 3},
    ) as root:  # fmt: skip
        root.add_event("checkpoint", {"e.int": 1, "e.list": [0.5]}, timestamp=time.time_ns())
        root.add_event("bare")
        with tracer.start_as_current_span(
            "child", kind=SpanKind.CLIENT, links=[Link(linked, {"l.flag": False})]
        ) as child:
            child.set_status(Status(StatusCode.ERROR, "boom"))
        with tracer.start_as_current_span("ok", kind=SpanKind.PRODUCER) as ok:
            ok.set_status(Status(StatusCode.OK))
    with tracer.start_as_current_span("consumer", kind=SpanKind.CONSUMER):
        pass
    provider.shutdown()
    return list(sent.get_finished_spans())


def _typed(values: dict[str, str], types: dict[str, str]) -> dict[str, Any]:
    return {key: decode_value(text, types.get(key)) for key, text in values.items()}


def _plain(attributes: Any) -> dict[str, Any]:
    return {key: list(v) if isinstance(v, tuple) else v for key, v in dict(attributes).items()}


def _assert_same(span: ReadableSpan, row: dict[str, Any]) -> None:
    context = span.get_span_context()
    assert row["TraceId"] == format(context.trace_id, "032x")
    assert row["ParentSpanId"] == (format(span.parent.span_id, "016x") if span.parent else "")
    assert row["TraceState"] == context.trace_state.to_header()
    assert row["SpanName"] == span.name
    assert row["SpanKind"] == span.kind.name.capitalize()
    assert (row["start_ns"], row["end_ns"]) == (span.start_time, span.end_time)
    assert row["Duration"] == span.end_time - span.start_time
    assert _typed(row["SpanAttributes"], row["SpanAttributeTypes"]) == _plain(span.attributes)
    resource = _plain(span.resource.attributes)
    assert _typed(row["ResourceAttributes"], row["ResourceAttributeTypes"]) == resource
    assert row["ServiceName"] == resource["service.name"]
    assert (row["ScopeName"], row["ScopeVersion"]) == ("tests.fidelity", "1.2.3")
    assert row["StatusCode"] == span.status.status_code.name.capitalize()
    assert row["StatusMessage"] == (span.status.description or "")
    events = [
        (e["name"], e["time_ns"], _typed(e["attributes"], e["types"])) for e in row["events"]
    ]
    assert events == [(e.name, e.timestamp, _plain(e.attributes)) for e in span.events]
    links = [
        (link["TraceId"], link["SpanId"], _typed(link["Attributes"], link["AttributeTypes"]))
        for link in row["Links"]
    ]
    assert links == [
        (format(link.context.trace_id, "032x"), format(link.context.span_id, "016x"),
         _plain(link.attributes))
        for link in span.links
    ]  # fmt: skip


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_sdk_spans_survive(sink: SinkProcess, protocol: str) -> None:
    run_id = f"fidelity-{protocol}-{uuid.uuid4().hex[:8]}"
    exporter: SpanExporter
    if protocol == "http":
        exporter = HttpSpanExporter(endpoint=sink.traces_url)
    else:
        exporter = GrpcSpanExporter(endpoint=sink.grpc_address, insecure=True)
    before = sink.status()["written_spans"]
    sent = _emit(exporter, run_id)
    _wait_written(sink, before + len(sent))
    rows = {row["SpanId"]: row for row in read_spans(sink.out, [run_id])}
    assert len(rows) == len(sent) == 4
    for span in sent:
        _assert_same(span, rows[format(span.get_span_context().span_id, "016x")])
    assert {row["RunId"] for row in rows.values()} == {run_id}


def test_otlp_json_post(sink: SinkProcess) -> None:
    run_id = f"fidelity-json-{uuid.uuid4().hex[:8]}"
    trace_id = "5b8efff798038103d269b633813fc60c"
    span_id, parent = "eee19b7ec3c1b174", "eee19b7ec3c1b173"
    body = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json"}}]},
        "scopeSpans": [{"scope": {"name": "tests.json", "version": "9"}, "spans": [{
            "traceId": trace_id, "spanId": span_id, "parentSpanId": parent,
            "traceState": "k=v", "name": "posted", "kind": 3,
            "startTimeUnixNano": "1700000000000000001", "endTimeUnixNano": "1700000000000500001",
            "attributes": [
                {"key": "bench.run_id", "value": {"stringValue": run_id}},
                {"key": "n", "value": {"intValue": "42"}},
                {"key": "x", "value": {"doubleValue": 2.5}},
                {"key": "b", "value": {"boolValue": False}},
                {"key": "l", "value": {"arrayValue": {"values": [{"intValue": "1"},
                                                                 {"stringValue": "two"}]}}},
            ],
            "events": [{"timeUnixNano": "1700000000000000002", "name": "e",
                        "attributes": [{"key": "k", "value": {"stringValue": "v"}}]}],
            "links": [{"traceId": trace_id, "spanId": parent}],
            "status": {"code": 2, "message": "bad"},
        }]}],
    }]}  # fmt: skip
    before = sink.status()["written_spans"]
    response = httpx.post(sink.traces_url, json=body, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    _wait_written(sink, before + 1)
    [row] = read_spans(sink.out, [run_id])
    assert (row["TraceId"], row["SpanId"], row["ParentSpanId"]) == (trace_id, span_id, parent)
    assert (row["TraceState"], row["SpanName"], row["SpanKind"]) == ("k=v", "posted", "Client")
    assert (row["start_ns"], row["end_ns"]) == (1700000000000000001, 1700000000000500001)
    assert _typed(row["SpanAttributes"], row["SpanAttributeTypes"]) == {
        "bench.run_id": run_id, "n": 42, "x": 2.5, "b": False, "l": [1, "two"],
    }  # fmt: skip
    assert row["ServiceName"] == "json"
    assert (row["ScopeName"], row["ScopeVersion"]) == ("tests.json", "9")
    assert (row["StatusCode"], row["StatusMessage"]) == ("Error", "bad")
    assert [(e["name"], e["time_ns"], e["attributes"]) for e in row["events"]] == [
        ("e", 1700000000000000002, {"k": "v"})
    ]
    assert [(link["TraceId"], link["SpanId"]) for link in row["Links"]] == [(trace_id, parent)]
