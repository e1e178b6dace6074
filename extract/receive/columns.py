"""Pure conversion of OTLP trace requests into Arrow tables with `parquet_store.SCHEMA`.

Columnar on purpose. From ~128 KiB of requests on, the spans stay serialized
(`decode_span_bytes`) and `wire_spans.read_spans` reads each field of all of them at once
from the protobuf wire format with numpy; smaller requests, and any whose bytes that reader
leaves to protobuf, go field by field through `attrgetter` mapped over each scope's spans
(`decode_lazy`). Either way resource- and scope-level columns are built once and repeated
with `take`, and span and event attributes stay serialized KeyValues: Arrow finds the
distinct ones, each is decoded once (most of a benchmark's attributes repeat from span to
span; many at once from the wire format too) and `take` lays them out.
Attribute values are stored as the ClickHouse exporter's `AsString` text, with the type
of every non-string value in the matching *Types map; `decode_value` inverts that.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import accumulate, chain, repeat
from operator import attrgetter, methodcaller
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)

from extract.receive.otlp_decode import (
    RUN_ID_PATTERN,
    UNASSIGNED,
    OtlpDecodeError,
    decode_lazy,
    decode_span_bytes,
)
from extract.receive.wire import Unsupported
from extract.receive.wire_spans import read_key_values, read_spans
from extract.store.parquet_store import EVENT_TYPE, LINK_TYPE, SCHEMA
from spanbench.vocabulary import Attr

# ptrace.SpanKind.String() / StatusCode.String(), as the ClickHouse exporter writes them.
SPAN_KINDS: Final = {
    0: "Unspecified",
    1: "Internal",
    2: "Server",
    3: "Client",
    4: "Producer",
    5: "Consumer",
}
STATUS_CODES: Final = {0: "Unset", 1: "Ok", 2: "Error"}

_PROMOTED: Final = (Attr.RUN_ID, Attr.SUITE, Attr.SCENARIO, Attr.PHASE, Attr.ITERATION, Attr.WARMUP)
_PROMOTED_ARRAY: Final = pa.array(_PROMOTED, pa.string())
_TYPED_PROMOTED: Final = (Attr.RUN_ID, Attr.ITERATION, Attr.WARMUP)  # the type decides these
_ZERO_SPAN_HEX: Final = bytes(8).hex()
_TIMESTAMP: Final = pa.timestamp("ns", tz="UTC")
_SPAN_FIELDS: Final = ("start_time_unix_nano", "end_time_unix_nano", "trace_state", "name", "kind")
_SPAN_IDS: Final = ("trace_id", "span_id", "parent_span_id")  # stored as hex
_LINK_FIELDS: Final = ("trace_id", "span_id", "trace_state")
_STATUS, _CODE, _MESSAGE = attrgetter("status"), attrgetter("code"), attrgetter("message")
_HAS_STATUS: Final = methodcaller("HasField", "status")
_ATTRIBUTES, _EVENTS, _LINKS = attrgetter("attributes"), attrgetter("events"), attrgetter("links")
_EVENT_TIME, _NAME = attrgetter("time_unix_nano"), attrgetter("name")
_KEY, _VALUE, _STRING_VALUE = attrgetter("key"), attrgetter("value"), attrgetter("string_value")
_KIND: Final = methodcaller("WhichOneof", "value")


def to_tables(
    requests: Iterable[ExportTraceServiceRequest | bytes | bytearray | memoryview],
) -> dict[str, pa.Table]:
    """One table per run id (spans without `bench.run_id` under "unassigned").

    Items are decoded requests or their protobuf bytes (faster: no decode to do first).
    """
    items = list(requests)
    table = None
    if sum(map(_size, items)) >= WIRE_READ_MIN_BYTES:
        try:
            table = _collect(_WireCollected(), decode_span_bytes, items)
        except Unsupported:  # bytes that only protobuf itself decodes exactly (or rejects)
            table = None
        else:
            return {} if table is None else _split(table)
    table = _collect(_Collected(), decode_lazy, items)
    return {} if table is None else _split(table)


WIRE_READ_MIN_BYTES: Final = 128 * 1024
"""Requests of fewer bytes are converted span by span through protobuf: reading the wire
format costs a few milliseconds per call whatever the size, and pays from ~250 spans on."""


def _size(item: ExportTraceServiceRequest | bytes | bytearray | memoryview) -> int:
    return item.ByteSize() if isinstance(item, ExportTraceServiceRequest) else len(item)


def _collect(
    collected: _Collected,
    decode: Callable[[Any], Any],
    items: Iterable[ExportTraceServiceRequest | bytes | bytearray | memoryview],
) -> pa.Table | None:
    for item in items:
        request = decode(item)
        for resource_spans in request.resource_spans:
            resource_index = collected.add_resource(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                scope_index = collected.add_scope(scope_spans.scope)
                collected.add_spans(scope_spans.spans, resource_index, scope_index)
    return collected.table() if collected.span_count else None


class _SerializedMaps:
    """Attribute maps given as serialized KeyValues (`decode_lazy`), one map per owner."""

    def __init__(self) -> None:
        self.raws: list[bytes] = []
        self.counts: list[int] = []

    def add(self, attribute_lists: Iterable[Sequence[bytes]]) -> None:
        lists = list(attribute_lists)
        self.counts.extend(map(len, lists))
        self.raws.extend(chain.from_iterable(lists))

    def arrays(self) -> tuple[pa.MapArray, pa.MapArray]:
        """The map column and its types column; each distinct KeyValue is decoded once."""
        return serialized_maps(pa.array(self.raws, pa.binary()), _offsets(self.counts))


def serialized_maps(raws: pa.BinaryArray, offsets: pa.Array) -> tuple[pa.MapArray, pa.MapArray]:
    """The map and types columns of serialized KeyValues `raws`, maps split at `offsets`."""
    encoded = raws.dictionary_encode()
    keys, texts, type_names = decode_key_values(encoded.dictionary)
    return _attribute_maps(keys, texts, type_names, encoded.indices, offsets)


class _MessageMaps:
    """Attribute maps given as KeyValue messages (resources and links: few of them)."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.texts: list[str] = []
        self.type_names: list[str | None] = []
        self.counts: list[int] = []

    def add(self, attributes: Sequence[KeyValue]) -> None:
        for kv in attributes:
            text, type_name = _text(kv.value)
            self.keys.append(kv.key)
            self.texts.append(text)
            self.type_names.append(type_name)
        self.counts.append(len(attributes))

    def arrays(self) -> tuple[pa.MapArray, pa.MapArray]:
        keys, texts = pa.array(self.keys, pa.string()), pa.array(self.texts, pa.string())
        type_names = pa.array(self.type_names, pa.string())
        return _attribute_maps(keys, texts, type_names, None, _offsets(self.counts))


