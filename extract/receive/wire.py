"""Protobuf wire format read for many messages at once, with numpy (no Python per message).

`walk` lists every field of every message whose bytes lie at `starts[i]:ends[i]` of one
buffer: one vectorised step reads the next field of all messages not yet finished, so the
Python loop runs once per field position, not once per message. Anything this reader does
not handle exactly as protobuf would (groups, truncated or oversized fields, field number 0,
a singular field given twice or with another wire type) raises `Unsupported`, and the
caller decodes those bytes with protobuf itself instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from numpy.lib.stride_tricks import sliding_window_view

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5
PADDING: Final = 16
"""Zero bytes a buffer needs after its data: a varint or fixed64 is read as a whole window."""
_WORD_STARTS: Final = np.array([0, 4, 8], dtype=np.int64)  # of a view's 3 inline words
_KEPT_BYTES: Final = np.array([0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF], dtype=np.uint32)
_INT32_RANGE: Final = 1 << 31
_HEX_PAIRS: Final = np.frombuffer(
    b"".join(f"{byte:02x}".encode() for byte in range(256)), dtype=np.uint16
)

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


class Unsupported(ValueError):
    """The bytes need protobuf's own decoder (malformed, or a case this reader leaves out)."""


def padded(data: bytes | bytearray | memoryview) -> npt.NDArray[np.uint8]:
    """`data` as uint8 followed by PADDING zero bytes, as `walk` reads it."""
    out = np.zeros(len(data) + PADDING, dtype=np.uint8)
    out[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    return out


@dataclass(frozen=True)
class Fields:
    """Every field of a batch of messages: each message's first field, then each one's
    second, and so on (`in_order` orders some by message).

    `value` holds a varint or a fixed number; `start`/`size` locate a length-delimited
    field's bytes in the buffer.
    """

    message: Ints
    number: Ints
    wire_type: Ints
    value: npt.NDArray[np.uint64]
    start: Ints
    size: Ints

    @cached_property
    def _by_number(self) -> tuple[Ints, Ints]:
        """(field numbers present, where each one's fields begin and end in `_order`)."""
        if self.number.max(initial=0) < 1 << 16:  # the usual: counted, not sorted
            counts = np.bincount(self.number)
            numbers = np.flatnonzero(counts)
            counts = counts[numbers]
        else:
            numbers, counts = np.unique(self.number, return_counts=True)
        return numbers, np.concatenate(([0], np.cumsum(counts)))

    @cached_property
    def _order(self) -> Ints:
        """Field indices grouped by field number, in step order within a number."""
        small = self.number.astype(np.uint16) if self.number.max(initial=0) < 1 << 16 else None
        return np.argsort(self.number if small is None else small, kind="stable")

    def where(self, number: int, wire_type: int) -> Ints:
        """Indices of the occurrences of field `number` (in step order); any with another
        wire type: Unsupported."""
        numbers, bounds = self._by_number
        slot = int(np.searchsorted(numbers, number))
        if slot == numbers.size or numbers[slot] != number:
            return np.zeros(0, dtype=np.int64)
        chosen = self._order[bounds[slot] : bounds[slot + 1]]
        if (self.wire_type[chosen] != wire_type).any():
            raise Unsupported(f"field {number} with an unexpected wire type")
        return chosen

    def in_order(self, chosen: Ints) -> Ints:
        """The fields `chosen` by message, then as they appear in it."""
        return chosen[np.argsort(self.message[chosen], kind="stable")]

    def singular(self, number: int, wire_type: int) -> Ints:
        """`where`, and Unsupported when a message holds the field twice (protobuf merges)."""
        mask = self.where(number, wire_type)
        owners = self.message[mask]
        if owners.size > 1 and np.bincount(owners).max() > 1:
            raise Unsupported(f"field {number} repeated in one message")
        return mask

    def numbers(self, count: int, number: int, wire_type: int) -> npt.NDArray[np.uint64]:
        """A singular numeric field of `count` messages (0 where absent)."""
        mask = self.singular(number, wire_type)
        out = np.zeros(count, dtype=np.uint64)
        out[self.message[mask]] = self.value[mask]
        return out

    def slices(self, count: int, number: int) -> tuple[Ints, Ints]:
        """(start, size) of a singular length-delimited field of `count` messages (0, 0 if
        absent)."""
        mask = self.singular(number, LEN)
        starts, sizes = np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.int64)
        owners = self.message[mask]
        starts[owners], sizes[owners] = self.start[mask], self.size[mask]
        return starts, sizes


