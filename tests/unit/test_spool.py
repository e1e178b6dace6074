"""The spool: record framing, torn tails, group commit, rotation, leftovers, the lock."""

from __future__ import annotations

import asyncio
import queue
import time
from pathlib import Path

import pytest

from extract.receive.backlog import Backlog
from extract.receive.spool import (
    MAGIC,
    Segment,
    SegmentReader,
    SpoolError,
    SpoolLock,
    SpoolWriter,
    decode_segment,
    encode_record,
    leftover_segments,
    read_segment,
)


def test_records_round_trip() -> None:
    payloads = [b"", b"a", b"x" * 10_000]
    data = MAGIC + b"".join(encode_record(p) for p in payloads)
    contents = decode_segment(data)
    assert contents.records == payloads
    assert contents.ignored_bytes == 0


@pytest.mark.parametrize("cut", [1, 5, 8, 9, 12])
def test_torn_tail_is_ignored(cut: int) -> None:
    good = MAGIC + encode_record(b"first") + encode_record(b"second")
    torn = encode_record(b"third record")[:cut]
    contents = decode_segment(good + torn)
    assert contents.records == [b"first", b"second"]
    assert contents.ignored_bytes == cut


def test_reading_stops_at_a_corrupt_record() -> None:
    bad = bytearray(encode_record(b"payload"))
    bad[-1] ^= 0xFF
    contents = decode_segment(MAGIC + encode_record(b"ok") + bytes(bad) + encode_record(b"z"))
    assert contents.records == [b"ok"]


def test_a_file_without_the_magic_has_no_records() -> None:
    assert decode_segment(b"garbage").records == []


def _writer(tmp_path: Path, **kwargs: float) -> tuple[SpoolWriter, queue.Queue[Segment]]:
    sealed: queue.Queue[Segment] = queue.Queue()
    options = {"segment_bytes": 1 << 20, "segment_age_s": 60.0, **kwargs}
    writer = SpoolWriter(
        tmp_path,
        Backlog(1 << 30),
        sealed.put,
        segment_bytes=int(options["segment_bytes"]),
        segment_age_s=options["segment_age_s"],
    )
    return writer.start(), sealed


def test_concurrent_appends_share_commits(tmp_path: Path) -> None:
    writer, sealed = _writer(tmp_path)

    async def main() -> None:
        await asyncio.gather(*(writer.append(f"r{i}".encode()) for i in range(500)))

    asyncio.run(main())
    assert writer.commits < 500
    writer.close()
    segment = sealed.get_nowait()
    records = read_segment(segment.path).records
    assert sorted(records) == sorted(f"r{i}".encode() for i in range(500))
    assert segment.size == segment.path.stat().st_size


def test_segments_rotate_by_size(tmp_path: Path) -> None:
    writer, sealed = _writer(tmp_path, segment_bytes=1000)

    async def main() -> None:
        for _ in range(10):
            await writer.append(b"y" * 400)

    asyncio.run(main())
    writer.close()
    segments = [sealed.get_nowait() for _ in range(sealed.qsize())]
    assert len(segments) == 4
    assert [s.seq for s in segments] == sorted(s.seq for s in segments)
    assert sum(len(read_segment(s.path).records) for s in segments) == 10


def test_segments_rotate_by_age(tmp_path: Path) -> None:
    writer, sealed = _writer(tmp_path, segment_age_s=0.05)
    asyncio.run(writer.append(b"once"))
    segment = sealed.get(timeout=5)
    assert read_segment(segment.path).records == [b"once"]
    writer.close()
    assert sealed.empty()


def test_backlog_counts_spooled_bytes(tmp_path: Path) -> None:
    backlog = Backlog(1 << 30)
    writer = SpoolWriter(tmp_path, backlog, lambda s: None, 1 << 20, 60.0).start()
    asyncio.run(writer.append(b"z" * 100))
    writer.close()
    assert backlog.spooled == len(MAGIC) + len(encode_record(b"z" * 100))


def test_leftovers_are_listed_oldest_first(tmp_path: Path) -> None:
    for seq in (30, 4, 100):
        (tmp_path / f"{seq:020d}.seg").write_bytes(MAGIC)
    (tmp_path / "lock").write_bytes(b"")
    assert [s.seq for s in leftover_segments(tmp_path)] == [4, 30, 100]


def test_sequence_numbers_grow_past_leftovers(tmp_path: Path) -> None:
    future_seq = time.time_ns() + 10**15
    sealed: queue.Queue[Segment] = queue.Queue()
    writer = SpoolWriter(tmp_path, Backlog(1 << 30), sealed.put, 1 << 20, 60.0, future_seq + 1)
    writer.start()
    asyncio.run(writer.append(b"a"))
    writer.close()
    assert sealed.get_nowait().seq == future_seq + 1


def test_one_sink_per_spool(tmp_path: Path) -> None:
    first = SpoolLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(SpoolError, match="another sink"):
            SpoolLock(tmp_path).acquire()
    finally:
        first.release()
    SpoolLock(tmp_path).acquire()


@pytest.mark.parametrize("tail", [b"", b"\x05", encode_record(b"torn")[:-1], b"\x00" * 8])
def test_streaming_reader_matches_the_whole_file_reader(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "1.seg"
    path.write_bytes(MAGIC + b"".join(encode_record(bytes([i]) * i) for i in range(50)) + tail)
    reader = SegmentReader(path)
    assert list(reader) == read_segment(path).records
    assert reader.ignored_bytes == read_segment(path).ignored_bytes


def test_a_dead_writer_fails_waiters_instead_of_hanging(tmp_path: Path) -> None:
    def explode(segment: Segment) -> None:
        raise RuntimeError("converter queue broken")

    writer = SpoolWriter(tmp_path, Backlog(1 << 30), explode, 10, 60.0).start()

    async def main() -> None:
        await writer.append(b"first")  # durable, then sealing (size > 10) raises
        with pytest.raises(SpoolError):
            await asyncio.wait_for(writer.append(b"second"), timeout=5)

    asyncio.run(main())
    writer.close()