def decode_key_values(raws: pa.BinaryArray) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Key, AsString text and type name (null for a string) of each serialized KeyValue.

    Those holding a string, bool or int are read all at once from the wire format; the
    others are parsed by protobuf. An undecodable one is an OtlpDecodeError.
    """
    if len(raws) < _WIRE_READ_MIN_KEY_VALUES:
        return _parsed_key_values(raws)
    try:
        keys, texts, type_names, done = read_key_values(raws)
    except Unsupported:
        return _parsed_key_values(raws)
    if done.all():
        return keys, texts, type_names
    left = pa.array(~done)
    parsed = _parsed_key_values(raws.filter(left))
    return tuple(  # type: ignore[return-value]
        pc.replace_with_mask(array, left, replacements)
        for array, replacements in zip((keys, texts, type_names), parsed, strict=True)
    )


_WIRE_READ_MIN_KEY_VALUES: Final = 1024  # fewer: protobuf parses them sooner


def _parsed_key_values(raws: pa.BinaryArray) -> tuple[pa.Array, pa.Array, pa.Array]:
    """`decode_key_values` by protobuf: all of them parsed as one KeyValueList's `values`."""
    try:
        values = KeyValueList.FromString(_as_key_value_list(raws)).values
    except DecodeError as error:
        message = f"an attribute is not a protobuf KeyValue: {error}"
        raise OtlpDecodeError(message) from error
    any_values = list(map(_VALUE, values))
    texts = list(map(_STRING_VALUE, any_values))
    type_names: list[str | None] = [None] * len(texts)
    not_strings = [index for index, text in enumerate(texts) if not text]
    others = [any_values[index] for index in not_strings]
    for index, kind, value in zip(not_strings, map(_KIND, others), others, strict=True):
        if kind == "int_value":  # the commonest, read without text_of's calls
            texts[index], type_names[index] = str(value.int_value), "int"
        else:
            texts[index], type_names[index] = text_of(value)
    return (
        pa.array(list(map(_KEY, values)), pa.string()),
        pa.array(texts, pa.string()),
        pa.array(type_names, pa.string()),
    )


