"""Properties of the OTLP decoder under hostile input (Hypothesis).

Invariants: nothing but OtlpDecodeError escapes decoding; every span of a request is either
accepted or rejected, and an accepted span becomes exactly one Parquet row; a valid request
loses no span; memory for a bounded body stays bounded.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from extract.export.otlp_json import to_json
from extract.receive.columns import to_tables
from extract.receive.ingest import Format, prepare
from extract.receive.otlp_decode import OtlpDecodeError, decode_json, decode_protobuf
from tests.otlp_strategies import (
    hostile_spans,
    json_documents,
    requests,
    span_count,
    valid_spans,
)

HEAVY = settings(max_examples=max(10, settings.default.max_examples // 8))
"""Fewer examples for properties whose examples are whole generated requests."""
MEMORY_PER_BODY_BYTE = 200
"""Peak Python memory allowed per byte of body while decoding and screening it (+1 MiB)."""


def _prepare_or_reject(body: bytes, fmt: Format) -> None:
    """prepare() either raises OtlpDecodeError or accounts for every span it saw."""
    try:
        prepared = prepare(body, fmt)
    except OtlpDecodeError as error:
        assert str(error)
        return
    if prepared.payload is None:
        assert prepared.accepted_spans == 0
        return
    rows = sum(table.num_rows for table in to_tables([prepared.payload]).values())
    assert rows == prepared.accepted_spans


@given(st.binary(max_size=512))
def test_arbitrary_bytes_as_protobuf(body: bytes) -> None:
    _prepare_or_reject(body, Format.PROTOBUF)


@given(st.binary(max_size=512))
def test_arbitrary_bytes_as_json(body: bytes) -> None:
    _prepare_or_reject(body, Format.JSON)


@given(json_documents)
def test_otlp_shaped_json_with_wrong_types(document: object) -> None:
    body = json.dumps({"resourceSpans": document}).encode()
    _prepare_or_reject(body, Format.JSON)


@given(json_documents)
def test_arbitrary_json_documents(document: object) -> None:
    _prepare_or_reject(json.dumps(document).encode(), Format.JSON)


@HEAVY
@given(requests(hostile_spans()))
def test_hostile_messages_every_span_accounted_for(request: ExportTraceServiceRequest) -> None:
    body = request.SerializeToString()
    prepared = prepare(body, Format.PROTOBUF)
    assert prepared.accepted_spans + prepared.rejected_spans == span_count(request)
    assert bool(prepared.rejected_spans) == bool(prepared.error_message)
    if prepared.payload is not None:
        rows = sum(table.num_rows for table in to_tables([prepared.payload]).values())
        assert rows == prepared.accepted_spans


@HEAVY
@given(requests(hostile_spans()))
def test_hostile_messages_as_json_agree_with_protobuf(request: ExportTraceServiceRequest) -> None:
    from_json = prepare(json.dumps(to_json(request)).encode(), Format.JSON)
    from_protobuf = prepare(request.SerializeToString(), Format.PROTOBUF)
    assert from_json.accepted_spans == from_protobuf.accepted_spans
    assert from_json.rejected_spans == from_protobuf.rejected_spans


@HEAVY
@given(requests(valid_spans()))
def test_valid_protobuf_keeps_every_span(request: ExportTraceServiceRequest) -> None:
    body = request.SerializeToString()
    assert decode_protobuf(body) == request
    prepared = prepare(body, Format.PROTOBUF)
    assert (prepared.accepted_spans, prepared.rejected_spans) == (span_count(request), 0)
    if span_count(request):
        assert prepared.payload is not None
        tables = to_tables([prepared.payload])
        assert sum(table.num_rows for table in tables.values()) == span_count(request)


@HEAVY
@given(requests(valid_spans()))
def test_valid_json_round_trips(request: ExportTraceServiceRequest) -> None:
    body = json.dumps(to_json(request)).encode()
    # compared as dicts: NaN attribute values are unequal to themselves in messages
    assert json_format.MessageToDict(decode_json(body)) == json_format.MessageToDict(request)
    prepared = prepare(body, Format.JSON)
    assert (prepared.accepted_spans, prepared.rejected_spans) == (span_count(request), 0)


@HEAVY
@given(requests(valid_spans()), st.data())
def test_flipped_bytes_never_escape_as_other_errors(
    request: ExportTraceServiceRequest, data: st.DataObject
) -> None:
    body = bytearray(request.SerializeToString())
    for _ in range(data.draw(st.integers(1, 4))):
        if body:
            body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    _prepare_or_reject(bytes(body), Format.PROTOBUF)


@HEAVY
@given(requests(valid_spans()), st.sampled_from(["\ud800", "\x00", "\uffff", "\U0010ffff"]))
def test_json_strings_with_odd_code_points(request: ExportTraceServiceRequest, odd: str) -> None:
    document = to_json(request)
    text = json.dumps(document).replace('"name": "', f'"name": "{odd}')
    _prepare_or_reject(text.encode("utf-8", "surrogatepass"), Format.JSON)


@given(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1", "1.5", "\"\"",
                        "\"18446744073709551616\"", "18446744073709551615", "[]", "{}"]))
def test_json_non_numbers_in_timestamps(value: str) -> None:
    body = (
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' + "ab" * 16
        + '","spanId":"' + "cd" * 8 + '","startTimeUnixNano":' + value
        + ',"endTimeUnixNano":' + value + "}]}]}]}"
    ).encode()
    _prepare_or_reject(body, Format.JSON)


def test_duplicated_json_keys_take_the_last_value() -> None:
    body = (
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"' + "00" * 16
        + '","traceId":"' + "ab" * 16 + '","spanId":"' + "cd" * 8
        + '","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}'
    ).encode()
    assert prepare(body, Format.JSON).accepted_spans == 1


def _delimited(tag: int, payload: bytes) -> bytes:
    return bytes([tag]) + _varint(len(payload)) + payload


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _nested_value_bytes(depth: int, kind: str) -> bytes:
    """An AnyValue nested `depth` levels, built on the wire (past protobuf's own depth limit)."""
    value = _delimited(0x0A, b"leaf")  # string_value
    for _ in range(depth):
        if kind == "array":  # array_value { values: value }
            value = _delimited(0x2A, _delimited(0x0A, value))
        else:  # kvlist_value { values: { key: "k", value: value } }
            pair = _delimited(0x0A, b"k") + _delimited(0x12, value)
            value = _delimited(0x32, _delimited(0x0A, pair))
    return value


def _nested_request_bytes(depth: int, kind: str) -> bytes:
    span = ExportTraceServiceRequest().resource_spans.add().scope_spans.add().spans.add(
        trace_id=b"\x01" * 16, span_id=b"\x02" * 8, start_time_unix_nano=1, end_time_unix_nano=2
    )
    attribute = _delimited(0x0A, b"deep") + _delimited(0x12, _nested_value_bytes(depth, kind))
    span_bytes = span.SerializeToString() + _delimited(0x4A, attribute)
    return _delimited(0x0A, _delimited(0x12, _delimited(0x12, span_bytes)))


def _nested_json_value(depth: int, kind: str) -> dict[str, object]:
    value: dict[str, object] = {"stringValue": "leaf"}
    for _ in range(depth):
        if kind == "array":
            value = {"arrayValue": {"values": [value]}}
        else:
            value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    return value


@HEAVY
@given(st.integers(1, 300), st.sampled_from(["array", "kvlist"]))
def test_deeply_nested_attribute_values(depth: int, kind: str) -> None:
    _prepare_or_reject(_nested_request_bytes(depth, kind), Format.PROTOBUF)
    span = {"traceId": "01" * 16, "spanId": "02" * 8, "startTimeUnixNano": "1",
            "endTimeUnixNano": "2",
            "attributes": [{"key": "deep", "value": _nested_json_value(depth, kind)}]}
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()
    _prepare_or_reject(body, Format.JSON)


def test_nesting_within_protobufs_limit_is_kept() -> None:
    prepared = prepare(_nested_request_bytes(20, "kvlist"), Format.PROTOBUF)
    assert prepared.accepted_spans == 1


@given(st.integers(1, 100_000))
def test_deeply_nested_json_is_refused_not_crashed(depth: int) -> None:
    body = ('{"resourceSpans":' + "[" * depth + "]" * depth + "}").encode()
    _prepare_or_reject(body, Format.JSON)


@HEAVY
@given(st.one_of(requests(hostile_spans()).map(lambda r: (r.SerializeToString(), Format.PROTOBUF)),
                 json_documents.map(lambda d: (json.dumps(d).encode(), Format.JSON))))
def test_memory_is_bounded_by_the_body(case: tuple[bytes, Format]) -> None:
    body, fmt = case
    tracemalloc.start()
    try:
        _prepare_or_reject(body, fmt)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_PER_BODY_BYTE * len(body) + (1 << 20)


@given(st.binary(min_size=1, max_size=8).filter(lambda raw: not _is_utf8(raw)),
       st.sampled_from(["span name", "attribute key", "attribute value", "run id"]))
def test_invalid_utf8_in_protobuf_strings_is_a_decode_error(raw: bytes, where: str) -> None:
    span = ExportTraceServiceRequest().resource_spans.add().scope_spans.add().spans.add(
        trace_id=b"\x01" * 16, span_id=b"\x02" * 8, start_time_unix_nano=1, end_time_unix_nano=2
    )
    key, text = {"attribute key": (raw, b"v"), "attribute value": (b"k", raw),
                 "run id": (b"bench.run_id", raw)}.get(where, (b"k", b"v"))
    name = raw if where == "span name" else b"op"
    attribute = _delimited(0x0A, key) + _delimited(0x12, _delimited(0x0A, text))
    span_bytes = span.SerializeToString() + _delimited(0x2A, name) + _delimited(0x4A, attribute)
    body = _delimited(0x0A, _delimited(0x12, _delimited(0x12, span_bytes)))
    with pytest.raises(OtlpDecodeError):
        prepare(body, Format.PROTOBUF)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@given(st.binary(min_size=1, max_size=8).filter(lambda raw: not _is_utf8(raw)))
def test_invalid_utf8_in_json_is_a_decode_error(raw: bytes) -> None:
    body = b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"' + raw + b'"}]}]}]}'
    with pytest.raises(OtlpDecodeError):
        prepare(body, Format.JSON)
