"""Trace context and bench.* baggage across HTTP requests and PGMQ message headers.

Uses the globally configured propagators (OTEL_PROPAGATORS, by default W3C
`tracecontext,baggage`). When the global propagator lacks `traceparent` or `baggage`,
spanbench cannot correlate spans, so these helpers use the W3C pair instead and log
once; the global configuration itself is left alone.
"""

from __future__ import annotations

import functools
import logging
import math
import random
from collections.abc import Mapping

from opentelemetry import baggage, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context, get_current
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from spanbench.vocabulary import BAGGAGE_KEYS, Attr

_logger = logging.getLogger(__name__)

BaggageValue = str | int | float | bool

_W3C = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
_REQUIRED_FIELDS = frozenset({"traceparent", "baggage"})


def _propagator() -> TextMapPropagator:
    return _usable(propagate.get_global_textmap())


@functools.cache
def _usable(configured: TextMapPropagator) -> TextMapPropagator:
    """`configured` when it carries traceparent and baggage, else the W3C pair (logged once)."""
    if configured.fields >= _REQUIRED_FIELDS:
        return configured
    _logger.warning(
        "the global propagator %s does not carry traceparent and baggage "
        "(OTEL_PROPAGATORS); spanbench uses tracecontext,baggage for its own headers",
        type(configured).__name__,
    )
    return _W3C


def inject_http_headers(context: Context | None, headers: dict[str, str] | None = None) -> dict:
    """Add traceparent, tracestate and baggage of `context` to `headers` (a new dict when None)."""
    carrier: dict[str, str] = {} if headers is None else headers
    _propagator().inject(carrier, context=context)
    return carrier


def extract_http_headers(headers: Mapping[str, str]) -> Context:
    """The context carried by HTTP headers; header names match case-insensitively."""
    carrier = {str(key).lower(): value for key, value in headers.items()}
    return _propagator().extract(carrier, context=Context())


def inject_message_headers(context: Context | None, headers: dict | None = None) -> dict:
    """Add traceparent, tracestate and baggage of `context` to PGMQ message headers."""
    carrier: dict = {} if headers is None else headers
    _propagator().inject(carrier, context=context)
    return carrier


def extract_message_headers(headers: Mapping | None) -> Context:
    """The context carried by a PGMQ message's headers; None or {} give an empty Context."""
    if not headers:
        return Context()
    carrier = {key: value for key, value in headers.items() if isinstance(value, str)}
    return _propagator().extract(carrier, context=Context())


def _baggage_text(value: BaggageValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise TypeError(f"baggage values are str, int, float or bool, not {type(value).__name__}")


def context_with_baggage(
    entries: Mapping[str, BaggageValue], context: Context | None = None
) -> Context:
    """`context` (default: the current one) with `entries` added to its baggage."""
    result = get_current() if context is None else context
    for key, value in entries.items():
        result = baggage.set_baggage(key, _baggage_text(value), result)
    return result


def context_for(span_context: SpanContext, baggage_from: Context | None = None) -> Context:
    """A Context whose current span is `span_context`, carrying the baggage of `baggage_from`."""
    base = Context() if baggage_from is None else baggage_from
    return trace.set_span_in_context(NonRecordingSpan(span_context), base)


def unsampled_context(baggage_from: Context | None = None) -> Context:
    """A parent that switches tracing off downstream: a fresh context with flags 00.

    Phases under it still time and propagate, but no process exports their spans.
    """
    span_context = SpanContext(
        trace_id=random.getrandbits(128) or 1,
        span_id=random.getrandbits(64) or 1,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.DEFAULT),
    )
    return context_for(span_context, baggage_from)


def _typed(key: str, text: str) -> BaggageValue:
    if key in (Attr.ITERATION, Attr.CONCURRENCY):
        return int(text)
    if key == Attr.ARRIVAL_RATE:
        rate = float(text)
        if not math.isfinite(rate):
            raise ValueError("expected a finite number")
        return rate
    if key in (Attr.WARMUP, Attr.STACK_TRACED):
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise ValueError("expected true or false")
        return lowered == "true"
    return text


def bench_attributes_from_baggage(context: Context | None = None) -> dict[str, BaggageValue]:
    """The bench.* baggage entries of `context` as span attributes, typed.

    `bench.iteration` and `bench.concurrency` become ints, `bench.arrival_rate` a float and
    `bench.warmup` a bool; an entry that does not parse is left out and logged.
    """
    entries = baggage.get_all(context)
    attributes: dict[str, BaggageValue] = {}
    for key in BAGGAGE_KEYS:
        text = entries.get(key)
        if text is None:
            continue
        try:
            attributes[key] = _typed(key, str(text))
        except ValueError:
            _logger.warning("ignoring baggage %s=%r: not a valid value", key, text)
    return attributes