def _as_key_value_list(raws: pa.BinaryArray) -> bytes:
    """The serialized KeyValueList whose `values` are `raws`: each behind tag and length."""
    lengths = pc.binary_length(raws)
    if len(raws) and pc.max(lengths).as_py() >= len(_FIELD_ONE_HEADERS):
        headers = pa.array([_field_one_header(size) for size in lengths.to_pylist()])
    else:
        headers = _FIELD_ONE_HEADERS.take(lengths)
    if not len(raws):
        return b""
    framed = pc.binary_join_element_wise(headers, raws, b"")
    size = pc.sum(pc.binary_length(framed)).as_py()
    return framed.buffers()[2][:size].to_pybytes()  # one buffer: the items end to end


def _field_one_header(size: int) -> bytes:
    """The tag of field 1 (length-delimited) and the varint `size`."""
    varint = bytearray()
    while size > 0x7F:
        varint.append(size & 0x7F | 0x80)
        size >>= 7
    varint.append(size)
    return b"\x0a" + bytes(varint)


# Headers of every size under 2**14 (a varint of one or two bytes), made without a loop
# through _field_one_header: the table is built at import.
_FIELD_ONE_HEADERS: Final = pa.array(
    [bytes((0x0A, size)) for size in range(0x80)]
    + [bytes((0x0A, size & 0x7F | 0x80, size >> 7)) for size in range(0x80, 1 << 14)]
)
_MAX_BIT_KEYS: Final = 32
_KEY_BITS: Final = pa.array([1 << key_id for key_id in range(_MAX_BIT_KEYS)], pa.int64())


def _text(value: AnyValue) -> tuple[str, str | None]:
    text = value.string_value
    return (text, None) if text else text_of(value)


def _attribute_maps(
    keys: pa.Array,
    texts: pa.Array,
    type_names: pa.Array,
    codes: pa.Array | None,
    offsets: pa.Array,
) -> tuple[pa.MapArray, pa.MapArray]:
    """The map<key, text> and map<key, type> columns of maps split at int32 `offsets`.

    Attribute i is item `codes[i]` of keys, texts and type names (item i without codes).
    Within a map the first occurrence of a key wins (DuckDB refuses repeated keys); the
    types map holds only the attributes whose value is not a string.
    """
    key_ids = keys.dictionary_encode().indices
    if codes is not None:
        keys, texts, type_names, key_ids = (
            keys.take(codes),
            texts.take(codes),
            type_names.take(codes),
            key_ids.take(codes),
        )
    first = _first_of_each_key(key_ids, offsets)
    if first is not None:
        keys, texts, type_names = keys.filter(first), texts.filter(first), type_names.filter(first)
        offsets = _offsets_of(first, offsets)
    typed = pc.is_valid(type_names)
    return (
        pa.MapArray.from_arrays(offsets, keys, texts),
        pa.MapArray.from_arrays(
            _offsets_of(typed, offsets), keys.filter(typed), type_names.filter(typed)
        ),
    )


def _first_of_each_key(key_ids: pa.Array, offsets: pa.Array) -> pa.Array | None:
    """A mask of the first occurrence of each key within its map; None if no key repeats."""
    if len(key_ids) < 2 or not _may_repeat_keys(key_ids, offsets):
        return None
    rows = pc.list_parent_indices(pa.ListArray.from_arrays(offsets, key_ids))
    pairs = pc.add(pc.multiply(pc.cast(rows, pa.int64()), len(key_ids)), key_ids.cast(pa.int64()))
    seen: set[int] = set()
    first = []
    for pair in pairs.to_pylist():
        first.append(pair not in seen)
        seen.add(pair)
    return None if all(first) else pa.array(first, pa.bool_())


def _may_repeat_keys(key_ids: pa.Array, offsets: pa.Array) -> bool:
    """False when no map holds a key twice; True when one may (then check item by item).

    With at most 32 distinct keys, a map's keys are distinct exactly when the sum of
    2**key_id over them has as many bits set as the map has items (a repeat carries).
    Maps mostly share their key sets, so only a few distinct (sum, size) need a look.
    """
    if pc.max(key_ids).as_py() >= _MAX_BIT_KEYS:
        return True
    running = pc.cumulative_sum(_KEY_BITS.take(key_ids))
    totals = pa.concat_arrays([pa.array([0], pa.int64()), running]).take(offsets)
    sums = pc.subtract(totals[1:], totals[:-1])
    sizes = pc.subtract(offsets[1:], offsets[:-1]).cast(pa.int64())
    shapes = pc.unique(pc.add(pc.multiply(sums, 64), sizes)).to_pylist()
    return any((shape >> 6).bit_count() != shape & 63 for shape in shapes)


