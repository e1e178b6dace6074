"""DeliveringExporter retries what the inner exporter could not deliver, within its budget,
and counts acknowledged, retried and dropped spans."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from instrument import delivery, settings
from instrument.delivery import DeliveringExporter, ExportCounts
from spanbench import settings as catalogue


class Flaky(SpanExporter):
    """Fails (or raises) `failures` times, then succeeds; remembers each attempt's size."""

    def __init__(self, failures: int, raises: bool = False) -> None:
        self.failures = failures
        self.raises = raises
        self.attempts: list[int] = []
        self.shut_down = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.attempts.append(len(spans))
        if len(self.attempts) <= self.failures:
            if self.raises:
                raise ConnectionError("refused")
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.shut_down = True


SPANS = [ReadableSpan(name=f"s{i}") for i in range(3)]


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "FIRST_BACKOFF_S", 0.01)
    monkeypatch.setattr(delivery, "MAX_BACKOFF_S", 0.02)


@pytest.mark.parametrize("raises", [False, True])
def test_a_failed_batch_is_retried_until_delivered(raises: bool) -> None:
    inner = Flaky(failures=3, raises=raises)
    exporter = DeliveringExporter(inner, retry_s=5)
    assert exporter.export(SPANS) is SpanExportResult.SUCCESS
    assert inner.attempts == [3, 3, 3, 3]
    assert exporter.counts.as_dict() == {"spans_acknowledged": 3, "spans_dropped": 0,
                                         "export_retries": 3}


def test_past_the_budget_the_batch_is_dropped_and_counted() -> None:
    counts = ExportCounts()
    exporter = DeliveringExporter(Flaky(failures=1_000), counts, retry_s=0.1)
    assert exporter.export(SPANS) is SpanExportResult.FAILURE
    assert counts.spans_dropped == 3 and counts.spans_acknowledged == 0
    assert 1 <= counts.export_retries <= 10


def test_shutdown_ends_a_retry_at_once() -> None:
    inner = Flaky(failures=1_000)
    exporter = DeliveringExporter(inner, retry_s=60)
    delivery_done = threading.Event()
    results: list[SpanExportResult] = []

    def deliver() -> None:
        results.append(exporter.export(SPANS))
        delivery_done.set()

    threading.Thread(target=deliver, daemon=True).start()
    while not inner.attempts:
        threading.Event().wait(0.005)
    exporter.shutdown()
    assert delivery_done.wait(2)
    assert results == [SpanExportResult.FAILURE] and inner.shut_down
    assert exporter.counts.spans_dropped == 3


def test_the_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(catalogue.EXPORT_RETRY_S, "2.5")
    assert settings.export_retry_s() == 2.5
    assert settings.export_retry_s(7) == 7
    monkeypatch.setenv(catalogue.EXPORT_RETRY_S, "soon")
    with pytest.raises(ValueError, match="SPANBENCH_EXPORT_RETRY_S"):
        settings.export_retry_s()
