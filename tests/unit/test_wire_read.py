"""The wire-format reading of spans (extract.receive.wire, wire_spans) builds exactly the
table the protobuf path builds, column by column, and leaves to protobuf what it cannot read.

Both paths run on the same requests: `via_wire` with the size thresholds at zero (so even a
one-span request is read from the wire format), `via_protobuf` with them out of reach.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from benchmarks.sink_convert import RUN_ID, request_bodies, sdk_spans
from extract.receive import columns, otlp_decode, wire, wire_spans
from extract.receive.columns import as_key_values
from extract.receive.otlp_decode import OtlpDecodeError
from tests.otlp_strategies import hostile_spans, requests, valid_spans
from tests.unit.test_columns_reference import every_field_request, reference_table

Item = ExportTraceServiceRequest | bytes
HEAVY = settings(max_examples=max(10, settings.default.max_examples // 4))


@pytest.fixture(autouse=True)
def _one_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(columns, "_split", lambda table: {"all": table})  # keep span order
    yield


def via_wire(items: Sequence[Item]) -> pa.Table | None:
    """The wire path alone: an Unsupported escapes instead of falling back."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columns, "_WIRE_READ_MIN_KEY_VALUES", 0)
        return columns._collect(columns._WireCollected(), otlp_decode.decode_span_bytes, items)


def via_protobuf(items: Sequence[Item]) -> pa.Table | None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columns, "_WIRE_READ_MIN_KEY_VALUES", math.inf)
        return columns._collect(columns._Collected(), otlp_decode.decode_lazy, items)


