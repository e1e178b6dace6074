"""Overhead of the phase recorder, in nanoseconds per phase (median of several runs), side by
side with the OpenTelemetry SDK's own `start_as_current_span` in the same process and run.

    .venv/bin/python -m benchmarks.recorder_overhead

`cost` is what one `with rec.phase(...)` costs its caller (an empty loop subtracted);
`in span` is what lands inside the measured duration of an empty phase; `flush` is the
after-the-region cost of turning one record into an SDK span (processor discards it).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from instrument.recorder import PhaseRecorder
from spanbench.vocabulary import Attr

N = 20_000
RUNS = 7


class _Discard(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        pass


class _DiscardExporter(SpanExporter):
    def export(self, spans: object) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _sdk_provider(processor: SpanProcessor | None) -> TracerProvider:
    provider = TracerProvider(shutdown_on_exit=False)
    if processor is not None:
        provider.add_span_processor(processor)
    return provider


def _sdk_children_with_attributes(provider: TracerProvider, n: int) -> int:
    """The SDK's way, with the same attributes as _children_with_attributes."""
    start_span = provider.get_tracer("bench").start_as_current_span
    with start_span("e2e.workflow"):
        start = time.perf_counter_ns()
        for i in range(n):
            with start_span("claim", attributes={Attr.STEP_UUID: "s"}) as span:
                span.set_attribute(Attr.MESSAGING_MESSAGE_ID, i)
        return time.perf_counter_ns() - start


def _sdk_median_ns(processor: SpanProcessor | None) -> float:
    samples = []
    for _ in range(RUNS):
        provider = _sdk_provider(processor)
        samples.append((_sdk_children_with_attributes(provider, N) - _empty_loop(N)) / N)
        provider.force_flush()
    provider.shutdown()
    return statistics.median(samples)


def _provider() -> TracerProvider:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(_Discard())
    return provider


def _empty_loop(n: int) -> int:
    start = time.perf_counter_ns()
    for _ in range(n):
        pass
    return time.perf_counter_ns() - start


def _roots(rec: PhaseRecorder, n: int) -> int:
    phase = rec.phase
    start = time.perf_counter_ns()
    for _ in range(n):
        with phase("task.initialize"):
            pass
    return time.perf_counter_ns() - start


def _children(rec: PhaseRecorder, n: int) -> int:
    phase = rec.phase
    with phase("e2e.workflow") as root:
        start = time.perf_counter_ns()
        for _ in range(n):
            with phase("discovery", parent=root):
                pass
        return time.perf_counter_ns() - start


def _children_with_attributes(rec: PhaseRecorder, n: int) -> int:
    phase = rec.phase
    with phase("e2e.workflow") as root:
        start = time.perf_counter_ns()
        for i in range(n):
            with phase("claim", parent=root, attributes={Attr.STEP_UUID: "s"}) as p:
                p.set_attribute(Attr.MESSAGING_MESSAGE_ID, i)
        return time.perf_counter_ns() - start


def _median_ns(body: Callable[[PhaseRecorder, int], int], provider: TracerProvider | None) -> float:
    samples = []
    for _ in range(RUNS):
        rec = PhaseRecorder(provider)
        elapsed = body(rec, N) - _empty_loop(N)
        rec.flush()
        samples.append(elapsed / N)
    return statistics.median(samples)


def _in_span_ns(provider: TracerProvider | None) -> float:
    rec = PhaseRecorder(provider)
    durations = []
    for _ in range(N):
        with rec.phase("x") as p:
            pass
        durations.append(p.duration_ns)
    rec.flush()
    return statistics.median(durations)


def _flush_ns(provider: TracerProvider) -> float:
    samples = []
    for _ in range(RUNS):
        rec = PhaseRecorder(provider, base_attributes={Attr.RUN_ID: "r", Attr.SUITE: "s"})
        _children_with_attributes(rec, N)
        start = time.perf_counter_ns()
        count = rec.flush()
        samples.append((time.perf_counter_ns() - start) / count)
    return statistics.median(samples)


def main() -> None:
    provider = _provider()
    print(f"phase recorder overhead, ns per phase (median of {RUNS} runs of {N})")
    for label, body in (
        ("root phase", _roots),
        ("child phase", _children),
        ("child phase + attributes", _children_with_attributes),
    ):
        off = _median_ns(body, None)
        on = _median_ns(body, provider)
        print(f"  cost  {label:<26} tracing off {off:7.0f}   tracing on {on:7.0f}")
    print(
        f"  in span (empty phase duration)   tracing off {_in_span_ns(None):7.0f}"
        f"   tracing on {_in_span_ns(provider):7.0f}"
    )
    print(f"  flush per span (after the region)                      {_flush_ns(provider):7.0f}")
    recorder_on = _median_ns(_children_with_attributes, provider)
    provider.shutdown()
    sdk_bare = _sdk_median_ns(None)
    sdk_batch = _sdk_median_ns(BatchSpanProcessor(_DiscardExporter(), max_queue_size=N * 2))
    print("side by side, child span + 2 attributes, ns per span inside the timed region:")
    print(f"  phase recorder (tracing on)                 {recorder_on:8.0f}")
    print(f"  SDK start_as_current_span, no processor     {sdk_bare:8.0f}"
          f"   {sdk_bare / recorder_on:5.1f}x the recorder")
    print(f"  SDK start_as_current_span, BatchSpanProcessor {sdk_batch:6.0f}"
          f"   {sdk_batch / recorder_on:5.1f}x the recorder")


if __name__ == "__main__":
    main()