def _offsets_of(mask: pa.Array, offsets: pa.Array) -> pa.Array:
    """Map offsets after keeping only the items where `mask` holds."""
    kept_before = pc.cumulative_sum(pc.cast(mask, pa.int32()))
    return pa.concat_arrays([pa.array([0], pa.int32()), kept_before]).take(offsets)


def text_of(value: AnyValue) -> tuple[str, str | None]:
    """The ClickHouse exporter's AsString text of `value`, and its type name (None for str)."""
    kind = value.WhichOneof("value")
    if kind == "int_value":
        return str(value.int_value), "int"
    if kind == "bool_value":
        return ("true" if value.bool_value else "false"), "bool"
    if kind == "double_value":
        return repr(value.double_value), "double"
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii"), "bytes"
    if kind == "array_value":
        return _json([raw_value(item) for item in value.array_value.values]), "array"
    if kind == "kvlist_value":
        return _json(_raw_kvlist(value.kvlist_value.values)), "kvlist"
    if kind == "string_value":
        return value.string_value, None
    if kind is None:
        return "", "empty"
    if kind == "string_value_strindex":  # a profiles-only string-table index
        return str(value.string_value_strindex), "strindex"
    raise ValueError(f"AnyValue holds {kind!r}, which this spanbench version cannot store")