def to_tables(items: Sequence[Item], wire_from: float) -> dict[str, pa.Table]:
    """`to_tables` with the wire path taken from `wire_from` bytes and KeyValues on."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columns, "WIRE_READ_MIN_BYTES", wire_from)
        patch.setattr(columns, "_WIRE_READ_MIN_KEY_VALUES", wire_from)
        return columns.to_tables(items)


def assert_same_columns(got: pa.Table | None, expected: pa.Table | None) -> None:
    assert (got is None) == (expected is None)
    if got is None or expected is None:
        return
    assert got.schema == expected.schema
    for name in expected.column_names:
        assert got.column(name).equals(expected.column(name)), name


def test_sdk_spans_read_from_the_wire_match_protobuf_column_by_column() -> None:
    bodies = request_bodies(sdk_spans(1500))
    got = via_wire(bodies)
    assert got is not None and got.num_rows == 1500
    assert_same_columns(got, via_protobuf(bodies))
    assert set(got.column("RunId").to_pylist()) == {RUN_ID}


def test_every_field_and_attribute_kind_matches_protobuf_and_the_reference() -> None:
    request = every_field_request()
    items: list[Item] = [request.SerializeToString(), request]
    got = via_wire(items)
    assert_same_columns(got, via_protobuf(items))
    assert got is not None
    expected = reference_table([request, request])
    for name in expected.column_names:
        assert got.column(name).equals(expected.column(name)), name


@HEAVY
@given(requests(valid_spans()))
def test_valid_requests_read_from_the_wire_match_protobuf(
    request: ExportTraceServiceRequest,
) -> None:
    body = request.SerializeToString()
    assert_same_columns(via_wire([body]), via_protobuf([body]))


@HEAVY
@given(requests(hostile_spans()))
def test_hostile_requests_give_the_same_tables_or_the_same_error(
    request: ExportTraceServiceRequest,
) -> None:
    body = request.SerializeToString()
    outcomes = []
    for wire_from in (0, math.inf):
        try:
            outcomes.append(to_tables([body], wire_from).get("all"))
        except (ValueError, OverflowError) as error:
            outcomes.append(type(error))
    if isinstance(outcomes[0], pa.Table) or isinstance(outcomes[1], pa.Table):
        assert_same_columns(outcomes[0], outcomes[1])
    else:
        assert outcomes[0] == outcomes[1]


def _with_span_bytes(*spans: bytes) -> bytes:
    """A request whose one scope holds `spans` exactly as given."""
    request = otlp_decode._SpanBytesRequest()
    request.resource_spans.add().scope_spans.add().spans.extend(spans)
    return request.SerializeToString()


def _span(**fields: Any) -> Span:
    plain = {"trace_id": bytes([1]) * 16, "span_id": bytes([2]) * 8, "name": "op", "kind": 1,
             "start_time_unix_nano": 10, "end_time_unix_nano": 20}  # fmt: skip
    span = Span(**(plain | fields))
    span.attributes.extend(as_key_values({"n": -5, "s": "x" * 300, "b": True}))
    return span


ODD_SPANS = {
    # a singular field twice: protobuf keeps the last name, merges both statuses
    "name twice": _span().SerializeToString() + b"\x2a\x03abc",
    "status twice": _span().SerializeToString() + b"\x7a\x02\x18\x02" + b"\x7a\x04\x12\x02ok",
    "unknown field": _span().SerializeToString() + b"\xa8\x06\x07",  # field 101, varint
    "negative kind": _span(kind=-3).SerializeToString(),
    "start twice": b"\x39" + (5).to_bytes(8, "little") + _span().SerializeToString(),
    "a group": b"\x0b\x0c" + _span().SerializeToString(),
    "kind as a fixed64": _span().SerializeToString() + b"\x31" + bytes(8),
    # links (field 13): a trace id given twice (the last kept), flags (a fixed32) and an
    # unknown field, which the table leaves out
    "link's trace id twice": _span().SerializeToString() + b"\x6a\x06\x0a\x01\x01\x0a\x01\x02",
    "link's flags": _span().SerializeToString() + b"\x6a\x09\x0a\x02\xab\xcd\x35" + bytes(4),
    "link's unknown field": _span().SerializeToString() + b"\x6a\x05\x12\x01\x07\x60\x01",
}


@pytest.mark.parametrize("name", sorted(ODD_SPANS))
def test_spans_protobuf_reads_its_own_way_come_out_as_protobuf_reads_them(name: str) -> None:
    body = _with_span_bytes(ODD_SPANS[name], _span().SerializeToString())
    assert_same_columns(to_tables([body], 0)["all"], to_tables([body], math.inf)["all"])


BROKEN_SPANS = {
    "truncated": _span().SerializeToString()[:-3],
    "a name past the end": b"\x2a\x7f" + b"abc",
    "invalid utf-8 name": Span(name="é").SerializeToString().replace("é".encode(), b"\xff\xfe"),
    "field number 0": b"\x02\x00",
}


@pytest.mark.parametrize("name", sorted(BROKEN_SPANS))
def test_broken_spans_are_left_to_protobuf_which_rejects_them(name: str) -> None:
    body = _with_span_bytes(BROKEN_SPANS[name])
    with pytest.raises(wire.Unsupported):
        via_wire([body])
    with pytest.raises(OtlpDecodeError):
        to_tables([body], 0)


def test_a_varint_of_ten_bytes_and_lengths_past_one_byte_read_as_protobuf_does() -> None:
    long_attributes = {"k" * 200: "v" * 20_000, "min": -(2**63), "max": 2**63 - 1}
    span = _span(kind=-(2**31), start_time_unix_nano=2**63 - 2, end_time_unix_nano=2**63 - 1)
    span.attributes.extend(as_key_values(long_attributes))
    body = _with_span_bytes(span.SerializeToString())
    assert_same_columns(via_wire([body]), via_protobuf([body]))


def test_small_requests_take_the_protobuf_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the wire path was taken")

    monkeypatch.setattr(columns._WireCollected, "span_columns", refuse)
    body = _with_span_bytes(_span().SerializeToString())
    assert columns.to_tables([body])["all"].num_rows == 1


ODD_KEY_VALUES = [
    b"\x0a\x01k\x12\x05\x0a\x01a\x18\x05",  # string, then int: the oneof keeps the int
    b"\x0a\x01k\x12\x05\x18\x05\x0a\x01a",  # int, then string
    b"\x0a\x01k\x0a\x01j\x12\x03\x0a\x01a",  # the key twice: the last one
    b"\x0a\x01k\x12\x03\x0a\x01a\x12\x02\x10\x01",  # the value twice: merged, then a bool
    b"\x0a\x01k",  # no value
    b"\x12\x03\x0a\x01a",  # no key
    b"\x0a\x01k\x12\x00",  # an empty AnyValue
    b"\x0a\x01k\x12\x03\x0a\x01a\x18\x07",  # an unknown varint field in the KeyValue
    b"\x0a\x01k\x12\x05\x0a\x01a\x50\x07",  # an unknown field in the AnyValue
    b"\x0a\x01k\x12\x09\x21" + bytes(8),  # a double (left to protobuf)
    b"\x0a\x01k\x12\x02\x10\x02",  # a bool varint of 2
    b"\x0a\x01k\x12\x0b\x18" + b"\xff" * 9 + b"\x01",  # int -1 as ten bytes
]


def test_odd_key_values_decode_as_protobuf_decodes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    raws = pa.array(ODD_KEY_VALUES * 3, pa.binary())
    monkeypatch.setattr(columns, "_WIRE_READ_MIN_KEY_VALUES", 0)
    got = columns.decode_key_values(raws)
    expected = columns._parsed_key_values(raws)
    for got_array, expected_array in zip(got, expected, strict=True):
        assert got_array.equals(expected_array), (got_array, expected_array)
    *_, done = wire_spans.read_key_values(raws)
    assert done.tolist() == ([False] * 10 + [True, True]) * 3  # the rest went to protobuf


@given(st.binary(min_size=0, max_size=80), st.data())
def test_binary_arrays_hold_exactly_the_slices_at_every_alignment(
    data: bytes, draw: st.DataObject
) -> None:
    slices = draw.draw(
        st.lists(
            st.integers(0, len(data)).flatmap(
                lambda start: st.tuples(st.just(start), st.integers(0, len(data) - start))
            ),
            max_size=40,
        )
    )
    starts = np.array([start for start, _ in slices], dtype=np.int64)
    sizes = np.array([size for _, size in slices], dtype=np.int64)
    got = wire.binary_array(wire.padded(data), starts, sizes, pa.binary())
    assert got.to_pylist() == [data[start : start + size] for start, size in slices]


_ANY_VALUES = st.one_of(
    st.text(max_size=200),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.binary(max_size=8),
    st.none(),
    st.lists(st.integers(-5, 5), max_size=2),
)


@st.composite
def key_value_bytes(draw: st.DrawFn) -> bytes:
    """A serialized KeyValue: as an SDK writes it, or in a layout protobuf reads as well
    (value first, a second value merged into the first, an unknown field after)."""
    key, value = draw(st.text(max_size=140)), draw(_ANY_VALUES)
    canonical = as_key_values({key: value})[0].SerializeToString()
    layouts = ["canonical", "value first", "second value", "unknown field"]
    layout = draw(st.sampled_from(layouts))
    if layout == "value first":
        only_value = as_key_values({"": value})[0].SerializeToString()
        only_key = as_key_values({key: None})[0].SerializeToString()[: -len(b"\x12\x00")]
        return only_value + only_key
    if layout == "second value":
        return canonical + as_key_values({"": draw(_ANY_VALUES)})[0].SerializeToString()
    if layout == "unknown field":
        return canonical + b"\x18\x01"  # field 3, a varint
    return canonical


@HEAVY
@given(st.lists(key_value_bytes(), max_size=30))
def test_key_values_read_from_the_wire_match_protobuf(raws: list[bytes]) -> None:
    array = pa.array(raws, pa.binary())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columns, "_WIRE_READ_MIN_KEY_VALUES", 0)
        got = columns.decode_key_values(array)
    for got_array, expected_array in zip(got, columns._parsed_key_values(array), strict=True):
        assert got_array.equals(expected_array), (got_array, expected_array)
