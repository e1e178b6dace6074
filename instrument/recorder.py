"""The phase recorder: the one way spanbench times a phase.

Inside a timed region a phase only reads `time.perf_counter_ns` and, on exit, appends
its record to a deque. `PhaseRecorder.flush()`, called after the region, turns the
finished records into SDK spans with explicit wall-clock timestamps and hands them to
the provider's span processors, which ship them (BatchSpanProcessor → OTLP).

Trace and span ids are drawn when a phase is created, so code inside a phase can
propagate its context (`p.context`, `p.span_context`) before any span exists; the span
built at flush carries exactly those ids. Since the SDK's Tracer cannot take given ids,
flush builds `ReadableSpan`s itself and calls `on_end` of the SDK tracer's public
`span_processor`; processors' `on_start` is not called (the span was never live).

Sampling: a phase with a parent follows the parent's sampled flag (as ParentBased
does); a root phase asks the provider's sampler, or is sampled when there is no
provider so that downstream processes trace it. Unsampled phases still time and
propagate flags 00, but are never exported.

Phases are not made the current OpenTelemetry context (that would cost inside the
region): pass `parent=p` to nest. A `parent` of None means the current context's span.

Threads: records may be finished from any thread (deque appends are atomic) and flush
may run concurrently; in practice one thread or one event loop records and flushes.
Nothing here blocks: flush only queues spans for the processors' own threads.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import deque
from collections.abc import Mapping
from random import Random
from types import TracebackType

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context, get_current
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from instrument.propagation import bench_attributes_from_baggage
from spanbench.vocabulary import Attr

__all__ = ["PhaseRecord", "PhaseRecorder", "bench_attributes_from_baggage"]

_logger = logging.getLogger(__name__)

AttrValue = AttributeValue

_SAMPLED = TraceFlags.SAMPLED
_ROOT_FLAGS = TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID
_UNSAMPLED_ROOT_FLAGS = TraceFlags.RANDOM_TRACE_ID
_EMPTY_CONTEXT = Context()
_UNSET = Status(StatusCode.UNSET)
_perf_counter_ns = time.perf_counter_ns
_IDS = Random()
"""Trace and span ids come from this generator of the recorder's own, seeded from the OS: the
`random` module's shared one may be seeded by whoever runs the code (Hypothesis does, per
example), which would repeat ids, and drawing from it changes what they draw next."""


class PhaseRecord:
    """One timed phase. Use it as a context manager (from `PhaseRecorder.phase`)."""

    __slots__ = (
        "_base_context",
        "_context",
        "_export",
        "_parent",
        "_recorder",
        "_span_context",
        "attributes",
        "end_ns",
        "error",
        "kind",
        "name",
        "span_id",
        "start_ns",
        "status",
        "trace_flags",
        "trace_id",
        "trace_state",
    )

    def __init__(
        self,
        recorder: PhaseRecorder,
        name: str,
        parent: Parent,
        kind: SpanKind,
        attributes: Mapping[str, AttrValue] | None,
    ) -> None:
        self._recorder = recorder
        self.name = name
        self.kind = kind
        self.attributes: dict[str, AttrValue] = {} if attributes is None else dict(attributes)
        self.start_ns = 0
        self.end_ns = 0
        self.status: Status | None = None
        self.error: dict[str, AttrValue] | None = None
        self._span_context: SpanContext | None = None
        self._context: Context | None = None
        self.span_id = _IDS.getrandbits(64) or 1
        if isinstance(parent, PhaseRecord):  # a DelayedPhaseRecord too
            self._base_context = parent._base_context
            self._parent: PhaseRecord | SpanContext | None = parent
            self.trace_id = parent.trace_id
            self.trace_flags = parent.trace_flags
            self.trace_state = parent.trace_state
            self._export = parent._export
            return
        if parent is None or isinstance(parent, Context):
            base = get_current() if parent is None else parent
            parent_span = trace.get_current_span(base).get_span_context()
        else:
            base = get_current()
            parent_span = parent
        self._base_context = base
        if parent_span.is_valid:
            self._parent = parent_span
            self.trace_id = parent_span.trace_id
            self.trace_flags = parent_span.trace_flags
            self.trace_state = parent_span.trace_state
            self._export = recorder._tracer is not None and bool(self.trace_flags & _SAMPLED)
        else:
            self._parent = None
            self.trace_id = _IDS.getrandbits(128) or 1
            self.trace_flags, self.trace_state = recorder._sample_root(self)
            self._export = recorder._tracer is not None and bool(self.trace_flags & _SAMPLED)

    def __enter__(self) -> PhaseRecord:
        self.start_ns = _perf_counter_ns()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end_ns = _perf_counter_ns()
        if self._export:
            if exc is not None:
                self._record_exception(exc)
            self._recorder._finished.append(self)

    def _record_exception(self, exc: BaseException) -> None:
        exc_type = type(exc)
        module = exc_type.__module__
        qualname = exc_type.__qualname__
        type_name = qualname if module in (None, "builtins") else f"{module}.{qualname}"
        self.error = {
            "exception.type": type_name,
            "exception.message": str(exc),
            "exception.stacktrace": "".join(traceback.format_exception(exc)),
        }
        self.status = Status(StatusCode.ERROR, f"{exc_type.__name__}: {exc}")

    def discard(self) -> None:
        """End without becoming a span: what it timed did not happen (a step message another
        worker took first)."""
        self._export = False

    def set_attribute(self, key: str, value: AttrValue) -> None:
        """Set one span attribute (a dict write)."""
        self.attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, AttrValue]) -> None:
        """Set several span attributes."""
        self.attributes.update(attributes)

    def set_status(self, code: StatusCode, description: str | None = None) -> None:
        """Set the span status, e.g. ERROR for a failure that raised no exception."""
        self.status = Status(code, description)

    @property
    def duration_ns(self) -> int:
        """Measured duration, from the monotonic clock."""
        return self.end_ns - self.start_ns

    @property
    def sampled(self) -> bool:
        """Whether this phase's trace is sampled (propagated as flag 01)."""
        return bool(self.trace_flags & _SAMPLED)

    @property
    def span_context(self) -> SpanContext:
        """This phase's span context, for propagation."""
        if self._span_context is None:
            self._span_context = SpanContext(
                self.trace_id,
                self.span_id,
                is_remote=False,
                trace_flags=TraceFlags(self.trace_flags),
                trace_state=self.trace_state,
            )
        return self._span_context

    @property
    def context(self) -> Context:
        """A Context with this phase as current span and its parent's baggage, for inject()."""
        if self._context is None:
            span = NonRecordingSpan(self.span_context)
            self._context = trace.set_span_in_context(span, self._base_context)
        return self._context

    @property
    def parent_span_context(self) -> SpanContext | None:
        """The parent's span context, None for a root phase."""
        parent = self._parent
        return parent.span_context if isinstance(parent, PhaseRecord) else parent


