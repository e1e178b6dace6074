"""Span delivery that survives a receiver restart, and the counts that prove it.

The stock OTLP/HTTP exporter retries connection errors and 429/502/503/504 itself, but only
within its request timeout (10 s by default): a sink that takes longer to come back would
cost the batch. `DeliveringExporter` retries a failed batch with exponential backoff for a
bounded time (SPANBENCH_EXPORT_RETRY_S), and counts what was acknowledged, retried and
dropped, so a run can compare the spans its recorders emitted with the spans delivered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

_logger = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 5.0


@dataclass
class ExportCounts:
    """What one process's exporter delivered; safe to update from the export thread."""

    spans_acknowledged: int = 0
    """Spans in batches the receiver answered with success."""
    spans_dropped: int = 0
    """Spans in batches given up after the retry budget (or at shutdown)."""
    export_retries: int = 0
    """Failed attempts that were retried (each after the stock exporter's own retries)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, acknowledged: int = 0, dropped: int = 0, retries: int = 0) -> None:
        with self._lock:
            self.spans_acknowledged += acknowledged
            self.spans_dropped += dropped
            self.export_retries += retries

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {"spans_acknowledged": self.spans_acknowledged,
                    "spans_dropped": self.spans_dropped,
                    "export_retries": self.export_retries}


class DeliveringExporter(SpanExporter):
    """Retries what `inner` could not deliver, within `retry_s` seconds per batch."""

    def __init__(self, inner: SpanExporter, counts: ExportCounts | None = None,
                 retry_s: float = 60.0) -> None:
        self._inner = inner
        self.counts = counts if counts is not None else ExportCounts()
        self._retry_s = retry_s
        self._stopping = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        give_up_at = time.monotonic() + self._retry_s
        backoff = FIRST_BACKOFF_S
        while True:
            try:
                result = self._inner.export(spans)
            except Exception:  # an exporter must never raise into the host
                _logger.exception("span export raised")
                result = SpanExportResult.FAILURE
            if result is SpanExportResult.SUCCESS:
                self.counts.add(acknowledged=len(spans))
                return result
            if time.monotonic() + backoff > give_up_at or self._stopping.is_set():
                break
            _logger.warning("span export of %d spans failed; retrying in %.1f s",
                            len(spans), backoff)
            self.counts.add(retries=1)
            if self._stopping.wait(backoff):
                break
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        _logger.error("dropped %d spans: the receiver did not take them within %.0f s",
                      len(spans), self._retry_s)
        self.counts.add(dropped=len(spans))
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._stopping.set()
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)
