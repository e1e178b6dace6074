"""worker_phases.summarize: cycles grouped by trace, step and message; handler from execute."""

from __future__ import annotations

from typing import Any

from instrument.drivers.worker_phases import UNCLAIMED, quantile, summarize


def _span(name: str, start: int, end: int, trace: str = "t1", step: str = "s1",
          msg: str = "1", **attributes: Any) -> dict[str, Any]:
    return {"name": name, "trace_id": trace, "start_ns": start, "end_ns": end,
            "attributes": {"step_uuid": step, "messaging.message.id": msg,
                           "bench.suite": "e2e_latency", **attributes}}


def _cycle(trace: str, offset: int, handler: str = "square", **extra: Any) -> list[dict]:
    return [_span("claim", offset, offset + 10, trace, **extra),
            _span("execute", offset + 10, offset + 15, trace, handler=handler, **extra),
            _span("submit", offset + 15, offset + 40, trace, handler=handler, **extra)]


def test_claim_takes_its_cycles_handler_and_total_is_claim_start_to_submit_end() -> None:
    spans = _cycle("a", 0) + _cycle("b", 100) + _cycle("c", 0, handler="noop")
    rows = {(s.handler, s.phase): s for s in summarize(spans)}
    assert [key for key in rows] == [("noop", "claim"), ("noop", "execute"), ("noop", "submit"),
                                     ("noop", "worker.total"), ("square", "claim"),
                                     ("square", "execute"), ("square", "submit"),
                                     ("square", "worker.total")]
    assert rows[("square", "claim")].n == 2
    assert rows[("square", "worker.total")].mean_ns == 40
    assert rows[("square", "submit")].p50_ns == 25
    assert rows[("square", "submit")].p95_ns is None


def test_duplicates_count_as_unclaimed_and_filters_apply() -> None:
    spans = [_span("claim", 0, 3, "d", msg="9"), *_cycle("w", 0, **{"bench.warmup": True}),
             *_cycle("x", 0, **{"bench.suite": "worker_execution"}),
             _span("publish", 0, 1)]
    rows = {(s.handler, s.phase): s.n for s in summarize(spans, suite="e2e_latency")}
    assert rows == {(UNCLAIMED, "claim"): 1}
    with_warmup = summarize(spans, suite="e2e_latency", include_warmup=True)
    assert {(s.handler, s.phase) for s in with_warmup} >= {("square", "worker.total")}
    assert {s.handler for s in summarize(spans)} == {UNCLAIMED, "square"}


def test_p95_needs_twenty_samples_and_interpolates() -> None:
    spans = [s for i in range(20) for s in _cycle(f"t{i}", 0)]
    spans[-1] = _span("submit", 15, 15 + 1000, "t19", handler="square")
    submit = next(s for s in summarize(spans) if s.phase == "submit")
    assert submit.p95_ns == quantile(sorted([25] * 19 + [1000]), 0.95)
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    assert quantile([7], 0.95) == 7
