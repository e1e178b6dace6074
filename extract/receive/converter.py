"""Sealed spool segments → Parquet parts, in a background thread; then the segment goes.

A segment's records are converted in chunks of about `chunk_bytes`, each chunk written per
run id as part `<seq>-<chunk>`: the names depend only on the segment, so converting it again
after a crash replaces the same files instead of adding duplicates. The segment is deleted
only after its parts are durable.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from extract.receive.columns import to_tables
from extract.receive.spool import Segment, SegmentReader, fsync_directory
from extract.store.runstore import RunStore

log = logging.getLogger(__name__)

CHUNK_BYTES = 4 * 1024 * 1024
"""Most serialized request bytes turned into Arrow at once. The converter's working memory
is about 15 MiB plus 22 times the chunk (Python objects, Arrow buffers); a chunk is one
part file per run."""
MIN_CHUNK_BYTES = 256 * 1024


def chunk_bytes_for(max_backlog_bytes: int) -> int:
    """A chunk whose working memory is a fraction of the backlog bound (1/64 of it, capped)."""
    return max(MIN_CHUNK_BYTES, min(CHUNK_BYTES, max_backlog_bytes // 64))


def part_name(seq: int, chunk: int) -> str:
    """The deterministic part name of chunk `chunk` of segment `seq`."""
    return f"{seq:020d}-{chunk:04d}"


def _chunks(records: Iterable[bytes], chunk_bytes: int) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    size = 0
    for record in records:
        if chunk and size + len(record) > chunk_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(record)
        size += len(record)
    if chunk:
        yield chunk


def convert_segment(segment: Segment, runs: RunStore, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Write the segment's spans as Parquet parts into `runs`; return the span count.

    The segment file is left in place (the caller deletes it once this returns).
    """
    reader = SegmentReader(segment.path)
    written = 0
    for index, chunk in enumerate(_chunks(reader, chunk_bytes)):
        tables = to_tables(chunk)  # from the bytes: faster than decoding first
        for run_id, table in tables.items():
            runs.write_part(run_id, part_name(segment.seq, index), table)  # durable
            written += table.num_rows
    if reader.ignored_bytes:
        log.warning(
            "%s: ignored %d trailing bytes (a torn record, never acknowledged)",
            segment.path, reader.ignored_bytes,
        )  # fmt: skip
    return written


def retire_segment(segment: Segment) -> None:
    """Delete a converted segment, durably."""
    segment.path.unlink(missing_ok=True)
    fsync_directory(segment.path.parent)


class Converter:
    """Converts submitted segments in order, in one background thread.

    `on_converted(segment, spans)` runs after each segment is in Parquet and deleted.
    A failing segment is retried every `retry_delay_s`; it blocks the ones behind it,
    so the backlog fills and the receivers push back instead of losing data.
    """

    def __init__(
        self,
        runs: RunStore,
        on_converted: Callable[[Segment, int], None],
        on_error: Callable[[Segment, Exception], None],
        chunk_bytes: int = CHUNK_BYTES,
        retry_delay_s: float = 1.0,
    ) -> None:
        self._runs = runs
        self._on_converted = on_converted
        self._on_error = on_error
        self._chunk_bytes = chunk_bytes
        self._retry_delay_s = retry_delay_s
        self._queue: queue.Queue[Segment | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="converter", daemon=True)
        self.failed: list[Segment] = []
        self._busy = False

    @property
    def pending(self) -> int:
        """Segments submitted and not yet converted."""
        return self._queue.qsize() + self._busy

    def start(self) -> Converter:
        self._thread.start()
        return self

    def submit(self, segment: Segment) -> None:
        """Queue a sealed segment (thread-safe)."""
        self._queue.put(segment)

    def convert_now(self, segment: Segment) -> bool:
        """Convert one segment in the calling thread; False (reported) if it failed."""
        try:
            spans = convert_segment(segment, self._runs, self._chunk_bytes)
            retire_segment(segment)
        except Exception as error:
            log.exception("converting %s failed", segment.path)
            self._on_error(segment, error)
            return False
        self._on_converted(segment, spans)
        return True

    def stop(self) -> list[Segment]:
        """Convert everything submitted, stop the thread; return segments that failed."""
        self._queue.put(None)
        self._stopping.set()
        self._thread.join()
        return self.failed

    def _run(self) -> None:
        while True:
            segment = self._queue.get()
            if segment is None:
                return
            self._busy = True
            while not self.convert_now(segment):
                if self._stopping.is_set():
                    self.failed.append(segment)
                    break
                time.sleep(self._retry_delay_s)
            self._busy = False