def raw_value(value: AnyValue) -> Any:
    """`value` as a JSON-able Python value (bytes as base64 text, as Go's json does)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if kind == "array_value":
        return [raw_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _raw_kvlist(value.kvlist_value.values)
    return getattr(value, kind)


def _raw_kvlist(values: Sequence[KeyValue]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in values:
        out.setdefault(kv.key, raw_value(kv.value))
    return out


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def decode_value(text: str, type_name: str | None) -> Any:
    """Invert `text_of`: the original value from its stored text and type name (None = str)."""
    if not type_name:
        return text
    if type_name == "int":
        return int(text)
    if type_name == "double":
        return float(text)
    if type_name == "bool":
        if text not in ("true", "false"):
            raise ValueError(f"bool attribute text must be 'true' or 'false', got {text!r}")
        return text == "true"
    if type_name == "bytes":
        return base64.b64decode(text, validate=True)
    if type_name in ("array", "kvlist"):
        return json.loads(text)
    if type_name == "empty":
        return None
    if type_name == "strindex":
        return int(text)
    raise ValueError(f"unknown attribute type name {type_name!r}")


class _Collected:
    """Per-column lists that `to_tables` fills a block of spans at a time, and their table.

    Span fields are read with `attrgetter` mapped over a scope's spans, so the loop over
    spans runs in C; attribute maps are assembled by Arrow from the distinct KeyValues.
    """

    def __init__(self) -> None:
        self.span_fields: dict[str, list[Any]] = {name: [] for name in _SPAN_FIELDS}
        self.hex_fields: dict[str, list[str]] = {name: [] for name in _SPAN_IDS}
        self.status_codes: list[int] = []
        self.status_messages: list[str] = []
        self.resource_index: list[int] = []
        self.scope_index: list[int] = []
        self.span_attributes = _SerializedMaps()
        self.event_counts: list[int] = []
        self.event_times: list[int] = []
        self.event_names: list[str] = []
        self.event_attributes = _SerializedMaps()
        self.link_counts: list[int] = []
        self.link_fields: dict[str, list[str]] = {name: [] for name in _LINK_FIELDS}
        self.link_attributes = _MessageMaps()
        self.services: list[str] = []
        self.resource_attributes = _MessageMaps()
        self.scopes: list[tuple[str, str]] = []

    @property
    def span_count(self) -> int:
        return len(self.resource_index)

    def add_resource(self, attributes: Sequence[KeyValue]) -> int:
        """Append a resource's attributes once; return its index."""
        maps = self.resource_attributes
        start = len(maps.keys)
        maps.add(attributes)
        texts = dict(zip(reversed(maps.keys[start:]), reversed(maps.texts[start:]), strict=True))
        self.services.append(texts.get(Attr.SERVICE_NAME, ""))  # the first one, as in the map
        return len(self.services) - 1

    def add_scope(self, scope: InstrumentationScope) -> int:
        """Append a scope's name and version once; return its index."""
        self.scopes.append((scope.name, scope.version))
        return len(self.scopes) - 1

    def add_spans(self, spans: Iterable[Any], resource_index: int, scope_index: int) -> None:
        """Append one scope's spans (lazy messages: attributes still serialized)."""
        spans = list(spans)
        for name, values in self.span_fields.items():
            values.extend(map(attrgetter(name), spans))
        for name, values in self.hex_fields.items():
            values.extend(map(bytes.hex, map(attrgetter(name), spans)))
        if any(map(_HAS_STATUS, spans)):
            statuses = list(map(_STATUS, spans))
            self.status_codes.extend(map(_CODE, statuses))
            self.status_messages.extend(map(_MESSAGE, statuses))
        else:  # the usual case, and reading each default status costs more than asking
            self.status_codes.extend(repeat(0, len(spans)))
            self.status_messages.extend(repeat("", len(spans)))
        self.resource_index.extend(repeat(resource_index, len(spans)))
        self.scope_index.extend(repeat(scope_index, len(spans)))
        self.span_attributes.add(map(_ATTRIBUTES, spans))
        per_span_events = list(map(_EVENTS, spans))
        self.event_counts.extend(map(len, per_span_events))
        events = list(chain.from_iterable(per_span_events))
        if events:
            self.event_times.extend(map(_EVENT_TIME, events))
            self.event_names.extend(map(_NAME, events))
            self.event_attributes.add(map(_ATTRIBUTES, events))
        per_span_links = list(map(_LINKS, spans))
        self.link_counts.extend(map(len, per_span_links))
        for link in chain.from_iterable(per_span_links):
            self.link_fields["trace_id"].append(link.trace_id.hex())
            self.link_fields["span_id"].append(link.span_id.hex())
            self.link_fields["trace_state"].append(link.trace_state)
            self.link_attributes.add(link.attributes)

    def table(self) -> pa.Table:
        """Assemble the collected lists into one table with SCHEMA."""
        resource_index = pa.array(self.resource_index, pa.int32())
        scope_index = pa.array(self.scope_index, pa.int32())
        resource_map, resource_types = self.resource_attributes.arrays()
        scope_names, scope_versions = zip(*self.scopes, strict=True)
        columns = self.span_columns()
        columns |= {
            "ServiceName": pa.array(self.services, pa.string()).take(resource_index),
            "ResourceAttributes": resource_map.take(resource_index),
            "ResourceAttributeTypes": resource_types.take(resource_index),
            "ScopeName": pa.array(scope_names, pa.string()).take(scope_index),
            "ScopeVersion": pa.array(scope_versions, pa.string()).take(scope_index),
        }
        columns |= _promoted(
            columns["SpanAttributes"], columns["SpanAttributeTypes"], resource_map,
            resource_types, resource_index,
        )  # fmt: skip
        return pa.Table.from_arrays([columns[name] for name in SCHEMA.names], schema=SCHEMA)

    def span_columns(self) -> dict[str, pa.Array]:
        """The columns read from the spans themselves (not their resources or scopes)."""
        fields, ids = self.span_fields, self.hex_fields
        span_map, span_types = self.span_attributes.arrays()
        begin = pa.array(fields["start_time_unix_nano"], pa.int64())
        end = pa.array(fields["end_time_unix_nano"], pa.int64())
        return {
            "Timestamp": begin.view(_TIMESTAMP),
            "EndTimestamp": end.view(_TIMESTAMP),
            "Duration": pc.subtract(end, begin),
            "TraceId": pa.array(ids["trace_id"], pa.string()),
            "SpanId": pa.array(ids["span_id"], pa.string()),
            "ParentSpanId": parent_ids(pa.array(ids["parent_span_id"], pa.string())),
            "TraceState": pa.array(fields["trace_state"], pa.string()),
            "SpanName": pa.array(fields["name"], pa.string()),
            "SpanKind": enum_names(pa.array(fields["kind"], pa.int32()), SPAN_KINDS, "SpanKind"),
            "SpanAttributes": span_map,
            "SpanAttributeTypes": span_types,
            "StatusCode": enum_names(
                pa.array(self.status_codes, pa.int32()), STATUS_CODES, "StatusCode"
            ),
            "StatusMessage": pa.array(self.status_messages, pa.string()),
            "Events": pa.ListArray.from_arrays(_offsets(self.event_counts), self._events()),
            "Links": pa.ListArray.from_arrays(_offsets(self.link_counts), self._links()),
        }

    def _events(self) -> pa.StructArray:
        attributes, types = self.event_attributes.arrays()
        return pa.StructArray.from_arrays(
            [
                pa.array(self.event_times, _TIMESTAMP),
                pa.array(self.event_names, pa.string()),
                attributes,
                types,
            ],
            fields=list(EVENT_TYPE),
        )

    def _links(self) -> pa.StructArray:
        attributes, types = self.link_attributes.arrays()
        return pa.StructArray.from_arrays(
            [pa.array(self.link_fields[name], pa.string()) for name in _LINK_FIELDS]
            + [attributes, types],
            fields=list(LINK_TYPE),
        )


