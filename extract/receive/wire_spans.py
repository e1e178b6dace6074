"""Serialized OTLP Spans → one Arrow array per span field, read for all spans at once.

The spans' bytes are laid end to end and walked with `wire.walk`; events and statuses are
walked the same way inside them. Attributes stay serialized KeyValues (their decoding is
the caller's, once per distinct one); links are walked as events are.
Whatever `wire` leaves to protobuf raises `wire.Unsupported`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from extract.receive import wire
from extract.receive.wire import FIXED64, LEN, VARINT

_INT64_MAX: Final = np.uint64(2**63 - 1)

# Field numbers of opentelemetry/proto/trace/v1/trace.proto.
_TRACE_ID, _SPAN_ID, _TRACE_STATE, _PARENT_SPAN_ID, _NAME, _KIND = 1, 2, 3, 4, 5, 6
_START, _END, _ATTRIBUTES, _EVENTS, _LINKS, _STATUS = 7, 8, 9, 11, 13, 15
_EVENT_TIME, _EVENT_NAME, _EVENT_ATTRIBUTES = 1, 2, 3
_STATUS_MESSAGE, _STATUS_CODE = 2, 3
_LINK_TRACE_ID, _LINK_SPAN_ID, _LINK_TRACE_STATE, _LINK_ATTRIBUTES = 1, 2, 3, 4


@dataclass(frozen=True)
class SerializedLists:
    """Items of many owners end to end (`items`), owner i's at offsets[i]:offsets[i + 1]."""

    items: pa.BinaryArray
    offsets: pa.Int32Array


@dataclass(frozen=True)
class SpanArrays:
    """The spans' fields, one item per span (events: one per event)."""

    start: pa.Int64Array
    end: pa.Int64Array
    trace_id: pa.StringArray  # hex, as bytes.hex
    span_id: pa.StringArray
    parent_span_id: pa.StringArray
    trace_state: pa.StringArray
    name: pa.StringArray
    kind: pa.Int32Array
    status_code: pa.Int32Array
    status_message: pa.StringArray
    attributes: SerializedLists
    event_offsets: pa.Int32Array
    event_time: pa.Int64Array
    event_name: pa.StringArray
    event_attributes: SerializedLists
    link_offsets: pa.Int32Array
    link_trace_id: pa.StringArray
    link_span_id: pa.StringArray
    link_trace_state: pa.StringArray
    link_attributes: SerializedLists


def read_spans(spans: list[bytes]) -> SpanArrays:
    """The fields of serialized Spans `spans` (Unsupported: decode them with protobuf)."""
    count = len(spans)
    sizes = np.fromiter(map(len, spans), dtype=np.int64, count=count)
    ends = np.cumsum(sizes)
    buffer = np.frombuffer(b"".join([*spans, bytes(wire.PADDING)]), dtype=np.uint8)
    fields = wire.walk(buffer, ends - sizes, ends)
    events = _owned(fields, count, _EVENTS)
    event_fields = wire.walk(buffer, events.start, events.start + events.size)
    links = _owned(fields, count, _LINKS)
    link_fields = wire.walk(buffer, links.start, links.start + links.size)
    link_count = links.owner.size
    statuses = _owned(fields, count, _STATUS, singular=True)
    status_fields = wire.walk(buffer, statuses.start, statuses.start + statuses.size)
    status_count = statuses.owner.size
    status_code = np.zeros(count, dtype=np.int64)
    status_code[statuses.owner] = wire.int32s(
        status_fields.numbers(status_count, _STATUS_CODE, VARINT)
    )
    message_start, message_size = status_fields.slices(status_count, _STATUS_MESSAGE)
    status_start, status_size = np.zeros(count, np.int64), np.zeros(count, np.int64)
    status_start[statuses.owner], status_size[statuses.owner] = message_start, message_size
    return SpanArrays(
        start=_nanoseconds(fields.numbers(count, _START, FIXED64)),
        end=_nanoseconds(fields.numbers(count, _END, FIXED64)),
        trace_id=wire.hex_array(buffer, *fields.slices(count, _TRACE_ID)),
        span_id=wire.hex_array(buffer, *fields.slices(count, _SPAN_ID)),
        parent_span_id=wire.hex_array(buffer, *fields.slices(count, _PARENT_SPAN_ID)),
        trace_state=wire.binary_array(buffer, *fields.slices(count, _TRACE_STATE), pa.string()),
        name=wire.binary_array(buffer, *fields.slices(count, _NAME), pa.string()),
        kind=pa.array(wire.int32s(fields.numbers(count, _KIND, VARINT)), pa.int32()),
        status_code=pa.array(status_code, pa.int32()),
        status_message=wire.binary_array(buffer, status_start, status_size, pa.string()),
        attributes=_serialized_lists(buffer, fields, count, _ATTRIBUTES),
        event_offsets=events.offsets,
        event_time=_nanoseconds(event_fields.numbers(events.owner.size, _EVENT_TIME, FIXED64)),
        event_name=wire.binary_array(
            buffer, *event_fields.slices(events.owner.size, _EVENT_NAME), pa.string()
        ),
        event_attributes=_serialized_lists(
            buffer, event_fields, events.owner.size, _EVENT_ATTRIBUTES
        ),
        link_offsets=links.offsets,
        link_trace_id=wire.hex_array(buffer, *link_fields.slices(link_count, _LINK_TRACE_ID)),
        link_span_id=wire.hex_array(buffer, *link_fields.slices(link_count, _LINK_SPAN_ID)),
        link_trace_state=wire.binary_array(
            buffer, *link_fields.slices(link_count, _LINK_TRACE_STATE), pa.string()
        ),
        link_attributes=_serialized_lists(buffer, link_fields, link_count, _LINK_ATTRIBUTES),
    )