def walk(buffer: npt.NDArray[np.uint8], starts: Ints, ends: Ints) -> Fields:
    """The fields of the messages at `buffer[starts[i]:ends[i]]` (buffer from `padded`)."""
    position = starts.astype(np.int64, copy=True)
    live = np.flatnonzero(position < ends)
    steps: list[tuple[Any, ...]] = []
    while live.size:
        tag, at = varints(buffer, position[live])
        number = (tag >> np.uint64(3)).astype(np.int64)
        wire_type = (tag & np.uint64(7)).astype(np.int64)
        if number.min() < 1 or number.max() >= 1 << 29:
            raise Unsupported("field number 0 or out of range")
        bounds = ends[live]
        if (wire_type == wire_type[0]).all():  # the usual step: one field of every message
            value, start, size, after = _values(buffer, int(wire_type[0]), at, bounds)
        else:
            value = np.zeros(live.size, dtype=np.uint64)
            start, size = at.copy(), np.zeros(live.size, dtype=np.int64)
            after = np.empty(live.size, dtype=np.int64)
            for kind in np.unique(wire_type).tolist():
                mask = wire_type == kind
                value[mask], start[mask], size[mask], after[mask] = _values(
                    buffer, kind, at[mask], bounds[mask]
                )
        steps.append((live, number, wire_type, value, start, size))
        position[live] = after
        live = live[after < bounds]
    if not steps:
        empty = np.zeros(0, dtype=np.int64)
        return Fields(empty, empty, empty, np.zeros(0, dtype=np.uint64), empty, empty)
    # Field k of each message was read at step k: in step order, not message order.
    return Fields(*(np.concatenate([step[index] for step in steps]) for index in range(6)))


def _values(
    buffer: npt.NDArray[np.uint8], wire_type: int, at: Ints, ends: Ints
) -> tuple[npt.NDArray[np.uint64], Ints, Ints, Ints]:
    """(value, start, size, end) of fields of one wire type whose values begin at `at`."""
    size = np.zeros(at.size, dtype=np.int64)
    if wire_type == VARINT:
        value, after = varints(buffer, at)
    elif wire_type == FIXED64:
        value, after = fixed(buffer, at, 8), at + 8
    elif wire_type == FIXED32:
        value, after = fixed(buffer, at, 4), at + 4
    elif wire_type == LEN:
        length, at = varints(buffer, at)
        if (length > (ends - at).clip(0).astype(np.uint64)).any():
            raise Unsupported("a length-delimited field runs past its message")
        value, size = np.zeros(at.size, dtype=np.uint64), length.astype(np.int64)
        after = at + size
    else:
        raise Unsupported("a group or an invalid wire type")
    if (after > ends).any():
        raise Unsupported("a field runs past its message")
    return value, at, size, after


def varints(buffer: npt.NDArray[np.uint8], at: Ints) -> tuple[npt.NDArray[np.uint64], Ints]:
    """The varints starting at `at`, and where each ends (byte by byte, the longer ones on)."""
    byte = buffer[at]
    going = np.flatnonzero(byte >= 0x80)
    value = byte.astype(np.uint64)
    if not going.size:
        return value, at + 1
    value[going] &= np.uint64(0x7F)
    length = np.ones(at.size, dtype=np.int64)
    for shift in range(7, 70, 7):
        byte = buffer[at[going] + length[going]]
        value[going] |= (byte & 0x7F).astype(np.uint64) << np.uint64(shift)
        length[going] += 1
        going = going[byte >= 0x80]
        if not going.size:
            return value, at + length
    raise Unsupported("a varint longer than 10 bytes")