class _WireCollected(_Collected):
    """`_Collected` fed serialized Spans (`decode_span_bytes`), read all at once by
    `wire_spans.read_spans` when the table is built."""

    def __init__(self) -> None:
        super().__init__()
        self.span_bytes: list[bytes] = []

    def add_spans(self, spans: Iterable[Any], resource_index: int, scope_index: int) -> None:
        """Append one scope's spans (each a serialized Span)."""
        start = len(self.span_bytes)
        self.span_bytes.extend(spans)
        added = len(self.span_bytes) - start
        self.resource_index.extend(repeat(resource_index, added))
        self.scope_index.extend(repeat(scope_index, added))

    def span_columns(self) -> dict[str, pa.Array]:
        spans = read_spans(self.span_bytes)
        span_map, span_types = serialized_maps(spans.attributes.items, spans.attributes.offsets)
        event_map, event_types = serialized_maps(
            spans.event_attributes.items, spans.event_attributes.offsets
        )
        events = pa.StructArray.from_arrays(
            [spans.event_time.view(_TIMESTAMP), spans.event_name, event_map, event_types],
            fields=list(EVENT_TYPE),
        )
        link_map, link_types = serialized_maps(
            spans.link_attributes.items, spans.link_attributes.offsets
        )
        links = pa.StructArray.from_arrays(
            [spans.link_trace_id, spans.link_span_id, spans.link_trace_state, link_map,
             link_types],
            fields=list(LINK_TYPE),
        )  # fmt: skip
        return {
            "Timestamp": spans.start.view(_TIMESTAMP),
            "EndTimestamp": spans.end.view(_TIMESTAMP),
            "Duration": pc.subtract(spans.end, spans.start),
            "TraceId": spans.trace_id,
            "SpanId": spans.span_id,
            "ParentSpanId": parent_ids(spans.parent_span_id),
            "TraceState": spans.trace_state,
            "SpanName": spans.name,
            "SpanKind": enum_names(spans.kind, SPAN_KINDS, "SpanKind"),
            "SpanAttributes": span_map,
            "SpanAttributeTypes": span_types,
            "StatusCode": enum_names(spans.status_code, STATUS_CODES, "StatusCode"),
            "StatusMessage": spans.status_message,
            "Events": pa.ListArray.from_arrays(spans.event_offsets, events),
            "Links": pa.ListArray.from_arrays(spans.link_offsets, links),
        }


def parent_ids(hex_ids: pa.Array) -> pa.Array:
    """Parent span ids as stored: an all-zero one (no parent) becomes ''."""
    return pc.if_else(pc.equal(hex_ids, _ZERO_SPAN_HEX), "", hex_ids)


def enum_names(codes: pa.Array, names: Mapping[int, str], enum: str) -> pa.Array:
    """Enum numbers as their names (`names` numbers 0..n-1); others as `enum(number)`."""
    low, high = pc.min_max(codes).values()
    if len(codes) == 0 or (low.as_py() >= 0 and high.as_py() < len(names)):
        return pa.array([names[number] for number in range(len(names))]).take(codes)
    return pa.array([names.get(number) or f"{enum}({number})" for number in codes.to_pylist()])


