"""Hypothesis strategies for OTLP trace export requests: valid ones and hostile ones.

"Hostile" means structurally valid protobuf whose values are what no exporter should
send: zero, short or oversized ids, negative-looking (2⁶⁴-1) and reversed timestamps,
empty and invalid run ids, attribute values nested to the decoder's depth limit.
"""

from __future__ import annotations

from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

UINT64_MAX = 2**64 - 1
INT64_MAX = 2**63 - 1
RUN_ID_KEY = "bench.run_id"

texts = st.text(max_size=20)
valid_run_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,20}\Z")


def any_values(max_leaves: int = 6) -> st.SearchStrategy[AnyValue]:
    """AnyValues of every kind, arrays and kvlists nested (depth bounded by the leaf count)."""
    scalars = st.one_of(
        st.builds(AnyValue, string_value=texts),
        st.builds(AnyValue, bool_value=st.booleans()),
        st.builds(AnyValue, int_value=st.integers(-(2**63), INT64_MAX)),
        st.builds(AnyValue, double_value=st.floats(allow_nan=True, allow_infinity=True)),
        st.builds(AnyValue, bytes_value=st.binary(max_size=16)),
        st.just(AnyValue()),
    )

    def nest(children: st.SearchStrategy[AnyValue]) -> st.SearchStrategy[AnyValue]:
        def array(items: list[AnyValue]) -> AnyValue:
            value = AnyValue()
            value.array_value.values.extend(items)
            return value

        def kvlist(pairs: list[tuple[str, AnyValue]]) -> AnyValue:
            value = AnyValue()
            value.kvlist_value.values.extend(KeyValue(key=k, value=v) for k, v in pairs)
            return value

        return st.one_of(
            st.lists(children, max_size=3).map(array),
            st.lists(st.tuples(texts, children), max_size=3).map(kvlist),
        )

    return st.recursive(scalars, nest, max_leaves=max_leaves)


def attributes(keys: st.SearchStrategy[str] = texts) -> st.SearchStrategy[list[KeyValue]]:
    """Attribute lists, duplicated keys allowed."""
    pair = st.builds(KeyValue, key=keys, value=any_values())
    return st.lists(pair, max_size=3)


hostile_ids = st.one_of(st.binary(max_size=20), st.just(bytes(16)), st.just(bytes(8)))
hostile_times = st.one_of(
    st.integers(0, UINT64_MAX), st.just(UINT64_MAX), st.just(INT64_MAX), st.just(INT64_MAX + 1)
)
hostile_run_ids = st.one_of(
    valid_run_ids, st.just(""), st.text(max_size=140), st.just("../../etc"), st.just("a" * 129)
)


@st.composite
def hostile_spans(draw: st.DrawFn) -> Span:
    """A span whose every field may be out of range; its bench.run_id may be any value."""
    span = Span(
        trace_id=draw(hostile_ids),
        span_id=draw(hostile_ids),
        parent_span_id=draw(hostile_ids),
        name=draw(texts),
        kind=draw(st.integers(-3, 9)),
        start_time_unix_nano=draw(hostile_times),
        end_time_unix_nano=draw(hostile_times),
        trace_state=draw(texts),
        dropped_attributes_count=draw(st.integers(0, 2**32 - 1)),
    )
    span.attributes.extend(draw(attributes(st.sampled_from(["a", "b", RUN_ID_KEY, ""]) | texts)))
    if draw(st.booleans()):
        span.attributes.append(KeyValue(key=RUN_ID_KEY, value=AnyValue(
            string_value=draw(hostile_run_ids))))
    for _ in range(draw(st.integers(0, 2))):
        event = span.events.add(time_unix_nano=draw(hostile_times), name=draw(texts))
        event.attributes.extend(draw(attributes()))
    for _ in range(draw(st.integers(0, 2))):
        link = span.links.add(trace_id=draw(hostile_ids), span_id=draw(hostile_ids),
                              trace_state=draw(texts))
        link.attributes.extend(draw(attributes()))
    span.status.code = draw(st.integers(-2, 5))
    span.status.message = draw(texts)
    return span


@st.composite
def valid_spans(draw: st.DrawFn) -> Span:
    """A span every consumer must keep: real ids, ordered int64 times, a valid or no run id."""
    start = draw(st.integers(0, INT64_MAX))
    span = Span(
        trace_id=draw(st.binary(min_size=16, max_size=16).filter(any)),
        span_id=draw(st.binary(min_size=8, max_size=8).filter(any)),
        parent_span_id=draw(st.one_of(st.just(b""), st.binary(min_size=8, max_size=8))),
        name=draw(texts),
        kind=draw(st.integers(0, 5)),
        start_time_unix_nano=start,
        end_time_unix_nano=draw(st.integers(start, INT64_MAX)),
    )
    span.attributes.extend(draw(attributes(st.sampled_from(["a", "b"]) | texts).map(
        lambda kvs: [kv for kv in kvs if kv.key != RUN_ID_KEY])))
    run_id = draw(st.none() | valid_run_ids)
    if run_id is not None:
        span.attributes.append(KeyValue(key=RUN_ID_KEY, value=AnyValue(string_value=run_id)))
    for _ in range(draw(st.integers(0, 2))):
        event = span.events.add(time_unix_nano=draw(st.integers(0, INT64_MAX)), name=draw(texts))
        event.attributes.extend(draw(attributes()))
    span.status.code = draw(st.integers(0, 2))
    return span


@st.composite
def requests(draw: st.DrawFn, spans: st.SearchStrategy[Span]) -> ExportTraceServiceRequest:
    """Requests of 0–2 resources × 0–2 scopes × 0–3 spans drawn from `spans`."""
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        resource_spans = request.resource_spans.add()
        resource_attributes = draw(attributes(st.sampled_from(["service.name"]) | texts).map(
            lambda kvs: [kv for kv in kvs if kv.key != RUN_ID_KEY]))
        resource_spans.resource.attributes.extend(resource_attributes)
        for _ in range(draw(st.integers(0, 2))):
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name = draw(texts)
            scope_spans.spans.extend(draw(st.lists(spans, max_size=3)))
    return request


def span_count(request: ExportTraceServiceRequest) -> int:
    return sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)


# JSON documents shaped like OTLP/JSON, with wrong types anywhere.
_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=12),
    st.sampled_from(["0" * 32, "ab" * 8, "zz", "NaN", "-1", "1e30", "18446744073709551616"]),
)
_field_names = st.sampled_from([
    "resourceSpans", "scopeSpans", "spans", "traceId", "spanId", "parentSpanId", "name",
    "startTimeUnixNano", "endTimeUnixNano", "attributes", "key", "value", "stringValue",
    "intValue", "doubleValue", "arrayValue", "kvlistValue", "values", "events", "links",
    "status", "code", "kind", "resource", "scope", "timeUnixNano", "bytesValue", "x",
])
json_documents = st.recursive(
    _json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(_field_names, children, max_size=4)
    ),
    max_leaves=25,
)