def fixed(buffer: npt.NDArray[np.uint8], at: Ints, width: int) -> npt.NDArray[np.uint64]:
    """Little-endian fixed64 (`width` 8) or fixed32 (4) numbers starting at `at`.

    A number running past the buffer's data (a truncated message, refused by the caller)
    reads as anything.
    """
    words = _words_at(buffer, np.minimum(at, buffer.size - PADDING), width // 4)
    if width == 4:
        return words[:, 0].astype(np.uint64)
    return words[:, 1].astype(np.uint64) << np.uint64(32) | words[:, 0]


def int32s(values: npt.NDArray[np.uint64]) -> Ints:
    """Varints of an int32 or enum field, as protobuf reads them (the low 32 bits, signed)."""
    low = (values & np.uint64(0xFFFFFFFF)).astype(np.int64)
    return np.where(low >= _INT32_RANGE, low - (1 << 32), low)


def gather(
    buffer: npt.NDArray[np.uint8], starts: Ints, sizes: Ints
) -> tuple[npt.NDArray[np.uint8], Ints]:
    """The slices end to end, and their offsets (one more than slices)."""
    offsets = np.zeros(sizes.size + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    positions = np.repeat(starts - offsets[:-1], sizes) + np.arange(offsets[-1], dtype=np.int64)
    return buffer[positions], offsets


def binary_array(
    buffer: npt.NDArray[np.uint8], starts: Ints, sizes: Ints, type_: pa.DataType
) -> pa.Array:
    """The slices as an Arrow binary or string array (a string one checked to be UTF-8).

    Made as a binary_view array over `buffer` (16 bytes per slice, no per-byte index),
    which Arrow then copies out as a plain binary array.
    """
    if buffer.size >= 1 << 31:
        raise Unsupported("a buffer of 2 GiB or more")
    # One 16-byte view per slice: its size, then a 4-byte prefix, buffer 0 and its offset,
    # except that a slice of up to 12 bytes has them inline instead (zero padded).
    words = np.empty((sizes.size, 4), dtype=np.uint32)
    words[:, 0] = sizes
    words[:, 2] = 0
    words[:, 3] = starts
    short = sizes <= 12
    if short.all():
        words[:, 1:] = _inline_words(buffer, starts, sizes)
    else:
        words[:, 1] = _words_at(buffer, starts, 1)[:, 0]
        short_ones = np.flatnonzero(short)
        words[short_ones, 1:] = _inline_words(buffer, starts[short_ones], sizes[short_ones])
    array = pa.Array.from_buffers(
        pa.binary_view(), sizes.size, [None, pa.py_buffer(words), pa.py_buffer(buffer)]
    ).cast(pa.binary())
    return _checked(array.view(type_)) if type_ == pa.string() else array


def _words_at(buffer: npt.NDArray[np.uint8], starts: Ints, count: int) -> npt.NDArray[np.uint32]:
    """The `count` little-endian 4-byte words from each of `starts` (a padded buffer).

    Read as aligned words, two at a time shifted into place: gathering the bytes of each
    window costs several times more.
    """
    aligned = buffer[: buffer.size - buffer.size % 4].view("<u4")
    index = starts >> 2
    shift = ((starts & 3) << 3).astype(np.uint64)
    out = np.empty((starts.size, count), dtype=np.uint32)
    low = aligned[index].astype(np.uint64)
    for word in range(count):
        high = aligned[index + (word + 1)].astype(np.uint64)
        out[:, word] = (high << np.uint64(32) | low) >> shift  # the low 32 bits are kept
        low = high
    return out


def _inline_words(
    buffer: npt.NDArray[np.uint8], starts: Ints, sizes: Ints
) -> npt.NDArray[np.uint32]:
    """The 12 bytes from each of `starts` as 3 words, zero past each slice's `sizes`."""
    kept = np.clip(sizes[:, None] - _WORD_STARTS, 0, 4)
    return _words_at(buffer, starts, 3) & _KEPT_BYTES[kept]


def hex_array(buffer: npt.NDArray[np.uint8], starts: Ints, sizes: Ints) -> pa.Array:
    """The slices as lower-case hex strings (as `bytes.hex`)."""
    if sizes.size and (sizes == sizes[0]).all():  # ids: all of one size, read as a block
        data = sliding_window_view(buffer, int(sizes[0]))[starts].ravel()
        offsets = np.arange(sizes.size + 1, dtype=np.int64) * int(sizes[0])
    else:
        data, offsets = gather(buffer, starts, sizes)
    if offsets[-1] >= 1 << 30:
        raise Unsupported("more than 1 GiB of ids in one column")
    buffers = [None, pa.py_buffer((offsets * 2).astype(np.int32)), pa.py_buffer(_HEX_PAIRS[data])]
    return pa.Array.from_buffers(pa.string(), sizes.size, buffers)


def _checked(strings: pa.Array) -> pa.Array:
    try:
        strings.validate(full=True)
    except pa.ArrowInvalid as error:
        raise Unsupported("a string is not UTF-8") from error
    return strings
