"""Pure conversion of OTLP trace requests into Arrow tables with `parquet_store.SCHEMA`.

Columnar on purpose: one pass over the protobuf messages appends to flat per-column
lists (a tuple per span, transposed at the end); maps are flat key/value lists with
offsets, resource- and scope-level columns are built once and repeated with `take`.
Span and event attributes are read as serialized KeyValues (`decode_lazy`) and decoded
once per distinct KeyValue: most of a benchmark's attributes repeat from span to span.
Attribute values are stored as the ClickHouse exporter's `AsString` text, with the type
of every non-string value in the matching *Types map; `decode_value` inverts that.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue

from extract.receive.otlp_decode import (
    RUN_ID_PATTERN,
    UNASSIGNED,
    OtlpDecodeError,
    decode_lazy,
    decode_protobuf,
)
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
_ZERO_SPAN_ID: Final = bytes(8)
_Entry = tuple[str, str, str | None]  # an attribute: key, AsString text, type name (None: str)
_Maps = tuple[list[str], list[str], list[str], list[str]]  # keys, values, typed keys, types
_TIMESTAMP: Final = pa.timestamp("ns", tz="UTC")
_BYTES: Final = (bytes, bytearray, memoryview)


def to_tables(
    requests: Iterable[ExportTraceServiceRequest | bytes | bytearray | memoryview],
) -> dict[str, pa.Table]:
    """One table per run id (spans without `bench.run_id` under "unassigned").

    Items are decoded requests or their protobuf bytes (faster: no decode to do first).
    Span and event attributes are decoded once per distinct serialized KeyValue, as long
    as enough of them repeat.
    """
    c = _Collected()
    spans_append = c.spans.append
    events_append = c.events.append
    links_append = c.links.append
    span_maps, event_maps, link_maps = c.span_attributes, c.event_attributes, c.link_attributes
    keys, type_keys = span_maps[0], span_maps[2]
    event_keys, event_type_keys = event_maps[0], event_maps[2]
    link_keys, link_type_keys = link_maps[0], link_maps[2]
    kinds, codes = SPAN_KINDS, STATUS_CODES
    events, links = c.events, c.links
    cached = _CachedKeyValues()
    for item in requests:
        if cached.worthwhile(len(keys) + len(event_keys)):
            request: Any = decode_lazy(item)  # a message is serialized again: still faster
            append = cached.append
        else:
            request = decode_protobuf(item) if isinstance(item, _BYTES) else item
            append = _append_key_values
        for resource_spans in request.resource_spans:
            resource_index = c.add_resource(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                scope_index = c.add_scope(scope_spans.scope)
                for span in scope_spans.spans:
                    append(span.attributes, span_maps)
                    for event in span.events:
                        append(event.attributes, event_maps)
                        events_append(
                            (
                                event.time_unix_nano,
                                event.name,
                                len(event_keys),
                                len(event_type_keys),
                            )
                        )
                    for link in span.links:
                        _append_key_values(link.attributes, link_maps)
                        links_append(
                            (
                                link.trace_id.hex(),
                                link.span_id.hex(),
                                link.trace_state,
                                len(link_keys),
                                len(link_type_keys),
                            )
                        )
                    parent = span.parent_span_id
                    status = span.status
                    begin = span.start_time_unix_nano
                    end = span.end_time_unix_nano
                    kind = span.kind
                    code = status.code
                    spans_append(
                        (
                            begin,
                            end,
                            end - begin,
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            parent.hex() if parent and parent != _ZERO_SPAN_ID else "",
                            span.trace_state,
                            span.name,
                            kinds.get(kind) or f"SpanKind({kind})",
                            codes.get(code) or f"StatusCode({code})",
                            status.message,
                            resource_index,
                            scope_index,
                            len(keys),
                            len(type_keys),
                            len(events),
                            len(links),
                        )
                    )
    if not c.spans:
        return {}
    return _split(c.table())


def _append_key_values(attributes: Sequence[KeyValue], maps: _Maps) -> None:
    """Append one attribute map of KeyValue messages (the first occurrence of a key wins)."""
    keys, values, type_keys, type_values = maps
    for kv in attributes:
        key = kv.key
        value = kv.value
        text = value.string_value
        if not text:
            text, type_name = text_of(value)
            if type_name is not None:
                type_keys.append(key)
                type_values.append(type_name)
        keys.append(key)
        values.append(text)
    count = len(attributes)
    if count > 1 and len(set(keys[-count:])) < count:
        _reappend_unique([(kv.key, *text_of(kv.value)) for kv in attributes], maps)


class _CachedKeyValues:
    """Attribute maps from serialized KeyValues, each distinct one decoded once.

    A cache miss costs about twice a plain decode, so once misses pass `MAX_MISS_RATE`
    of the attributes seen (mostly unique values), the caller goes back to messages.
    """

    MAX_MISS_RATE: Final = 0.3

    def __init__(self) -> None:
        self.cache: dict[bytes, _Entry] = {}
        self.useful = True

    def worthwhile(self, attributes_seen: int) -> bool:
        """Whether to go on decoding through the cache, given the attributes seen so far."""
        misses = len(self.cache)
        if self.useful and misses > 64 and misses > self.MAX_MISS_RATE * attributes_seen:
            self.useful = False
            self.cache.clear()
        return self.useful

    def append(self, attributes: Sequence[bytes], maps: _Maps) -> None:
        keys, values, type_keys, type_values = maps
        cached = self.cache.get
        for raw in attributes:
            key, text, type_name = cached(raw) or self._decode(raw)
            keys.append(key)
            values.append(text)
            if type_name is not None:
                type_keys.append(key)
                type_values.append(type_name)
        count = len(attributes)
        if count > 1 and len(set(keys[-count:])) < count:
            _reappend_unique([self.cache[raw] for raw in attributes], maps)

    def _decode(self, raw: bytes) -> _Entry:
        entry = _short_key_value(raw)
        if entry is None:
            try:
                kv = KeyValue.FromString(raw)
            except DecodeError as error:
                message = f"an attribute is not a protobuf KeyValue: {error}"
                raise OtlpDecodeError(message) from error
            entry = (kv.key, *text_of(kv.value))
        self.cache[raw] = entry
        return entry


def _short_key_value(raw: bytes) -> _Entry | None:
    """The commonest serialized KeyValues, read straight off the wire; None for any other.

    Handles a key and an AnyValue each under 128 bytes, the AnyValue holding only a
    string or a non-negative int: `0A n key 12 m (0A m-2 text | 18 varint)`. A miss in
    the attribute cache costs about half as much this way as through protobuf.
    """
    size = len(raw)
    if size < 6 or raw[0] != 0x0A or raw[1] > 0x7F:
        return None
    value_at = raw[1] + 4  # past the key, the value's tag and its length
    if value_at + 2 > size or raw[value_at - 2] != 0x12 or raw[value_at - 1] != size - value_at:
        return None
    tag = raw[value_at]
    try:
        if tag == 0x0A and raw[value_at + 1] == size - value_at - 2:
            return raw[2 : value_at - 2].decode(), raw[value_at + 2 :].decode(), None
        if tag == 0x18 and size - value_at <= 10 and raw[-1] < 0x80:
            varint = raw[value_at + 1 :]
            number = 0
            for shift, byte in enumerate(varint):
                if byte < 0x80 and shift < len(varint) - 1:
                    return None
                number |= (byte & 0x7F) << (7 * shift)
            return raw[2 : value_at - 2].decode(), str(number), "int"
    except UnicodeDecodeError:
        return None
    return None


def _append_unique(entries: Sequence[_Entry], maps: _Maps) -> None:
    """Append one attribute map from (key, text, type) entries, the first of a key winning."""
    keys, values, type_keys, type_values = maps
    seen: set[str] = set()
    for key, text, type_name in entries:
        if key in seen:
            continue
        seen.add(key)
        keys.append(key)
        values.append(text)
        if type_name is not None:
            type_keys.append(key)
            type_values.append(type_name)


def _reappend_unique(entries: Sequence[_Entry], maps: _Maps) -> None:
    """Redo the map just appended from `entries` without repeated keys (DuckDB refuses them)."""
    keys, values, type_keys, type_values = maps
    typed = sum(1 for entry in entries if entry[2] is not None)
    del keys[-len(entries) :], values[-len(entries) :]
    if typed:
        del type_keys[-typed:], type_values[-typed:]
    _append_unique(entries, maps)


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
    """The flat lists one `to_tables` pass fills, and their assembly into a table."""

    def __init__(self) -> None:
        self.spans: list[tuple[Any, ...]] = []
        self.span_attributes: _Maps = ([], [], [], [])
        self.resources: list[tuple[str, int, int]] = []  # (service.name, map ends)
        self.resource_attributes: _Maps = ([], [], [], [])
        self.scopes: list[tuple[str, str]] = []
        self.events: list[tuple[Any, ...]] = []
        self.event_attributes: _Maps = ([], [], [], [])
        self.links: list[tuple[Any, ...]] = []
        self.link_attributes: _Maps = ([], [], [], [])

    def add_resource(self, attributes: Sequence[KeyValue]) -> int:
        """Append a resource's attributes once; return its index."""
        maps = self.resource_attributes
        start = len(maps[0])
        _append_key_values(attributes, maps)
        service = ""
        for key, text in zip(maps[0][start:], maps[1][start:], strict=True):
            if key == Attr.SERVICE_NAME:
                service = text
                break
        self.resources.append((service, len(maps[0]), len(maps[2])))
        return len(self.resources) - 1

    def add_scope(self, scope: InstrumentationScope) -> int:
        """Append a scope's name and version once; return its index."""
        self.scopes.append((scope.name, scope.version))
        return len(self.scopes) - 1

    def table(self) -> pa.Table:
        """Assemble the collected lists into one table with SCHEMA."""
        cols = list(zip(*self.spans, strict=True))
        resource_index = pa.array(cols[11], pa.int32())
        scope_index = pa.array(cols[12], pa.int32())
        services, resource_key_ends, resource_type_ends = zip(*self.resources, strict=True)
        keys, values, type_keys, type_values = self.resource_attributes
        resource_map = _map(keys, values, resource_key_ends)
        resource_types = _map(type_keys, type_values, resource_type_ends)
        scope_names, scope_versions = zip(*self.scopes, strict=True)
        keys, values, type_keys, type_values = self.span_attributes
        span_map = _map(keys, values, cols[13])
        span_types = _map(type_keys, type_values, cols[14])
        columns = {
            "Timestamp": pa.array(cols[0], _TIMESTAMP),
            "EndTimestamp": pa.array(cols[1], _TIMESTAMP),
            "Duration": pa.array(cols[2], pa.int64()),
            "TraceId": pa.array(cols[3], pa.string()),
            "SpanId": pa.array(cols[4], pa.string()),
            "ParentSpanId": pa.array(cols[5], pa.string()),
            "TraceState": pa.array(cols[6], pa.string()),
            "SpanName": pa.array(cols[7], pa.string()),
            "SpanKind": pa.array(cols[8], pa.string()),
            "ServiceName": pa.array(services, pa.string()).take(resource_index),
            "ResourceAttributes": resource_map.take(resource_index),
            "ResourceAttributeTypes": resource_types.take(resource_index),
            "ScopeName": pa.array(scope_names, pa.string()).take(scope_index),
            "ScopeVersion": pa.array(scope_versions, pa.string()).take(scope_index),
            "SpanAttributes": span_map,
            "SpanAttributeTypes": span_types,
            "StatusCode": pa.array(cols[9], pa.string()),
            "StatusMessage": pa.array(cols[10], pa.string()),
            "Events": _list(cols[15], self._events()),
            "Links": _list(cols[16], self._links()),
        }
        columns.update(
            _promoted(span_map, span_types, resource_map, resource_types, resource_index)
        )
        return pa.Table.from_arrays([columns[name] for name in SCHEMA.names], schema=SCHEMA)

    def _events(self) -> pa.StructArray:
        cols = list(zip(*self.events, strict=True)) or [(), (), (), ()]
        keys, values, type_keys, type_values = self.event_attributes
        return pa.StructArray.from_arrays(
            [
                pa.array(cols[0], _TIMESTAMP),
                pa.array(cols[1], pa.string()),
                _map(keys, values, cols[2]),
                _map(type_keys, type_values, cols[3]),
            ],
            fields=list(EVENT_TYPE),
        )

    def _links(self) -> pa.StructArray:
        cols = list(zip(*self.links, strict=True)) or [(), (), (), (), ()]
        keys, values, type_keys, type_values = self.link_attributes
        return pa.StructArray.from_arrays(
            [
                pa.array(cols[0], pa.string()),
                pa.array(cols[1], pa.string()),
                pa.array(cols[2], pa.string()),
                _map(keys, values, cols[3]),
                _map(type_keys, type_values, cols[4]),
            ],
            fields=list(LINK_TYPE),
        )


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


def _offsets(ends: Sequence[int]) -> pa.Array:
    return pa.array([0, *ends], pa.int32())


def _map(keys: list[str], values: list[str], ends: Sequence[int]) -> pa.MapArray:
    return pa.MapArray.from_arrays(
        _offsets(ends), pa.array(keys, pa.string()), pa.array(values, pa.string())
    )


def _list(ends: Sequence[int], items: pa.Array) -> pa.ListArray:
    return pa.ListArray.from_arrays(_offsets(ends), items)


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
