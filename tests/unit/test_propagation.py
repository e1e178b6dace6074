"""Trace context and bench.* baggage through HTTP headers and PGMQ message headers."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry import baggage, trace
from opentelemetry.context import Context
from opentelemetry.propagate import get_global_textmap, set_global_textmap
from opentelemetry.trace import SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.datastructures import Headers

from instrument.propagation import (
    bench_attributes_from_baggage,
    context_for,
    context_with_baggage,
    extract_http_headers,
    extract_message_headers,
    inject_http_headers,
    inject_message_headers,
)
from instrument.recorder import PhaseRecorder
from spanbench.vocabulary import Attr

BAGGAGE = {
    Attr.RUN_ID: "run 1/ä",
    Attr.SUITE: "e2e_latency",
    Attr.SCENARIO: "diamond_4",
    Attr.ITERATION: 12,
    Attr.WARMUP: True,
}
SPAN = SpanContext(
    0x4BF92F3577B34DA6A3CE929D0E0E4736,
    0x00F067AA0BA902B7,
    is_remote=False,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "x")]),
)


def _outgoing() -> Context:
    return context_for(SPAN, context_with_baggage(BAGGAGE, context=Context()))


def _assert_carries_outgoing(incoming: Context) -> None:
    span_context = trace.get_current_span(incoming).get_span_context()
    assert (span_context.trace_id, span_context.span_id) == (SPAN.trace_id, SPAN.span_id)
    assert span_context.is_remote and span_context.trace_flags.sampled
    assert span_context.trace_state == SPAN.trace_state
    assert bench_attributes_from_baggage(incoming) == BAGGAGE


def test_http_round_trip_through_case_insensitive_headers() -> None:
    headers = inject_http_headers(_outgoing(), {"content-type": "application/json"})
    assert headers["content-type"] == "application/json"
    assert headers["traceparent"] == f"00-{SPAN.trace_id:032x}-{SPAN.span_id:016x}-01"
    starlette = Headers(headers={key.title(): value for key, value in headers.items()})
    _assert_carries_outgoing(extract_http_headers(starlette))
    _assert_carries_outgoing(
        extract_http_headers(
            {
                "Traceparent": headers["traceparent"],
                "TraceState": headers["tracestate"],
                "BAGGAGE": headers["baggage"],
            }
        )
    )


def test_message_round_trip_through_json() -> None:
    headers = inject_message_headers(_outgoing())
    assert set(headers) == {"traceparent", "tracestate", "baggage"}
    stored = json.loads(json.dumps(headers))
    _assert_carries_outgoing(extract_message_headers(stored))


@pytest.mark.parametrize("headers", [None, {}, {"retries": 2}])
def test_message_without_context_gives_an_empty_context(headers: dict | None) -> None:
    incoming = extract_message_headers(headers)
    assert not trace.get_current_span(incoming).get_span_context().is_valid
    assert baggage.get_all(incoming) == {}


def test_a_phase_context_names_the_phase_as_parent() -> None:
    rec = PhaseRecorder(None)
    incoming = extract_message_headers(inject_message_headers(_outgoing()))
    with rec.phase("claim", parent=incoming) as claim:
        outgoing = inject_message_headers(claim.context)
    downstream = extract_message_headers(outgoing)
    parent = trace.get_current_span(downstream).get_span_context()
    assert parent.span_id == claim.span_id
    assert parent.trace_id == SPAN.trace_id
    assert claim.parent_span_context is not None
    assert claim.parent_span_context.span_id == SPAN.span_id
    assert bench_attributes_from_baggage(downstream) == BAGGAGE
    with rec.phase("execute", parent=downstream) as run:
        pass
    assert run.parent_span_context == parent


def test_context_for_takes_only_the_span_from_its_arguments() -> None:
    other = SpanContext(1, 2, is_remote=False)
    source = context_for(other, context_with_baggage({Attr.SUITE: "s"}, context=Context()))
    result = context_for(SPAN, source)
    assert trace.get_current_span(result).get_span_context() == SPAN
    assert baggage.get_all(result) == {Attr.SUITE: "s"}
    assert baggage.get_all(context_for(SPAN, None)) == {}


def test_baggage_values_are_typed_and_bad_ones_dropped(caplog: pytest.LogCaptureFixture) -> None:
    context = context_with_baggage(
        {Attr.ITERATION: "x", Attr.WARMUP: "false", "other": 1}, context=Context()
    )
    with caplog.at_level(logging.WARNING):
        assert bench_attributes_from_baggage(context) == {Attr.WARMUP: False}
    assert "bench.iteration" in caplog.text
    with pytest.raises(TypeError):
        context_with_baggage({Attr.ITERATION: [1]}, context=Context())  # type: ignore[dict-item]


def test_load_baggage_is_typed_and_a_rate_must_be_finite() -> None:
    context = context_with_baggage({Attr.CONCURRENCY: 8, Attr.ARRIVAL_RATE: 2.5},
                                   context=Context())
    assert bench_attributes_from_baggage(context) == {Attr.CONCURRENCY: 8,
                                                      Attr.ARRIVAL_RATE: 2.5}
    bad = context_with_baggage({Attr.CONCURRENCY: "eight", Attr.ARRIVAL_RATE: "inf"},
                               context=Context())
    assert bench_attributes_from_baggage(bad) == {}


def test_a_global_propagator_without_baggage_is_completed() -> None:
    original = get_global_textmap()
    set_global_textmap(TraceContextTextMapPropagator())
    try:
        headers = inject_http_headers(_outgoing())
    finally:
        set_global_textmap(original)
    assert "baggage" in headers
    _assert_carries_outgoing(extract_http_headers(headers))
