"""The columnar `to_tables` builds exactly the table a plain span-by-span reading gives.

The reference below walks each span of fully decoded messages and builds one row per span
(the first occurrence of a repeated key winning), as the converter did before it read
fields column by column and let Arrow assemble the attribute maps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from extract.receive import columns
from extract.receive.columns import (
    SPAN_KINDS,
    STATUS_CODES,
    as_key_values,
    decode_key_values,
    text_of,
    to_tables,
)
from extract.receive.otlp_decode import decode_protobuf
from extract.store.parquet_store import SCHEMA

T0 = 1_764_000_000_123_456_789
EVERY_KIND: dict[str, Any] = {
    "bench.run_id": "run-a",
    "bench.suite": "e2e_latency",
    "bench.iteration": 3,
    "bench.warmup": True,
    "text": 'héllo, "world"',
    "text.empty": "",
    "int.max": 2**63 - 1,
    "int.min": -(2**63),
    "double": 0.1,
    "double.inf": math.inf,
    "double.-inf": -math.inf,
    "double.nan": math.nan,
    "double.-0": -0.0,
    "bool": False,
    "bytes": b"\x00\xffspan",
    "bytes.empty": b"",
    "none": None,
    "array": ["a", 1, 2.5, True, None, b"\x01", [1, {"k": "v"}]],
    "array.empty": [],
    "kvlist": {"k": "v", "n": 1, "nested": {"x": [1, "y", 0.5]}, "b": b"\x02"},
    "kvlist.empty": {},
}


def _key_value(key: str, value: Any) -> KeyValue:
    return as_key_values({key: value})[0]


def every_field_request() -> ExportTraceServiceRequest:
    """Two resources, three scopes, spans with every field, attribute kind and oddity."""
    request = ExportTraceServiceRequest()
    first = request.resource_spans.add()
    first.resource.attributes.extend(
        as_key_values({"service.name": "svc", "host.cores": 8, "tags": ["ci", "perf"]})
    )
    first.resource.attributes.append(_key_value("service.name", "second wins not"))
    scope = first.scope_spans.add()
    scope.scope.name, scope.scope.version = "spanbench.test", "1.2.3"
    span = scope.spans.add(
        trace_id=bytes(range(16)), span_id=bytes(range(1, 9)), parent_span_id=bytes(8),
        trace_state="vendor=abc", name="everything", kind=7,
        start_time_unix_nano=T0, end_time_unix_nano=T0 + 123_456_789,
    )  # fmt: skip
    span.status.code, span.status.message = 5, "odd status"
    span.attributes.extend(as_key_values(EVERY_KIND))
    span.attributes.extend([_key_value("text", "dup"), _key_value("bool", 1)])
    event = span.events.add(time_unix_nano=T0 + 7, name="claimed")
    event.attributes.extend(as_key_values({"msg.id": 1, "f": 1.25, "raw": b"\x03", "q": "q"}))
    event.attributes.append(_key_value("msg.id", "dup"))
    span.events.add(time_unix_nano=T0 + 9, name="empty")
    link = span.links.add(trace_id=bytes([9]) * 16, span_id=bytes([8]) * 8, trace_state="x=1")
    link.attributes.extend(as_key_values({"link.int": 4, "link.arr": ["x"], "link.none": None}))
    link.attributes.append(_key_value("link.int", 5))
    span.links.add(trace_id=bytes([7]) * 16, span_id=bytes([6]) * 8)
    for n in range(3):
        plain = scope.spans.add(
            trace_id=bytes([n + 1]) * 16, span_id=bytes([n + 1]) * 8,
            parent_span_id=bytes([n + 2]) * 8 if n else b"", name=f"plain.{n}", kind=n,
            start_time_unix_nano=T0 + n, end_time_unix_nano=T0 + 2 * n,
        )  # fmt: skip
        plain.status.code = n
        plain.attributes.extend(as_key_values({"bench.run_id": "run-a", "bench.iteration": n}))
    empty_scope = first.scope_spans.add()
    empty_scope.spans.add(
        trace_id=bytes([4]) * 16, span_id=bytes([4]) * 8, name="no attributes",
        start_time_unix_nano=T0, end_time_unix_nano=T0,
    )  # fmt: skip
    second = request.resource_spans.add()
    second.resource.attributes.extend(
        as_key_values({"bench.run_id": "run-b", "bench.iteration": "12", "bench.warmup": "true"})
    )
    other = second.scope_spans.add()
    other.scope.name = "other"
    for n in range(2):
        other.spans.add(
            trace_id=bytes([5]) * 16, span_id=bytes([5 + n]) * 8, name="from resource",
            kind=2, start_time_unix_nano=T0, end_time_unix_nano=T0 + 1,
        ).attributes.extend(as_key_values({"bench.phase": "claim", "n": n}))  # fmt: skip
    return request


def _maps(attributes: Iterable[KeyValue]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    first: dict[str, tuple[str, str | None]] = {}
    for kv in attributes:
        first.setdefault(kv.key, text_of(kv.value))
    return (
        [(key, text) for key, (text, _) in first.items()],
        [(key, type_name) for key, (_, type_name) in first.items() if type_name is not None],
    )


def reference_table(requests: Sequence[ExportTraceServiceRequest]) -> pa.Table:
    """One row per span, read field by field from decoded messages (no promoted columns)."""
    rows = []
    for request in requests:
        for resource_spans in request.resource_spans:
            resource, resource_types = _maps(resource_spans.resource.attributes)
            service = dict(resource).get("service.name", "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes, types = _maps(span.attributes)
                    parent = span.parent_span_id
                    rows.append({
                        "Timestamp": span.start_time_unix_nano,
                        "EndTimestamp": span.end_time_unix_nano,
                        "Duration": span.end_time_unix_nano - span.start_time_unix_nano,
                        "TraceId": span.trace_id.hex(),
                        "SpanId": span.span_id.hex(),
                        "ParentSpanId": parent.hex() if parent and parent != bytes(8) else "",
                        "TraceState": span.trace_state,
                        "SpanName": span.name,
                        "SpanKind": SPAN_KINDS.get(span.kind, f"SpanKind({span.kind})"),
                        "ServiceName": service,
                        "ResourceAttributes": resource,
                        "ResourceAttributeTypes": resource_types,
                        "ScopeName": scope_spans.scope.name,
                        "ScopeVersion": scope_spans.scope.version,
                        "SpanAttributes": attributes,
                        "SpanAttributeTypes": types,
                        "StatusCode": STATUS_CODES.get(
                            span.status.code, f"StatusCode({span.status.code})"
                        ),
                        "StatusMessage": span.status.message,
                        "Events": [
                            dict(zip(("Timestamp", "Name", "Attributes", "AttributeTypes"),
                                     (event.time_unix_nano, event.name, *_maps(event.attributes)),
                                     strict=True))
                            for event in span.events
                        ],
                        "Links": [
                            dict(zip(("TraceId", "SpanId", "TraceState", "Attributes",
                                      "AttributeTypes"),
                                     (link.trace_id.hex(), link.span_id.hex(), link.trace_state,
                                      *_maps(link.attributes)),
                                     strict=True))
                            for link in span.links
                        ],
                    })  # fmt: skip
    plain = pa.schema([field for field in SCHEMA if field.name not in _PROMOTED_COLUMNS])
    return pa.Table.from_pylist(rows, schema=plain)


_PROMOTED_COLUMNS = ("RunId", "Suite", "Scenario", "Phase", "Iteration", "Warmup")


def test_every_field_and_attribute_kind_matches_the_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request = every_field_request()
    body = request.SerializeToString()
    assert sorted(to_tables([request])) == ["run-a", "run-b", "unassigned"]
    monkeypatch.setattr(columns, "_split", lambda table: {"all": table})  # keep span order
    got = to_tables([body, request])["all"]  # bytes and a decoded message in one call
    expected = reference_table([decode_protobuf(body), request])
    assert got.num_rows == expected.num_rows == 14
    for name in expected.column_names:
        assert got.column(name).equals(expected.column(name)), name
    per_request = {
        "RunId": ["run-a"] * 4 + ["unassigned"] + ["run-b"] * 2,
        "Suite": ["e2e_latency"] + [None] * 6,
        "Phase": [None] * 5 + ["claim"] * 2,
        "Iteration": [3, 0, 1, 2, None, 12, 12],
        "Warmup": [True, None, None, None, None, True, True],
    }
    assert got.select(list(per_request)).to_pydict() == {
        name: values * 2 for name, values in per_request.items()
    }


def test_repeated_keys_keep_their_first_value_in_every_map() -> None:
    table = to_tables([every_field_request()])["run-a"].slice(0, 1)
    row = table.select(["ServiceName", "SpanAttributes", "SpanAttributeTypes"]).to_pylist()[0]
    attributes, types = dict(row["SpanAttributes"]), dict(row["SpanAttributeTypes"])
    assert len(row["SpanAttributes"]) == len(EVERY_KIND)
    assert (attributes["text"], attributes["bool"], types["bool"]) == (
        'héllo, "world"',
        "false",
        "bool",
    )
    assert "text" not in types and row["ServiceName"] == "svc"
    events = table.column("Events").combine_chunks().flatten()
    assert events.field("Attributes").to_pylist()[0][0] == ("msg.id", "1")
    links = table.column("Links").combine_chunks().flatten()
    assert links.field("Attributes").to_pylist()[0][0] == ("link.int", "4")


def test_key_values_longer_than_a_one_byte_length_decode_alike() -> None:
    long_values = {"k" * 200: "v" * 300, "n": 2**62, "s": "x" * 20_000}
    raws = [kv.SerializeToString() for kv in as_key_values(long_values)]
    entries = decoded_key_values(raws)
    assert entries == [(kv.key, *text_of(kv.value)) for kv in as_key_values(long_values)]


def decoded_key_values(raws: list[bytes]) -> list[tuple[str, str, str | None]]:
    keys, texts, type_names = decode_key_values(pa.array(raws, pa.binary()))
    return list(zip(keys.to_pylist(), texts.to_pylist(), type_names.to_pylist(), strict=True))


def test_more_keys_than_the_bit_check_covers_still_drop_repeats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for n, repeat in enumerate((None, "k5", None, "k39")):
        span = spans.add(trace_id=bytes([n + 1]) * 16, span_id=bytes([n + 1]) * 8)
        span.attributes.extend(as_key_values({f"k{j}": j * n for j in range(40)}))
        if repeat:
            span.attributes.append(_key_value(repeat, "repeated"))
    monkeypatch.setattr(columns, "_split", lambda table: {"all": table})
    got = to_tables([request.SerializeToString()])["all"]
    expected = reference_table([request])
    for name in ("SpanAttributes", "SpanAttributeTypes"):
        assert got.column(name).equals(expected.column(name)), name
    assert [len(row) for row in got.column("SpanAttributes").to_pylist()] == [40] * 4


def test_length_headers_table_matches_the_varint_encoder() -> None:
    sizes = [0, 1, 127, 128, 129, 300, 16_383]
    table = columns._FIELD_ONE_HEADERS.take(pa.array(sizes)).to_pylist()
    assert table == [columns._field_one_header(size) for size in sizes]
    assert columns._field_one_header(300) == b"\x0a\xac\x02"  # protobuf's own example varint
