"""OTLP → Arrow: real SDK spans survive encode → decode → screen → to_tables → Parquet → DuckDB."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceState

from extract.analyse.duckdb_runner import open_runs
from extract.receive.columns import decode_key_values, decode_value, text_of, to_tables
from extract.receive.otlp_decode import OtlpDecodeError, decode_protobuf, screen
from extract.store.parquet_store import SCHEMA, write_part

RUN = "run-sdk.1"
T0 = 1_764_000_000_123_456_789  # ns; the odd digits catch any microsecond rounding

SPAN_ATTRIBUTES: dict[str, Any] = {
    "bench.run_id": RUN,
    "bench.suite": "e2e_latency",
    "bench.scenario": "linear_3",
    "bench.phase": "discovery",
    "bench.iteration": 7,
    "bench.warmup": False,
    "text": 'héllo, "world"',
    "text.empty": "",
    "int.neg": -42,
    "int.max": 2**63 - 1,
    "double": 0.1,
    "double.whole": 2.0,
    "double.tiny": 5e-324,
    "double.inf": math.inf,
    "bool": True,
    "bytes": b"\x00\xffspan",
    "none": None,
    "array.str": ("a", "", "ü"),
    "array.int": (1, -2, 2**62),
    "array.double": (1.5, 2.0, -0.25),
    "array.bool": (True, False),
    "array.mixed": (1, "a", 2.5, True, None),
    "kvlist": {"k": "v", "n": 1, "nested": {"x": [1, "y", 0.5]}},
}
RESOURCE_ATTRIBUTES: dict[str, Any] = {
    "service.name": "spanbench-test",
    "host.cores": 8,
    "deployment.tags": ("ci", "perf"),
    "bench.scenario": "from-resource",
}
KIND_NAMES = {
    SpanKind.INTERNAL: "Internal",
    SpanKind.SERVER: "Server",
    SpanKind.CLIENT: "Client",
    SpanKind.PRODUCER: "Producer",
    SpanKind.CONSUMER: "Consumer",
}
STATUS_NAMES = {StatusCode.UNSET: "Unset", StatusCode.OK: "Ok", StatusCode.ERROR: "Error"}


def sdk_spans() -> list[ReadableSpan]:
    """A small workflow from the real SDK: every kind, status, attribute type, events, links."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource(RESOURCE_ATTRIBUTES))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("spanbench.test", "1.2.3")
    remote = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_state=TraceState([("vendor", "abc"), ("other", "x-1")]),
    )
    root = tracer.start_span("e2e.workflow", kind=SpanKind.CLIENT, start_time=T0)
    context = trace.set_span_in_context(root)
    for index, kind in enumerate(KIND_NAMES):
        start = T0 + 1_000 * (index + 1) + index
        span = tracer.start_span(
            f"phase.{index}",
            context=context,
            kind=kind,
            attributes={**SPAN_ATTRIBUTES, "bench.iteration": index},
            links=[Link(remote, {"link.int": index, "link.arr": ("x",)})] if index % 2 else [],
            start_time=start,
        )
        span.add_event("claimed", {"msg.id": index, "queue": "q", "f": 1.25}, timestamp=start + 7)
        span.add_event("empty", timestamp=start + 9)
        if kind is SpanKind.SERVER:
            span.set_status(Status(StatusCode.ERROR, "boom: step failed"))
        elif kind is SpanKind.CLIENT:
            span.set_status(Status(StatusCode.OK))
        span.end(end_time=start + 123_456_789 + index)
    root.end(end_time=T0 + 10**9 + 1)
    provider.shutdown()
    return list(exporter.get_finished_spans())


def encoded(spans: Sequence[ReadableSpan]) -> bytes:
    request = encode_spans(spans)
    # The 1.45 encoder drops link trace state; put it back as a conforming SDK would send it.
    links = {(s.context.span_id, i): link for s in spans for i, link in enumerate(s.links)}
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                for i, link in enumerate(span.links):
                    state = links[(int.from_bytes(span.span_id, "big"), i)].context.trace_state
                    link.trace_state = ",".join(f"{k}={v}" for k, v in state.items())
    return request.SerializeToString()


