"""Capped body reading: plain, gzip, deflate, bombs, corrupt streams."""

from __future__ import annotations

import gzip
import zlib

import pytest

from extract.receive.body import BodyError, BodyReader, BodyTooLarge


def _feed(reader: BodyReader, data: bytes, chunk: int = 1000) -> bytes:
    for start in range(0, len(data), chunk):
        reader.feed(data[start : start + chunk])
    return reader.finish()


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [("", bytes), ("identity", bytes), ("gzip", gzip.compress), ("deflate", zlib.compress)],
)
def test_round_trip(encoding: str, encode: object) -> None:
    payload = bytes(range(256)) * 100
    assert callable(encode)
    assert _feed(BodyReader(encoding, 1 << 20), encode(payload)) == payload


def test_plain_body_over_the_cap() -> None:
    with pytest.raises(BodyTooLarge):
        _feed(BodyReader("", 100), b"x" * 101)


def test_gzip_bomb_stops_at_the_cap() -> None:
    inflated = 64 * 1024 * 1024
    bomb = gzip.compress(bytes(inflated), compresslevel=9)
    reader = BodyReader("gzip", 1024 * 1024)
    with pytest.raises(BodyTooLarge, match="inflated"):
        _feed(reader, bomb, chunk=len(bomb))
    assert reader.size <= 1024 * 1024 + 1


def test_corrupt_gzip() -> None:
    with pytest.raises(BodyError):
        _feed(BodyReader("gzip", 1 << 20), b"\x1f\x8b not really gzip")


def test_truncated_gzip() -> None:
    with pytest.raises(BodyError, match="ends before"):
        _feed(BodyReader("gzip", 1 << 20), gzip.compress(b"y" * 5000)[:-10])


def test_unknown_encoding() -> None:
    with pytest.raises(ValueError, match="br"):
        BodyReader("br", 10)


def test_memory_counts_the_body_once_when_plain() -> None:
    plain = BodyReader("", 1 << 20)
    plain.feed(b"x" * 100)
    assert plain.memory == 100
    inflating = BodyReader("gzip", 1 << 20)
    compressed = gzip.compress(b"x" * 1000)
    inflating.feed(compressed)
    assert inflating.memory == 1000 + len(compressed)
