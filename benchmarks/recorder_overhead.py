"""Overhead of the phase recorder, in nanoseconds per phase (median of several runs).

    .venv/bin/python benchmarks/recorder_overhead.py

`cost` is what one `with rec.phase(...)` costs its caller (an empty loop subtracted);
`in span` is what lands inside the measured duration of an empty phase; `flush` is the
after-the-region cost of turning one record into an SDK span (processor discards it).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

from instrument.recorder import PhaseRecorder

N = 20_000
RUNS = 7


class _Discard(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        pass


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
            with phase("claim", parent=root, attributes={"step_uuid": "s"}) as p:
                p.set_attribute("messaging.message.id", i)
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
        rec = PhaseRecorder(provider, base_attributes={"bench.run_id": "r", "bench.suite": "s"})
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
    provider.shutdown()


if __name__ == "__main__":
    main()