class DelayedPhaseRecord(PhaseRecord):
    """A phase made slower on purpose (the test-only SPANBENCH_FAULT_DELAY): it busy-waits its
    delay before it ends, so the delay is exact even below the scheduler's resolution. An end
    the driver sets after the block (the receipt of a completion it saw inside it) is moved by
    the delay as well: slower code would have seen it that much later."""

    __slots__ = ("_delay_ns", "_delayed_end_ns", "_exited")

    def __init__(self, recorder: PhaseRecorder, name: str, parent: Parent, kind: SpanKind,
                 attributes: Mapping[str, AttrValue] | None, delay_ns: int) -> None:
        self._exited = False
        super().__init__(recorder, name, parent, kind, attributes)
        self._delay_ns = delay_ns

    @property
    def end_ns(self) -> int:
        return self._delayed_end_ns

    @end_ns.setter
    def end_ns(self, value: int) -> None:
        self._delayed_end_ns = value + self._delay_ns if self._exited else value

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        until = _perf_counter_ns() + self._delay_ns
        while _perf_counter_ns() < until:
            pass
        super().__exit__(exc_type, exc, tb)
        self._exited = True


Parent = Context | SpanContext | PhaseRecord | None
"""What a phase may hang under: a Context, a SpanContext, another phase, or None."""