def normal(value: Any) -> Any:
    """An SDK attribute value as decode_value returns it (tuples as lists)."""
    if isinstance(value, Mapping):
        return {key: normal(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [normal(item) for item in value]
    return value


def decoded(attributes: Mapping[str, str], types: Mapping[str, str]) -> dict[str, Any]:
    return {key: decode_value(text, types.get(key)) for key, text in attributes.items()}


def expected_row(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    attributes = dict(span.attributes or {})
    resource = dict(span.resource.attributes)
    return {
        "Timestamp": span.start_time,
        "EndTimestamp": span.end_time,
        "Duration": span.end_time - span.start_time,
        "TraceId": format(context.trace_id, "032x"),
        "SpanId": format(context.span_id, "016x"),
        "ParentSpanId": format(span.parent.span_id, "016x") if span.parent else "",
        "TraceState": ",".join(f"{k}={v}" for k, v in context.trace_state.items()),
        "SpanName": span.name,
        "SpanKind": KIND_NAMES[span.kind],
        "ServiceName": resource["service.name"],
        "Resource": normal(resource),
        "ScopeName": span.instrumentation_scope.name,
        "ScopeVersion": span.instrumentation_scope.version,
        "Attributes": normal(attributes),
        "StatusCode": STATUS_NAMES[span.status.status_code],
        "StatusMessage": span.status.description or "",
        "Events": [
            (event.timestamp, event.name, normal(dict(event.attributes or {})))
            for event in span.events
        ],
        "Links": [
            (
                format(link.context.trace_id, "032x"),
                format(link.context.span_id, "016x"),
                ",".join(f"{k}={v}" for k, v in link.context.trace_state.items()),
                normal(dict(link.attributes or {})),
            )
            for link in span.links
        ],
        "RunId": attributes.get("bench.run_id", "unassigned"),
        "Suite": attributes.get("bench.suite"),
        "Scenario": attributes.get("bench.scenario", resource.get("bench.scenario")),
        "Phase": attributes.get("bench.phase"),
        "Iteration": attributes.get("bench.iteration"),
        "Warmup": attributes.get("bench.warmup"),
    }


def _int_timestamps(type_: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(type_):
        return pa.int64()
    if pa.types.is_list(type_):
        return pa.list_(_int_timestamps(type_.value_type))
    if pa.types.is_struct(type_):
        return pa.struct([pa.field(f.name, _int_timestamps(f.type)) for f in type_])
    return type_


def arrow_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows in expected_row's shape, timestamps as exact ns ints."""
    plain = table.cast(pa.schema([pa.field(f.name, _int_timestamps(f.type)) for f in SCHEMA]))
    rows = []
    for r in plain.to_pylist():
        rows.append(
            {
                **{k: r[k] for k in r if "Attribute" not in k and k not in ("Events", "Links")},
                "Resource": decoded(
                    dict(r["ResourceAttributes"]), dict(r["ResourceAttributeTypes"])
                ),
                "Attributes": decoded(dict(r["SpanAttributes"]), dict(r["SpanAttributeTypes"])),
                "Events": [
                    (
                        e["Timestamp"],
                        e["Name"],
                        decoded(dict(e["Attributes"]), dict(e["AttributeTypes"])),
                    )
                    for e in r["Events"]
                ],
                "Links": [
                    (
                        link["TraceId"],
                        link["SpanId"],
                        link["TraceState"],
                        decoded(dict(link["Attributes"]), dict(link["AttributeTypes"])),
                    )
                    for link in r["Links"]
                ],
            }
        )
    return rows


DUCKDB_ROWS = """
SELECT epoch_ns(Timestamp) AS Timestamp, epoch_ns(EndTimestamp) AS EndTimestamp, Duration,
       TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind, ServiceName,
       ResourceAttributes, ResourceAttributeTypes, ScopeName, ScopeVersion,
       SpanAttributes, SpanAttributeTypes, StatusCode, StatusMessage,
       [{'Timestamp': epoch_ns(e.Timestamp), 'Name': e.Name, 'Attributes': e.Attributes,
         'AttributeTypes': e.AttributeTypes} FOR e IN Events] AS Events,
       Links, RunId, Suite, Scenario, Phase, Iteration, Warmup
FROM spans ORDER BY Timestamp
"""


def duckdb_rows(runs_dir: Path) -> list[dict[str, Any]]:
    relation = open_runs(runs_dir, [RUN]).sql(DUCKDB_ROWS)
    rows = []
    for values in relation.fetchall():
        r = dict(zip(relation.columns, values, strict=True))
        rows.append(
            {
                **{k: r[k] for k in r if "Attribute" not in k and k not in ("Events", "Links")},
                "Resource": decoded(r["ResourceAttributes"], r["ResourceAttributeTypes"]),
                "Attributes": decoded(r["SpanAttributes"], r["SpanAttributeTypes"]),
                "Events": [
                    (e["Timestamp"], e["Name"], decoded(e["Attributes"], e["AttributeTypes"]))
                    for e in r["Events"]
                ],
                "Links": [
                    (
                        link["TraceId"],
                        link["SpanId"],
                        link["TraceState"],
                        decoded(link["Attributes"], link["AttributeTypes"]),
                    )
                    for link in r["Links"]
                ],
            }
        )
    return rows


def test_sdk_spans_survive_the_whole_path(tmp_path: Path) -> None:
    spans = sorted(sdk_spans(), key=lambda s: s.start_time)
    screened = screen(decode_protobuf(encoded(spans)))
    assert (screened.accepted_spans, screened.rejected_spans) == (len(spans), 0)

    tables = to_tables([screened.request])
    assert set(tables) == {RUN, "unassigned"}  # the root carries no bench.run_id
    write_part(tmp_path, RUN, "0", tables[RUN])
    expected = [expected_row(s) for s in spans if s.attributes.get("bench.run_id") == RUN]

    from_parquet = pq.read_table(tmp_path / RUN / "spans" / "part-0.parquet")
    assert arrow_rows(from_parquet.sort_by("Timestamp")) == expected
    assert duckdb_rows(tmp_path) == expected

    root = arrow_rows(tables["unassigned"])
    assert root == [expected_row(spans[0])]
    assert root[0]["ParentSpanId"] == "" and root[0]["Scenario"] == "from-resource"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x",
        0,
        -1,
        2**63 - 1,
        -(2**63),
        0.0,
        -0.0,
        0.1,
        1e300,
        -math.inf,
        True,
        False,
        b"",
        b"\x00\x01\xfe",
        None,
        [],
        [1, "a", None, 2.5, False],
        {"a": {"b": [1.0]}},
    ],
)
def test_every_value_type_round_trips(value: Any) -> None:
    from opentelemetry.exporter.otlp.proto.common._internal import _encode_value

    text, type_name = text_of(_encode_value(value))
    back = decode_value(text, type_name)
    assert back == value and type(back) is type(value)
    if isinstance(value, float):
        assert math.copysign(1, back) == math.copysign(1, value)


def test_nan_and_nested_bytes() -> None:
    assert math.isnan(decode_value(*text_of(AnyValue(double_value=math.nan))))
    nested = AnyValue()
    nested.array_value.values.add(bytes_value=b"\x01\x02")
    # Inside arrays and kvlists bytes are JSON strings (base64), as the ClickHouse exporter has it.
    assert text_of(nested) == ('["' + base64.b64encode(b"\x01\x02").decode() + '"]', "array")
    with pytest.raises(ValueError, match="unknown attribute type"):
        decode_value("1", "float128")


def _kv(key: str, value: Any) -> KeyValue:
    kv = KeyValue(key=key)
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    else:
        kv.value.string_value = value
    return kv


def _request(*resources: tuple[dict[str, Any], list[dict[str, Any]]]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    n = 0
    for resource_attributes, spans in resources:
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(_kv(k, v) for k, v in resource_attributes.items())
        scope_spans = resource_spans.scope_spans.add()
        for attributes in spans:
            n += 1
            span = scope_spans.spans.add(
                trace_id=bytes([n]) * 16,
                span_id=bytes([n]) * 8,
                name=f"s{n}",
                start_time_unix_nano=T0 + n,
                end_time_unix_nano=T0 + 2 * n,
            )
            span.attributes.extend(_kv(k, v) for k, v in attributes.items())
    return request


def test_routing_by_run_id_span_then_resource_then_unassigned() -> None:
    request = _request(
        (
            {"bench.run_id": "res-run", "bench.suite": "sql_functions"},
            [
                {"bench.run_id": "span-run"},
                {},
                {"bench.phase": "claim", "bench.iteration": "12", "bench.warmup": "true"},
            ],
        ),
        ({}, [{}, {"bench.run_id": "span-run", "bench.iteration": True, "bench.warmup": 1}]),
    )
    tables = to_tables([request])
    names = {run: t.column("SpanName").to_pylist() for run, t in tables.items()}
    assert names == {"span-run": ["s1", "s5"], "res-run": ["s2", "s3"], "unassigned": ["s4"]}
    promoted = ["Suite", "Phase", "Iteration", "Warmup"]
    res_run = tables["res-run"].select(promoted).to_pydict()
    assert res_run["Suite"] == ["sql_functions", "sql_functions"]
    assert res_run["Phase"] == [None, "claim"]
    assert res_run["Iteration"] == [None, 12]
    assert res_run["Warmup"] == [None, True]
    span_run = tables["span-run"].select(promoted).to_pydict()
    assert span_run["Suite"] == ["sql_functions", None]
    assert span_run["Iteration"] == [None, None] and span_run["Warmup"] == [None, None]
    assert tables["unassigned"].column("RunId").to_pylist() == ["unassigned"]


def test_invalid_run_id_is_refused_not_written() -> None:
    with pytest.raises(ValueError, match=r"bench\.run_id '\.\./\.\./etc'.*screen\(\)"):
        to_tables([_request(({}, [{"bench.run_id": "../../etc"}]))])
    with pytest.raises(ValueError, match=r"bench\.run_id ''"):
        to_tables([_request(({"bench.run_id": 5}, [{}]))])


def test_kind_status_and_duplicate_keys(tmp_path: Path) -> None:
    request = _request(({"service.name": "a", "service.name ": "b"}, [{"k": "first"}]))
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.kind = PbSpan.SPAN_KIND_UNSPECIFIED
    span.status.code = 2
    span.attributes.append(_kv("k", 2))  # a duplicate key: the first occurrence wins
    span.attributes.append(_kv("j", 3))
    event = span.events.add(time_unix_nano=T0, name="e")
    event.attributes.extend([_kv("x", 1), _kv("x", "dup"), _kv("y", "z")])
    table = to_tables([request])["unassigned"]
    row = table.drop_columns(["Timestamp", "EndTimestamp", "Events"]).to_pylist()[0]
    assert (row["SpanKind"], row["StatusCode"], row["ServiceName"]) == ("Unspecified", "Error", "a")
    assert row["SpanAttributes"] == [("k", "first"), ("j", "3")]
    assert row["SpanAttributeTypes"] == [("j", "int")]
    events = table.column("Events").combine_chunks().flatten()
    assert events.field("Attributes").to_pylist() == [[("x", "1"), ("y", "z")]]
    assert events.field("AttributeTypes").to_pylist() == [[("x", "int")]]
    write_part(tmp_path, "unassigned", "0", table)
    assert open_runs(tmp_path).sql("SELECT SpanAttributes['k'] FROM spans").fetchall() == [
        ("first",)
    ]


def test_no_spans_no_tables() -> None:
    assert to_tables([]) == {}
    assert to_tables([ExportTraceServiceRequest(), _request(({}, []))]) == {}


def test_bytes_and_messages_agree() -> None:
    body = encoded(sdk_spans())
    from_bytes, from_messages = to_tables([body, body]), to_tables([decode_protobuf(body)] * 2)
    mixed = to_tables([body, decode_protobuf(body)])
    assert from_bytes.keys() == from_messages.keys() == mixed.keys()
    for run_id, table in from_bytes.items():
        assert table.equals(from_messages[run_id]) and table.equals(mixed[run_id])


def test_mostly_unique_attributes_leave_the_cache_and_stay_equal() -> None:
    bodies = []
    for r in range(4):
        request = _request(({}, [{f"k{j}": f"{r}-{n}-{j}" for j in range(8)} for n in range(40)]))
        span = request.resource_spans[0].scope_spans[0].spans[0]
        span.attributes.append(_kv("k0", "dup"))
        span.events.add(name="e").attributes.extend([_kv("a", 1), _kv("a", 2)])
        bodies.append(request.SerializeToString())
    from_bytes = to_tables(bodies)["unassigned"]
    assert from_bytes.equals(to_tables([decode_protobuf(b) for b in bodies])["unassigned"])
    assert from_bytes.num_rows == 160
    first = from_bytes.slice(0, 1).select(["SpanAttributes", "Events"]).to_pylist()[0]
    assert first["SpanAttributes"][0] == ("k0", "0-0-0") and len(first["SpanAttributes"]) == 8
    assert first["Events"][0]["Attributes"] == [("a", "1")]


def test_undecodable_bytes_are_a_decode_error() -> None:
    with pytest.raises(OtlpDecodeError):
        to_tables([b"\xff\xff\xff\xff"])


def test_serialized_key_values_decode_as_protobuf_reads_them() -> None:
    import random

    from google.protobuf.message import DecodeError

    samples = []
    for key in ("", "k", "bench.iteration", "ü" * 20, "x" * 123, "x" * 124, "x" * 200):
        for number in (0, 1, 127, 128, 2**62, 2**63 - 1, -1, -(2**63)):
            samples.append(KeyValue(key=key, value=AnyValue(int_value=number)))
        for text in ("", "a", "é" * 10, "x" * 121, "x" * 122, "x" * 126, "x" * 300):
            samples.append(KeyValue(key=key, value=AnyValue(string_value=text)))
        for value in (AnyValue(bool_value=True), AnyValue(double_value=1.5), AnyValue()):
            samples.append(KeyValue(key=key, value=value))
    raws = [kv.SerializeToString() for kv in samples]
    entries = decoded_key_values(raws)
    assert entries == [(kv.key, *text_of(kv.value)) for kv in samples]

    rng = random.Random(7)
    bases = [raws[2], raws[10]]
    decoded = 0
    for _ in range(5_000):  # mangled bytes: a decode error or exactly what protobuf reads
        raw = bytearray(rng.choice(bases))
        raw[rng.randrange(len(raw))] = rng.randrange(256)
        if rng.random() < 0.5:
            del raw[rng.randrange(len(raw))]
        try:
            expected = KeyValue.FromString(bytes(raw))
        except DecodeError:
            with pytest.raises(OtlpDecodeError):
                decoded_key_values([bytes(raw)])
            continue
        try:
            entry = (expected.key, *text_of(expected.value))
        except (ValueError, UnicodeDecodeError):
            continue  # protobuf reads it, but as a value no spanbench column can hold
        assert decoded_key_values([bytes(raw)]) == [entry]
        decoded += 1
    assert 0 < decoded < 5_000


def decoded_key_values(raws: list[bytes]) -> list[tuple[str, str, str | None]]:
    keys, texts, type_names = decode_key_values(pa.array(raws, pa.binary()))
    return list(zip(keys.to_pylist(), texts.to_pylist(), type_names.to_pylist(), strict=True))
