"""Forward what the sink has acknowledged to other OTLP/HTTP receivers (Jaeger, a Collector).

One background thread per target posts the spooled protobuf records in order. `offer` never
blocks and never fails: past `max_bytes` queued for a target, the new record is dropped for
that target and counted, so a slow or absent target never slows acknowledgement or Parquet.
A refused or unreachable post is retried with backoff a bounded number of times, then dropped
and counted; on close, what is still queued gets `drain_s` to go.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

import httpx

from extract.receive.otlp_post import RETRYABLE, traces_url

log = logging.getLogger(__name__)

MAX_QUEUED_BYTES = 64 * 1024 * 1024
ATTEMPTS = 5
FIRST_BACKOFF_S = 0.2
MAX_BACKOFF_S = 5.0
DRAIN_S = 10.0


@dataclass
class ForwardCounters:
    """Per target; each field has one writer (offer: queued/dropped_full, thread: the rest)."""

    queued_records: int = 0
    dropped_full: int = 0
    forwarded_records: int = 0
    failed_records: int = 0


class Forwarder:
    """Posts records (serialized ExportTraceServiceRequests) to one OTLP/HTTP endpoint."""

    def __init__(self, endpoint: str, max_bytes: int = MAX_QUEUED_BYTES,
                 attempts: int = ATTEMPTS, timeout_s: float = 10.0) -> None:
        self.url = traces_url(endpoint)
        self.max_bytes = max_bytes
        self.attempts = attempts
        self.timeout_s = timeout_s
        self.counters = ForwardCounters()
        self._queue: deque[bytes] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closing = False
        self._deadline = float("inf")
        self._thread = threading.Thread(target=self._run, name=f"forward {self.url}",
                                        daemon=True)

    def start(self) -> Forwarder:
        self._thread.start()
        return self

    def offer(self, record: bytes) -> None:
        """Queue a record for this target, or drop it (counted) when the queue is full."""
        with self._lock:
            if self._closing or self._bytes + len(record) > self.max_bytes:
                self.counters.dropped_full += 1
                return
            self._queue.append(record)
            self._bytes += len(record)
            self.counters.queued_records += 1
            self._wake.notify()

    def close(self, drain_s: float = DRAIN_S) -> None:
        """Stop taking records; send what is queued for up to `drain_s`, then give up."""
        with self._lock:
            self._closing = True
            self._deadline = time.monotonic() + drain_s
            self._wake.notify()
        self._thread.join(drain_s + self.timeout_s + 1)
        with self._lock:
            left = len(self._queue)
            self.counters.failed_records += left
            self._queue.clear()
        if left:
            log.warning("forward to %s: %d records not sent within %.0f s of stopping",
                        self.url, left, drain_s)

    def _next(self) -> bytes | None:
        with self._lock:
            while not self._queue and not self._closing:
                self._wake.wait()
            if not self._queue or time.monotonic() > self._deadline:
                return None
            record = self._queue.popleft()
            self._bytes -= len(record)
            return record

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout_s) as client:
            while (record := self._next()) is not None:
                if self._send(client, record):
                    self.counters.forwarded_records += 1
                else:
                    self.counters.failed_records += 1

    def _send(self, client: httpx.Client, record: bytes) -> bool:
        backoff = FIRST_BACKOFF_S
        problem = ""
        for _ in range(self.attempts):
            try:
                response = client.post(self.url, content=record,
                                       headers={"Content-Type": "application/x-protobuf"})
            except httpx.HTTPError as error:
                problem = str(error) or type(error).__name__
            else:
                if response.status_code == 200:
                    return True
                problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRYABLE:
                    break
            if time.monotonic() + backoff > self._deadline:
                break
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        log.warning("forward to %s: a record of %d bytes dropped (%s)", self.url, len(record),
                    problem)
        return False

    def status(self) -> dict[str, object]:
        counters = self.counters
        return {"url": self.url, "queued_records": counters.queued_records,
                "forwarded_records": counters.forwarded_records,
                "failed_records": counters.failed_records,
                "dropped_queue_full": counters.dropped_full, "queued_bytes": self._bytes}