class PhaseRecorder:
    """Times phases cheaply and turns them into spans of `provider` on `flush()`.

    `base_attributes` go onto every span; under them, bench.* baggage of the phase's
    parent context is stamped too, and `bench.phase` defaults to the phase name
    (precedence: the phase's own attributes, bench.phase, baggage, base attributes).
    With `provider` None (or an SDK disabled by OTEL_SDK_DISABLED) phases still time
    and propagate, and flush exports nothing. `delays` (test-only: phase name → ns) makes the
    phases named slower: DelayedPhaseRecord, and `record` moves their end.
    """

    def __init__(
        self,
        provider: TracerProvider | None,
        scope: str = "spanbench",
        base_attributes: Mapping[str, AttrValue] | None = None,
        delays: Mapping[str, int] | None = None,
    ) -> None:
        self._delays = dict(delays or {})
        self._tracer = _sdk_tracer(provider, scope)
        self._root_flags = _constant_root_flags(self._tracer)
        self._scope = InstrumentationScope(scope, "")
        self._limits = SpanLimits()
        self._base_attributes = dict(base_attributes or {})
        self._finished: deque[PhaseRecord] = deque()
        self._anchor_mono_ns, self._anchor_wall_ns = _clock_anchor()
        self.spans_emitted = 0
        """Spans handed to the span processors so far (the sum of `flush`'s answers)."""

    @property
    def exporting(self) -> bool:
        """Whether sampled phases become exported spans."""
        return self._tracer is not None

    def phase(
        self,
        name: str,
        parent: Parent = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, AttrValue] | None = None,
    ) -> PhaseRecord:
        """A phase to time with `with`; a workload exception is recorded and re-raised."""
        if self._delays and name in self._delays:
            return DelayedPhaseRecord(self, name, parent, kind, attributes, self._delays[name])
        return PhaseRecord(self, name, parent, kind, attributes)

    def record(
        self,
        name: str,
        start_mono_ns: int,
        end_mono_ns: int,
        parent: Parent = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, AttrValue] | None = None,
    ) -> PhaseRecord:
        """Record a phase measured elsewhere with `time.perf_counter_ns` (same host)."""
        record = PhaseRecord(self, name, parent, kind, attributes)
        record.start_ns = start_mono_ns
        record.end_ns = end_mono_ns + self._delays.get(name, 0)
        if record._export:
            self._finished.append(record)
        return record

    def wall_ns(self, mono_ns: int) -> int:
        """Wall-clock nanoseconds of a `perf_counter_ns` reading."""
        return self._anchor_wall_ns + (mono_ns - self._anchor_mono_ns)

    def flush(self) -> int:
        """Hand every finished sampled phase to the span processors; returns how many.

        Never raises: a phase that cannot become a span is logged and dropped.
        """
        tracer = self._tracer
        if tracer is None:
            self._finished.clear()
            return 0
        processor = tracer.span_processor
        resource = tracer.resource
        baggage_cache: dict[int, dict[str, AttrValue]] = {}
        count = 0
        while self._finished:
            try:
                record = self._finished.popleft()
            except IndexError:
                break
            try:
                processor.on_end(self._to_span(record, resource, baggage_cache))
                count += 1
            except Exception:
                _logger.exception("could not turn phase %r into a span", record.name)
        self.spans_emitted += count
        return count

    def _to_span(
        self,
        record: PhaseRecord,
        resource: Resource,
        baggage_cache: dict[int, dict[str, AttrValue]],
    ) -> ReadableSpan:
        key = id(record._base_context)
        from_baggage = baggage_cache.get(key)
        if from_baggage is None:
            from_baggage = bench_attributes_from_baggage(record._base_context)
            baggage_cache[key] = from_baggage
        merged = {**self._base_attributes, **from_baggage, Attr.PHASE: record.name}
        merged.update(record.attributes)
        limits = self._limits
        attributes = BoundedAttributes(
            limits.max_span_attributes,
            merged,
            immutable=True,
            max_value_len=limits.max_span_attribute_length,
        )
        end_time = self.wall_ns(record.end_ns)
        events: tuple[Event, ...] = ()
        if record.error is not None:
            events = (Event("exception", record.error, timestamp=end_time),)
        return ReadableSpan(
            name=record.name,
            context=record.span_context,
            parent=record.parent_span_context,
            resource=resource,
            attributes=attributes,
            events=events,
            kind=record.kind,
            status=_UNSET if record.status is None else record.status,
            start_time=self.wall_ns(record.start_ns),
            end_time=end_time,
            instrumentation_scope=self._scope,
        )

    def _sample_root(self, record: PhaseRecord) -> tuple[int, TraceState | None]:
        """Trace flags and state of a new root phase, from the provider's sampler."""
        if self._root_flags is not None:
            return self._root_flags, None
        tracer = self._tracer
        if tracer is None:  # unreachable: without a tracer the root flags are constant
            return _ROOT_FLAGS, None
        try:
            result = tracer.sampler.should_sample(
                _EMPTY_CONTEXT, record.trace_id, record.name, record.kind, record.attributes
            )
        except Exception:
            _logger.exception("sampler failed; phase %r is sampled", record.name)
            return _ROOT_FLAGS, None
        flags = _ROOT_FLAGS if result.decision.is_sampled() else _UNSAMPLED_ROOT_FLAGS
        return flags, result.trace_state


def _constant_root_flags(tracer: SdkTracer | None) -> int | None:
    """Root flags when the sampler's root decision is constant, so phases need not ask it.

    Asking costs ~2 µs per root phase; the default sampler always says yes.
    """
    if tracer is None:
        return _ROOT_FLAGS
    description = tracer.sampler.get_description()
    if description == "AlwaysOnSampler" or description.startswith(
        "ParentBased{root:AlwaysOnSampler,"
    ):
        return _ROOT_FLAGS
    if description == "AlwaysOffSampler" or description.startswith(
        "ParentBased{root:AlwaysOffSampler,"
    ):
        return _UNSAMPLED_ROOT_FLAGS
    return None


def _sdk_tracer(provider: TracerProvider | None, scope: str) -> SdkTracer | None:
    """The SDK tracer whose public `span_processor`, `resource` and `sampler` we use."""
    if provider is None:
        return None
    tracer = provider.get_tracer(scope)
    if isinstance(tracer, SdkTracer):
        return tracer
    _logger.info("tracer provider gives %s: phases are not exported", type(tracer).__name__)
    return None


def _clock_anchor() -> tuple[int, int]:
    """A (monotonic, wall) pair read as close together as possible."""
    before = _perf_counter_ns()
    wall = time.time_ns()
    after = _perf_counter_ns()
    return (before + after) // 2, wall