@dataclass(frozen=True)
class _Owned:
    """Occurrences of a message field: their owners, bytes, and per-owner offsets (the
    owners ascending, unless the field is singular)."""

    owner: wire.Ints
    start: wire.Ints
    size: wire.Ints
    offsets: pa.Int32Array


def _owned(fields: wire.Fields, count: int, number: int, singular: bool = False) -> _Owned:
    if singular:
        chosen = fields.singular(number, LEN)  # one per message: their order does not matter
    else:
        chosen = fields.in_order(fields.where(number, LEN))
    owner = fields.message[chosen]
    return _Owned(owner, fields.start[chosen], fields.size[chosen], _offsets(owner, count))


def _serialized_lists(
    buffer: npt.NDArray[np.uint8], fields: wire.Fields, count: int, number: int
) -> SerializedLists:
    owned = _owned(fields, count, number)
    return SerializedLists(
        wire.binary_array(buffer, owned.start, owned.size, pa.binary()), owned.offsets
    )


def _offsets(owner: wire.Ints, count: int) -> pa.Int32Array:
    offsets = np.zeros(count + 1, dtype=np.int32)
    np.cumsum(np.bincount(owner, minlength=count), out=offsets[1:])
    return pa.array(offsets, pa.int32())


def _nanoseconds(values: npt.NDArray[np.uint64]) -> pa.Int64Array:
    if (values > _INT64_MAX).any():  # protobuf's reading then fails to fit int64, as it should
        raise wire.Unsupported("a time beyond int64 nanoseconds")
    return pa.array(values.astype(np.int64), pa.int64())


# Field numbers of KeyValue and AnyValue (opentelemetry/proto/common/v1/common.proto).
_KEY, _VALUE = 1, 2
_STRING_VALUE, _BOOL_VALUE, _INT_VALUE = 1, 2, 3
_KEY_TAG, _VALUE_TAG = _KEY << 3 | LEN, _VALUE << 3 | LEN
_STRING_TAG, _BOOL_TAG, _INT_TAG = _STRING_VALUE << 3 | LEN, _BOOL_VALUE << 3, _INT_VALUE << 3
_READ_TAGS: Final = np.array([_STRING_TAG, _BOOL_TAG, _INT_TAG], dtype=np.uint8)


def read_key_values(raws: pa.BinaryArray) -> tuple[pa.Array, pa.Array, pa.Array, wire.Bools]:
    """Key, AsString text and type name (null for a string) of serialized KeyValues.

    Only those laid out as every SDK writes them, the key and then a value holding one
    string, bool or int, are read (`done` marks them); the others' items are placeholders,
    for protobuf to decode. Their layout is checked at fixed steps instead of walked.
    """
    count = len(raws)
    offsets = np.frombuffer(raws.buffers()[1], dtype=np.int32)[raws.offset :][: count + 1]
    offsets = offsets.astype(np.int64)
    buffer = wire.padded(memoryview(raws.buffers()[2] or b"")[: offsets[-1]])
    starts, ends = offsets[:-1], offsets[1:]
    last = int(offsets[-1])  # what is read from here on is padding: zeros

    def where_still(done: wire.Bools, positions: wire.Ints) -> wire.Ints:
        """The positions of the KeyValues still `done`; the others read padding (no varint
        of 11 bytes or more, whatever the bytes that fail the checks hold)."""
        return np.where(done, np.minimum(positions, last), last)

    def length(values: npt.NDArray[np.uint64]) -> wire.Ints:
        return np.minimum(values, np.uint64(last)).astype(np.int64)

    done = (starts < ends) & (buffer[starts] == _KEY_TAG)
    key_size, key_start = wire.varints(buffer, where_still(done, starts + 1))
    value_tag_at = where_still(done, key_start + length(key_size))
    done &= buffer[value_tag_at] == _VALUE_TAG
    value_size, any_value_start = wire.varints(buffer, where_still(done, value_tag_at + 1))
    done &= (value_size > 0) & (any_value_start + length(value_size) == ends)
    any_value_tag = buffer[where_still(done, any_value_start)]
    done &= np.isin(any_value_tag, _READ_TAGS)
    number_value, number_end = wire.varints(buffer, where_still(done, any_value_start + 1))
    string_kv = done & (any_value_tag == _STRING_TAG)
    string_kv &= number_end + length(number_value) == ends
    bool_kv = done & (any_value_tag == _BOOL_TAG) & (number_end == ends)
    int_kv = done & (any_value_tag == _INT_TAG) & (number_end == ends)
    done = string_kv | bool_kv | int_kv
    per_kind = np.select([string_kv, bool_kv, int_kv], [_STRING_VALUE, _BOOL_VALUE, _INT_VALUE])
    text_start = np.where(string_kv, number_end, 0)
    text_size = np.where(string_kv, length(number_value), 0)
    key_start = np.where(done, key_start, 0)
    key_size = np.where(done, length(key_size), 0)
    is_int = pa.array(per_kind == _INT_VALUE)
    is_bool = pa.array(per_kind == _BOOL_VALUE)
    int_texts = pa.array(number_value.view(np.int64)).cast(pa.string())
    bool_texts = pc.if_else(pa.array(number_value != 0), "true", "false")
    strings = wire.binary_array(buffer, text_start, text_size, pa.string())
    texts = pc.if_else(is_int, int_texts, pc.if_else(is_bool, bool_texts, strings))
    no_type = pa.scalar(None, pa.string())
    type_names = pc.if_else(is_int, "int", pc.if_else(is_bool, "bool", no_type))
    keys = wire.binary_array(buffer, key_start, key_size, pa.string())
    return keys, texts, type_names, done
