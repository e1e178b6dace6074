"""Decoding OTLP bodies (protobuf and OTLP/JSON) and screening out invalid spans."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceState

from extract.receive.otlp_decode import (
    RUN_ID_PATTERN,
    OtlpDecodeError,
    decode_json,
    decode_lazy,
    decode_protobuf,
    run_id_of,
    screen,
)

T0 = 1_764_000_000_987_654_321


def sdk_request() -> ExportTraceServiceRequest:
    """Real SDK spans: kinds, statuses, typed attributes, events, a link with trace state."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "svc", "n": 3}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("scope", "0.9")
    linked = SpanContext(0xABC, 0xDEF, is_remote=True, trace_state=TraceState([("k", "v")]))
    root = tracer.start_span("root", kind=SpanKind.SERVER, start_time=T0)
    context = trace.set_span_in_context(root)
    for i, kind in enumerate((SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER)):
        span = tracer.start_span(
            f"child{i}",
            context=context,
            kind=kind,
            attributes={"bench.run_id": "r1", "i": 2**62 + i, "f": 0.5, "b": True, "a": (1, 2)},
            links=[Link(linked, {"w": i})],
            start_time=T0 + i,
        )
        span.add_event("ev", {"x": i, "bytes": b"\x00\x01"}, timestamp=T0 + i + 1)
        span.set_status(Status(StatusCode.ERROR, "bad") if i else Status(StatusCode.OK))
        span.end(end_time=T0 + 10 * (i + 1))
    root.end(end_time=T0 + 100)
    provider.shutdown()
    request = encode_spans(exporter.get_finished_spans())
    for span in request.resource_spans[0].scope_spans[0].spans:
        for link in span.links:
            link.trace_state = "k=v"  # the 1.45 encoder drops it
    return request


def otlp_json(request: ExportTraceServiceRequest, **options: Any) -> dict[str, Any]:
    """OTLP/JSON per the spec: protobuf JSON mapping, but trace and span ids in hex."""
    document = json_format.MessageToDict(request, **options)
    for resource_spans in document.get("resourceSpans", document.get("resource_spans", [])):
        for scope_spans in resource_spans.get("scopeSpans", resource_spans.get("scope_spans", [])):
            for span in scope_spans["spans"]:
                for message in (span, *span.get("links", [])):
                    for name in list(message):
                        if name.replace("_", "").lower() in ("traceid", "spanid", "parentspanid"):
                            message[name] = base64.b64decode(message[name]).hex()
    return document


def test_protobuf_round_trip() -> None:
    request = sdk_request()
    assert decode_protobuf(request.SerializeToString()) == request


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"use_integers_for_enums": True},
        {"preserving_proto_field_name": True, "always_print_fields_with_no_presence": True},
    ],
    ids=["camelCase-enum-names", "enum-ints", "snake_case"],
)
def test_otlp_json_gives_the_same_request(options: dict[str, Any]) -> None:
    request = sdk_request()
    document = otlp_json(request, **options)
    resource = document.get("resourceSpans", document.get("resource_spans"))[0]
    span = resource.get("scopeSpans", resource.get("scope_spans"))[0]["spans"][1]
    trace_id = request.resource_spans[0].scope_spans[0].spans[1].trace_id
    assert span.get("traceId", span.get("trace_id")) == trace_id.hex()  # hex, not base64
    assert decode_json(json.dumps(document).encode()) == request


def test_json_int64_as_numbers_and_unknown_fields() -> None:
    request = sdk_request()
    document = otlp_json(request)
    document["somethingNew"] = {"ignored": True}
    for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        span["startTimeUnixNano"] = int(span["startTimeUnixNano"])
        span["futureField"] = 1
    assert decode_json(json.dumps(document).encode()) == request


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[]", "expected an object"),
        (b'{"resourceSpans": 5}', "resourceSpans"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 7}]}]}]}', "name"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"kind": [2]}]}]}]}', "kind"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}',
            "startTimeUnixNano",
        ),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "hex"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "abc"}]}]}]}', "hex"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": 12}]}]}]}', "hex"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"links": [{"traceId": "0x1f"}]}]}]}]}',
            "link traceId must be a hex string",
        ),
    ],
)
def test_malformed_json_is_a_decode_error(body: bytes, says: str) -> None:
    with pytest.raises(OtlpDecodeError, match=says):
        decode_json(body)


