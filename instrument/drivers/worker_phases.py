"""Worker phases by handler, from traces: what the stack's own workers spent on claim,
execute and submit (during e2e runs), to set beside the worker_execution driver's numbers.

Spans are anything with `name`, `trace_id`, `start_ns`, `end_ns` and `attributes`
(tests' CapturedSpan), or mappings with those keys, e.g. rows of the `spans` view:

    SELECT SpanName AS name, TraceId AS trace_id, epoch_ns(Timestamp) AS start_ns,
           epoch_ns(Timestamp) + Duration AS end_ns, SpanAttributes AS attributes
    FROM spans WHERE SpanName IN ('claim', 'execute', 'submit')

One worker cycle is the spans sharing trace, step_uuid and messaging.message.id. A claim
carries no handler (the worker learns it by claiming), so it takes its cycle's; a claim
whose cycle has no execute (a duplicate message) counts under UNCLAIMED. `worker.total`
is derived, claim start to submit end, for cycles that have all three phases.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from spanbench.vocabulary import Attr, Phase

CYCLE_PHASES = (Phase.CLAIM, Phase.EXECUTE, Phase.SUBMIT)
UNCLAIMED = "(unclaimed)"
MIN_SAMPLES_P95 = 20


class SpanLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def trace_id(self) -> str: ...

    @property
    def start_ns(self) -> int: ...

    @property
    def end_ns(self) -> int: ...

    @property
    def attributes(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class PhaseSummary:
    """One handler's durations of one phase, in nanoseconds."""

    handler: str
    phase: str
    n: int
    mean_ns: float
    p50_ns: float
    p95_ns: float | None
    """None when n < MIN_SAMPLES_P95."""


@dataclass(frozen=True)
class _Span:
    name: str
    trace_id: str
    start_ns: int
    end_ns: int
    attributes: Mapping[str, Any]


def _normalised(span: SpanLike | Mapping[str, Any]) -> _Span:
    if isinstance(span, Mapping):
        return _Span(str(span["name"]), str(span["trace_id"]), int(span["start_ns"]),
                     int(span["end_ns"]), span["attributes"])
    return _Span(span.name, span.trace_id, span.start_ns, span.end_ns, span.attributes)


def quantile(ordered: list[int], q: float) -> float:
    """Linear interpolation between closest ranks (DuckDB's quantile_cont)."""
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _summary(handler: str, phase: str, durations: list[int]) -> PhaseSummary:
    ordered = sorted(durations)
    return PhaseSummary(handler, phase, len(ordered), sum(ordered) / len(ordered),
                        quantile(ordered, 0.5),
                        quantile(ordered, 0.95) if len(ordered) >= MIN_SAMPLES_P95 else None)


def summarize(spans: Iterable[SpanLike | Mapping[str, Any]], suite: str | None = None,
              include_warmup: bool = False) -> list[PhaseSummary]:
    """Claim, execute, submit and worker.total per handler, from the spans of `suite`
    (None: every suite); warm-up spans are left out unless `include_warmup`."""
    cycles: dict[tuple[str, str, str], dict[str, _Span]] = defaultdict(dict)
    for raw in spans:
        span = _normalised(raw)
        attributes = span.attributes
        if span.name not in CYCLE_PHASES:
            continue
        if suite is not None and attributes.get(Attr.SUITE) != suite:
            continue
        if attributes.get(Attr.WARMUP) is True and not include_warmup:
            continue
        key = (span.trace_id, str(attributes.get(Attr.STEP_UUID)),
               str(attributes.get(Attr.MESSAGING_MESSAGE_ID)))
        cycles[key][span.name] = span
    durations: dict[tuple[str, str], list[int]] = defaultdict(list)
    for cycle in cycles.values():
        known = next((s.attributes[Attr.HANDLER] for s in cycle.values()
                      if Attr.HANDLER in s.attributes), None)
        handler = UNCLAIMED if known is None else str(known)
        for phase, span in cycle.items():
            durations[(handler, phase)].append(span.end_ns - span.start_ns)
        if all(phase in cycle for phase in CYCLE_PHASES):
            total = cycle[Phase.SUBMIT].end_ns - cycle[Phase.CLAIM].start_ns
            durations[(handler, Phase.WORKER_TOTAL)].append(total)
    order = {phase: i for i, phase in enumerate((*CYCLE_PHASES, Phase.WORKER_TOTAL))}
    return [_summary(handler, phase, values) for (handler, phase), values
            in sorted(durations.items(), key=lambda item: (item[0][0], order[item[0][1]]))]