def _promoted(
    span_map: pa.MapArray,
    span_types: pa.MapArray,
    resource_map: pa.MapArray,
    resource_types: pa.MapArray,
    resource_index: pa.Array,
) -> dict[str, pa.Array]:
    """RunId .. Warmup: the span's bench.* attribute, else its resource's (Arrow compute)."""
    span_lookup = _Lookup(span_map)
    span_type_lookup = _Lookup(span_types)
    resource_lookup = _Lookup(resource_map)
    resource_type_lookup = _Lookup(resource_types)
    found: dict[str, tuple[pa.Array, pa.Array | None]] = {}
    for key in _PROMOTED:
        span_text = span_lookup(key)
        on_span = pc.is_valid(span_text)
        text = pc.if_else(on_span, span_text, resource_lookup(key).take(resource_index))
        type_name = None
        if key in _TYPED_PROMOTED:
            type_name = pc.if_else(
                on_span, span_type_lookup(key), resource_type_lookup(key).take(resource_index)
            )
        found[key] = (text, type_name)
    run_text, run_type = found[Attr.RUN_ID]
    run_ids = pc.fill_null(pc.if_else(pc.is_null(run_type), run_text, ""), UNASSIGNED)
    for run_id in run_ids.unique().to_pylist():
        if not RUN_ID_PATTERN.fullmatch(run_id):
            raise ValueError(
                f"a span has bench.run_id {run_id!r}, not a valid run id (a string matching "
                f"{RUN_ID_PATTERN.pattern}): screen() the request first"
            )
    iteration_text, iteration_type = found[Attr.ITERATION]
    is_int = pc.fill_null(pc.equal(iteration_type, "int"), False)
    is_decimal_text = pc.and_(
        pc.is_null(iteration_type),
        pc.fill_null(pc.match_substring_regex(iteration_text, r"^-?[0-9]{1,18}$"), False),
    )
    iteration = pc.cast(
        pc.if_else(pc.or_(is_int, is_decimal_text), iteration_text, None), pa.int64()
    )
    warmup_text, warmup_type = found[Attr.WARMUP]
    is_bool = pc.and_(
        pc.fill_null(pc.or_kleene(pc.is_null(warmup_type), pc.equal(warmup_type, "bool")), False),
        pc.is_in(warmup_text, pa.array(["true", "false"])),
    )
    warmup = pc.if_else(is_bool, pc.equal(warmup_text, "true"), None)
    return {
        "RunId": run_ids,
        "Suite": found[Attr.SUITE][0],
        "Scenario": found[Attr.SCENARIO][0],
        "Phase": found[Attr.PHASE][0],
        "Iteration": iteration,
        "Warmup": warmup,
    }


class _Lookup:
    """Per-row value of each promoted key in a map<string, string> column (null if absent).

    `pc.map_lookup` scans row by row; one hash lookup of the flat keys against the
    promoted keys, then a scatter of the matches back to their rows, is much faster.
    """

    def __init__(self, map_array: pa.MapArray) -> None:
        self.rows = len(map_array)
        self.items = map_array.items
        self.slots = pc.index_in(map_array.keys, value_set=_PROMOTED_ARRAY)
        self.parents = pc.list_parent_indices(
            pa.ListArray.from_arrays(map_array.offsets, map_array.keys)
        )

    def __call__(self, key: str) -> pa.Array:
        positions = pc.indices_nonzero(pc.equal(self.slots, _PROMOTED.index(key)))
        if len(positions) == 0:
            return pa.nulls(self.rows, pa.string())
        return pc.scatter(
            self.items.take(positions), self.parents.take(positions), max_index=self.rows - 1
        )


def _offsets(counts: Sequence[int]) -> pa.Array:
    return pa.array(list(accumulate(counts, initial=0)), pa.int32())


def _split(table: pa.Table) -> dict[str, pa.Table]:
    run_ids = table.column("RunId")
    distinct = run_ids.unique().to_pylist()
    if len(distinct) == 1:
        return {distinct[0]: table}
    return {run_id: table.filter(pc.equal(run_ids, run_id)) for run_id in distinct}


def any_value(value: Any) -> AnyValue:
    """A Python value (as `decode_value` returns it) as an OTLP AnyValue."""
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, list):
        out = AnyValue()
        out.array_value.values.extend(any_value(item) for item in value)
        return out
    if isinstance(value, dict):
        out = AnyValue()
        out.kvlist_value.values.extend(as_key_values(value))
        return out
    raise TypeError(f"cannot express a {type(value).__name__} as an OTLP AnyValue")


def as_key_values(values: Mapping[str, Any]) -> list[KeyValue]:
    """Python values by key as OTLP KeyValues, in the mapping's order."""
    return [KeyValue(key=key, value=any_value(value)) for key, value in values.items()]