def test_malformed_protobuf_is_a_decode_error() -> None:
    body = sdk_request().SerializeToString()
    for bad in (b"\xff\xff\xff\xff", b"garbage!", body[: len(body) // 2], body[:-1]):
        with pytest.raises(OtlpDecodeError, match="not a protobuf ExportTraceServiceRequest"):
            decode_protobuf(bad)
    assert decode_protobuf(b"") == ExportTraceServiceRequest()


def _span(name: str, **fields: Any) -> Span:
    values: dict[str, Any] = {
        "trace_id": b"\x01" * 16,
        "span_id": b"\x02" * 8,
        "start_time_unix_nano": T0,
        "end_time_unix_nano": T0 + 5,
        "name": name,
    }
    attributes = fields.pop("attributes", {})
    values.update(fields)
    span = Span(**values)
    for key, value in attributes.items():
        kv = span.attributes.add(key=key)
        if isinstance(value, int):
            kv.value.int_value = value
        else:
            kv.value.string_value = value
    return span


def _request(groups: list[tuple[dict[str, str], list[list[Span]]]]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for resource_attributes, scopes in groups:
        resource_spans = request.resource_spans.add()
        for key, value in resource_attributes.items():
            resource_spans.resource.attributes.add(key=key).value.string_value = value
        for spans in scopes:
            resource_spans.scope_spans.add().spans.extend(spans)
    return request


def _names(request: ExportTraceServiceRequest) -> list[list[list[str]]]:
    return [
        [[span.name for span in scope.spans] for scope in resource.scope_spans]
        for resource in request.resource_spans
    ]


def test_screen_keeps_a_valid_request_as_is() -> None:
    request = _request([({}, [[_span("a"), _span("b", parent_span_id=b"\x03" * 8)]])])
    screened = screen(request)
    assert screened.request is request
    assert (screened.accepted_spans, screened.rejected_spans, screened.error_message) == (2, 0, "")


INVALID = {
    "trace_id": {"trace_id": b"\x01" * 8},
    "zero trace": {"trace_id": bytes(16)},
    "span_id": {"span_id": b"\x02" * 16},
    "zero span": {"span_id": bytes(8)},
    "parent": {"parent_span_id": b"\x03" * 4},
    "backwards": {"end_time_unix_nano": T0 - 1},
    "year 2262": {"start_time_unix_nano": 2**63, "end_time_unix_nano": 2**64 - 1},
    "run id": {"attributes": {"bench.run_id": "../../etc"}},
    "run id type": {"attributes": {"bench.run_id": 17}},
}


@pytest.mark.parametrize("fields", INVALID.values(), ids=INVALID.keys())
def test_screen_drops_each_kind_of_invalid_span(fields: dict[str, Any]) -> None:
    request = _request(
        [
            ({}, [[_span("ok1"), _span("bad", **fields), _span("ok2")]]),
            ({}, [[_span("bad", **fields)], [_span("ok3")]]),
        ]
    )
    before = request.SerializeToString()
    screened = screen(request)
    assert (screened.accepted_spans, screened.rejected_spans) == (3, 2)
    assert _names(screened.request) == [[["ok1", "ok2"]], [["ok3"]]]
    assert screened.error_message.startswith("2 spans rejected: ")
    assert request.SerializeToString() == before  # the caller's request is untouched


def test_screen_summarises_reasons_and_drops_empty_containers() -> None:
    bad_event = _span("late event")
    bad_event.events.add(time_unix_nano=2**63)
    request = _request(
        [
            ({"bench.run_id": "../../etc"}, [[_span("r1"), _span("r2")], []]),
            ({"bench.run_id": "../../etc"}, [[_span("own", attributes={"bench.run_id": "ok.1"})]]),
            ({}, [[_span("t", trace_id=b""), bad_event, _span("fine")]]),
        ]
    )
    screened = screen(request)
    assert _names(screened.request) == [[["own"]], [["fine"]]]
    assert (screened.accepted_spans, screened.rejected_spans) == (2, 4)
    message = screened.error_message
    assert message.startswith("4 spans rejected: ")
    assert "bench.run_id '../../etc' is not a valid run id" in message and "(2)" in message
    assert "trace_id is not 16 bytes or is all zero (1)" in message
    assert "event's time_unix_nano" in message


def test_screen_removes_empty_containers_even_when_nothing_is_rejected() -> None:
    request = _request([({}, [[]]), ({}, [[_span("a")], []])])
    screened = screen(request)
    assert _names(screened.request) == [[["a"]]]
    assert (screened.accepted_spans, screened.rejected_spans, screened.error_message) == (1, 0, "")


def test_screen_counts_accepted_spans_per_service() -> None:
    request = _request(
        [
            ({"service.name": "orchestration"}, [[_span("a"), _span("b", trace_id=b"")]]),
            ({"service.name": "worker"}, [[_span("c")], [_span("d")]]),
            ({"service.name": "orchestration"}, [[_span("e")]]),
            ({}, [[_span("f")]]),
            ({"service.name": "rejected only"}, [[_span("g", span_id=bytes(8))]]),
        ]
    )
    assert screen(request).services == {"orchestration": 2, "worker": 2, "": 1}


def test_run_id_of_prefers_the_span() -> None:
    span, resource = KeyValue(key="bench.run_id"), KeyValue(key="bench.run_id")
    span.value.string_value, resource.value.string_value = "s", "r"
    other = KeyValue(key="x")
    assert run_id_of([other, span], [resource]) == "s"
    assert run_id_of([other], [resource]) == "r"
    assert run_id_of([other], []) is None


@pytest.mark.parametrize("run_id", ["a", "2026-01-01T10.30_x", "A" * 128])
def test_valid_run_ids(run_id: str) -> None:
    assert RUN_ID_PATTERN.fullmatch(run_id)


@pytest.mark.parametrize("run_id", ["", ".", "..", "../x", "a/b", "-a", "a b", "A" * 129, "é",
                                    "run\n", "a\x00b", "/etc", "a/../../b"])
def test_invalid_run_ids(run_id: str) -> None:
    assert not RUN_ID_PATTERN.fullmatch(run_id)


def test_decode_lazy_keeps_attributes_as_serialized_key_values() -> None:
    request = sdk_request()
    for lazy in (decode_lazy(request.SerializeToString()), decode_lazy(request)):
        for got, want in zip(
            lazy.resource_spans[0].scope_spans[0].spans,
            request.resource_spans[0].scope_spans[0].spans,
            strict=True,
        ):
            assert list(got.attributes) == [kv.SerializeToString() for kv in want.attributes]
            assert [list(e.attributes) for e in got.events] == [
                [kv.SerializeToString() for kv in e.attributes] for e in want.events
            ]
            assert (got.trace_id, got.name, got.kind, got.status.code) == (
                want.trace_id, want.name, want.kind, want.status.code,
            )  # fmt: skip
            assert [link.attributes for link in got.links] == [
                link.attributes for link in want.links
            ]  # links keep KeyValue messages
    with pytest.raises(OtlpDecodeError, match="not a protobuf"):
        decode_lazy(b"\xff\xff")
