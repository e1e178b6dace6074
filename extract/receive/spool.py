"""The sink's write-ahead spool: append-only segment files, group commit, rotation.

A segment is `<seq>.seg`: the magic line, then records `[u32 length][u32 crc32][payload]`
(little endian), each payload a serialized ExportTraceServiceRequest. A request is
acknowledged only after its record is fsync'ed; one fsync serves every record pending at
that moment. Reading stops at the first short or corrupt record: a torn tail was never
acknowledged. Sequence numbers are nanosecond timestamps made strictly increasing, so they
never repeat across restarts even when the spool directory is emptied.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from extract.receive.backlog import Backlog

log = logging.getLogger(__name__)

MAGIC = b"SBSPOOL1\n"
HEADER = struct.Struct("<II")
SUFFIX = ".seg"


class SpoolError(RuntimeError):
    """The spool directory cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class Segment:
    """A sealed segment file, ready for conversion."""

    seq: int
    path: Path
    size: int


@dataclass(frozen=True)
class SegmentContents:
    """The intact records of a segment and how many trailing bytes were ignored."""

    records: list[bytes]
    ignored_bytes: int


def encode_record(payload: bytes) -> bytes:
    """One record: length, crc32, payload."""
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def decode_segment(data: bytes) -> SegmentContents:
    """Split a segment's bytes into records, stopping at the first torn or corrupt one."""
    if not data.startswith(MAGIC):
        return SegmentContents([], len(data))
    records: list[bytes] = []
    offset = len(MAGIC)
    end = len(data)
    while offset + HEADER.size <= end:
        length, crc = HEADER.unpack_from(data, offset)
        start = offset + HEADER.size
        if start + length > end:
            break
        payload = data[start : start + length]
        if zlib.crc32(payload) != crc:
            break
        records.append(payload)
        offset = start + length
    return SegmentContents(records, end - offset)


def read_segment(path: Path) -> SegmentContents:
    """The intact records of the segment file at `path`, all in memory."""
    return decode_segment(path.read_bytes())


class SegmentReader:
    """Iterates a segment file's intact records one at a time (constant memory).

    After iteration, `ignored_bytes` says how many trailing bytes were not records.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ignored_bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb", buffering=1 << 20) as stream:
            size = os.fstat(stream.fileno()).st_size
            if stream.read(len(MAGIC)) != MAGIC:
                self.ignored_bytes = size
                return
            offset = len(MAGIC)
            while offset + HEADER.size <= size:
                length, crc = HEADER.unpack(stream.read(HEADER.size))
                if offset + HEADER.size + length > size:
                    break
                payload = stream.read(length)
                if len(payload) != length or zlib.crc32(payload) != crc:
                    break
                offset += HEADER.size + length
                yield payload
            self.ignored_bytes = size - offset


def segment_path(directory: Path, seq: int) -> Path:
    return directory / f"{seq:020d}{SUFFIX}"


def leftover_segments(directory: Path) -> list[Segment]:
    """Segments left in `directory` by an earlier process, oldest first."""
    found = []
    for path in directory.glob(f"*{SUFFIX}"):
        stem = path.name.removesuffix(SUFFIX)
        if stem.isdigit():
            found.append(Segment(int(stem), path, path.stat().st_size))
    return sorted(found, key=lambda segment: segment.seq)


def fsync_directory(directory: Path) -> None:
    """Make renames, creations and deletions in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpoolLock:
    """An exclusive lock on a spool directory: one sink per output directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.directory / "lock", os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as error:
            raise SpoolError(
                f"cannot create the spool at {self.directory}: {error.strerror}; "
                "choose a writable --out"
            ) from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            os.close(fd)
            raise SpoolError(
                f"another sink is using {self.directory}: stop it or choose another --out"
            ) from error
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class _Pending:
    record: bytes
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class SpoolWriter:
    """Appends records with group commit in a thread; seals segments by size and age.

    `on_sealed` is called (in the writer thread) with each sealed, fully durable segment.
    """

    def __init__(
        self,
        directory: Path,
        backlog: Backlog,
        on_sealed: Callable[[Segment], None],
        segment_bytes: int,
        segment_age_s: float,
        first_seq: int = 0,
    ) -> None:
        self.directory = directory
        self._backlog = backlog
        self._on_sealed = on_sealed
        self._segment_bytes = segment_bytes
        self._segment_age_s = segment_age_s
        self._last_seq = first_seq - 1
        self._pending: list[_Pending] = []
        self._cond = threading.Condition()
        self._closing = False
        self._fd: int | None = None
        self._seq = 0
        self._size = 0
        self._opened_at = 0.0
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self.commits = 0

    @property
    def active_bytes(self) -> int:
        """Bytes in the segment being written (0 when none is open)."""
        return self._size if self._fd is not None else 0

    def start(self) -> SpoolWriter:
        self._thread.start()
        return self

    async def append(self, payload: bytes) -> None:
        """Return once `payload` is durable in the spool; raises OSError if it cannot be."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._closing:
                raise SpoolError("the spool is closed")
            self._pending.append(_Pending(encode_record(payload), loop, future))
            self._cond.notify()
        await future

    def close(self) -> None:
        """Write what is pending, seal the open segment, stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as error:  # never leave a request waiting on a dead thread
            log.exception("the spool writer stopped")
            with self._cond:
                self._closing = True
                batch, self._pending = self._pending, []
            self._settle(batch, SpoolError(f"the spool writer stopped: {error}"))

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    if self._fd is not None:
                        left = self._opened_at + self._segment_age_s - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                    else:
                        self._cond.wait()
                batch, self._pending = self._pending, []
                closing = self._closing
            if batch:
                self._commit(batch)
            if self._fd is not None and (
                closing
                or self._size >= self._segment_bytes
                or time.monotonic() - self._opened_at >= self._segment_age_s
            ):
                self._seal()
            if closing and not batch:
                return

    def _commit(self, batch: list[_Pending]) -> None:
        data = b"".join(item.record for item in batch)
        error: BaseException | None = None
        try:
            if self._fd is None:
                self._open()
            assert self._fd is not None
            start = self._size
            try:
                os.write(self._fd, data)
                os.fdatasync(self._fd)
            except OSError:
                os.ftruncate(self._fd, start)
                raise
            self._size += len(data)
            self._backlog.add_spooled(len(data))
            self.commits += 1
        except OSError as exc:
            log.error("spool write to %s failed: %s", self.directory, exc)
            error = exc
            if self._fd is not None:
                self._seal()  # later records go to a fresh segment, never after a bad one
        self._settle(batch, error)

    @staticmethod
    def _settle(batch: list[_Pending], error: BaseException | None) -> None:
        """Answer every waiter of `batch`, each on its own event loop."""
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for item in batch:
            by_loop.setdefault(item.loop, []).append(item.future)
        for loop, futures in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop waits for no answer
                loop.call_soon_threadsafe(_settle, futures, error)

    def _open(self) -> None:
        self._seq = max(time.time_ns(), self._last_seq + 1)
        self._last_seq = self._seq
        path = segment_path(self.directory, self._seq)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_APPEND, 0o644)
        os.write(fd, MAGIC)
        os.fdatasync(fd)
        fsync_directory(self.directory)
        self._fd, self._size, self._opened_at = fd, len(MAGIC), time.monotonic()
        self._backlog.add_spooled(len(MAGIC))

    def _seal(self) -> None:
        assert self._fd is not None
        os.close(self._fd)
        self._fd = None
        segment = Segment(self._seq, segment_path(self.directory, self._seq), self._size)
        self._on_sealed(segment)
