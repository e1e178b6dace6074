"""The state → phase mapping: which recorded instants bound which phase of a task.

Both systems record the same state names (docs/derived-spans.md has the table). Per step, the
last attempt's instants: E (→ enqueued), I (→ in_progress), O (→ enqueued_for_orchestration or
its error twin), C (→ complete or error). Per task: its creation, → enqueuing_steps (rounds),
→ steps_in_process, the final state.

- task.initialize: [creation, first → enqueuing_steps (else first → steps_in_process)]
- enqueue.total, one per round: a round starts at a task's → enqueuing_steps or at a step's
  result (C: our stack enqueues the next steps in the result's own transaction); every E
  belongs to the latest round start at or before it; the round ends at its last E or at a
  → steps_in_process inside it, whichever is later.
- publish (child of its round): [the round's start or the round's previous E, E]
- claim [E, I] (the queue wait and the claim: the record has no read time), execute [I, O],
  submit [O, R]: R is when the result message was sent (the results queue's record, the first
  send at or after O) when the queue still holds it or archived it, else C (then submit also
  holds the result's queue wait and its pick-up). tasker-core archives and sends after O;
  spanbench's stack sends inside O's transaction and deletes what it processed.
- result.process: [C, the first consequence the record shows: a task transition after C and
  before the next step's result (the final state aside: that is task.finalize's), or the first
  E of the round C started]; C itself when there is none.
- task.finalize: [the latest instant before the final transition, the final transition].

A phase whose end instant is missing (a step never claimed) is not emitted.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from extract.derive.record import StepRecord, TaskRecord, Transition
from spanbench.vocabulary import Phase

FINAL_TASK_STATES = frozenset(
    {"complete", "error", "cancelled", "resolved_manually", "blocked_by_failures"})
ROUND_STATE = "enqueuing_steps"
IN_PROCESS_STATE = "steps_in_process"
ENQUEUED = "enqueued"
IN_PROGRESS = "in_progress"
SUBMITTED = frozenset({"enqueued_for_orchestration", "enqueued_as_error_for_orchestration"})
RESULT_APPLIED = frozenset({"complete", "error"})
CREATED = "task:created"


@dataclass(frozen=True)
class DerivedSpan:
    """One phase of one task or step, bounded by two recorded instants (ns)."""

    phase: str
    start_ns: int
    end_ns: int
    key: str
    """Unique within its task: names the span's id."""
    bounds: str
    """`<start record>..<end record>` (bench.derived.from)."""
    step_uuid: str | None = None
    step_name: str | None = None
    parent_key: str | None = None
    """Another derived span of the task it nests in (a publish in its round); None: the
    workflow."""


@dataclass(frozen=True)
class StepInstants:
    """The last attempt's instants of one step (None: not reached)."""

    step: StepRecord
    enqueued: Transition | None
    claimed: Transition | None
    submitted: Transition | None
    applied: Transition | None


def _first_after(transitions: Iterable[Transition], states: frozenset[str],
                 after: Transition | None) -> Transition | None:
    if after is None:
        return None
    return next((t for t in transitions if t.sort_key > after.sort_key and t.to_state in states),
                None)


def step_instants(step: StepRecord) -> StepInstants:
    """E, I, O, C of the step's last attempt (the last → enqueued and what followed it)."""
    enqueued = next((t for t in reversed(step.transitions) if t.to_state == ENQUEUED), None)
    claimed = _first_after(step.transitions, frozenset({IN_PROGRESS}), enqueued)
    submitted = _first_after(step.transitions, SUBMITTED, claimed)
    applied = _first_after(step.transitions, RESULT_APPLIED, submitted)
    return StepInstants(step, enqueued, claimed, submitted, applied)


def _label(kind: str, transition: Transition) -> str:
    return f"{kind}:{transition.to_state}"


@dataclass(frozen=True)
class _Round:
    start_ns: int
    start_label: str
    members: list[StepInstants]


def _rounds(task: TaskRecord, steps: list[StepInstants]) -> list[_Round]:
    starts = sorted(
        [(t.at_ns, _label("task", t)) for t in task.transitions if t.to_state == ROUND_STATE]
        + [(s.applied.at_ns, _label("step", s.applied)) for s in steps if s.applied is not None])
    rounds = [_Round(ns, label, []) for ns, label in starts]
    keys = [ns for ns, _ in starts]
    for instants in sorted((s for s in steps if s.enqueued is not None),
                           key=lambda s: s.enqueued.at_ns if s.enqueued else 0):
        assert instants.enqueued is not None
        index = bisect.bisect_right(keys, instants.enqueued.at_ns) - 1
        if index >= 0:
            rounds[index].members.append(instants)
    return [r for r in rounds if r.members]


def _round_spans(task: TaskRecord, rounds: list[_Round]) -> list[DerivedSpan]:
    spans: list[DerivedSpan] = []
    in_process = [t for t in task.transitions if t.to_state == IN_PROCESS_STATE]
    for number, current in enumerate(rounds):
        following = rounds[number + 1].start_ns if number + 1 < len(rounds) else None
        last = max((m.enqueued for m in current.members if m.enqueued is not None),
                   key=lambda t: t.at_ns)
        end_ns, end_label = last.at_ns, _label("step", last)
        for settled in in_process:
            if (end_ns < settled.at_ns and current.start_ns <= settled.at_ns
                    and (following is None or settled.at_ns < following)):
                end_ns, end_label = settled.at_ns, _label("task", settled)
        round_key = f"round:{number}"
        spans.append(DerivedSpan(Phase.ENQUEUE_TOTAL, current.start_ns, end_ns, round_key,
                                 f"{current.start_label}..{end_label}"))
        previous_ns, previous_label = current.start_ns, current.start_label
        for member in current.members:
            assert member.enqueued is not None
            spans.append(DerivedSpan(
                Phase.PUBLISH, previous_ns, member.enqueued.at_ns,
                f"{Phase.PUBLISH}:{member.step.step_uuid}",
                f"{previous_label}..{_label('step', member.enqueued)}",
                member.step.step_uuid, member.step.name, parent_key=round_key))
            previous_ns, previous_label = member.enqueued.at_ns, _label("step", member.enqueued)
    return spans


RESULT_SENT = "queue:result_sent"


def _submit_span(instants: StepInstants) -> DerivedSpan | None:
    submitted = instants.submitted
    if submitted is None:
        return None
    sent = next((ns for ns in instants.step.results_sent_ns if ns >= submitted.at_ns), None)
    if sent is None:
        return _step_span(Phase.SUBMIT, instants, submitted, instants.applied)
    step = instants.step
    return DerivedSpan(Phase.SUBMIT, submitted.at_ns, sent, f"{Phase.SUBMIT}:{step.step_uuid}",
                       f"{_label('step', submitted)}..{RESULT_SENT}", step.step_uuid,
                       step.name)


def _step_span(phase: str, instants: StepInstants, start: Transition | None,
               end: Transition | None) -> DerivedSpan | None:
    if start is None or end is None:
        return None
    step = instants.step
    return DerivedSpan(phase, start.at_ns, end.at_ns, f"{phase}:{step.step_uuid}",
                       f"{_label('step', start)}..{_label('step', end)}", step.step_uuid,
                       step.name)


def _result_span(task: TaskRecord, instants: StepInstants, rounds: list[_Round],
                 steps: list[StepInstants]) -> DerivedSpan | None:
    applied = instants.applied
    if applied is None:
        return None
    later_results = [s.applied.at_ns for s in steps
                     if s.applied is not None and s.applied.at_ns > applied.at_ns]
    horizon = min(later_results, default=None)
    consequences = [(t.at_ns, _label("task", t)) for t in task.transitions
                    if t.at_ns >= applied.at_ns and t.to_state not in FINAL_TASK_STATES
                    and (horizon is None or t.at_ns <= horizon)]
    for current in rounds:
        if current.start_ns == applied.at_ns and current.members:
            first = current.members[0].enqueued
            assert first is not None
            consequences.append((first.at_ns, _label("step", first)))
    end_ns, end_label = min(consequences, default=(applied.at_ns, _label("step", applied)))
    step = instants.step
    return DerivedSpan(Phase.RESULT_PROCESS, applied.at_ns, end_ns,
                       f"{Phase.RESULT_PROCESS}:{step.step_uuid}",
                       f"{_label('step', applied)}..{end_label}", step.step_uuid, step.name)


def _task_spans(task: TaskRecord, steps: list[StepInstants]) -> list[DerivedSpan]:
    spans: list[DerivedSpan] = []
    first = task.transitions[0] if task.transitions else None
    start_ns = min(task.created_ns, first.at_ns) if first is not None else task.created_ns
    initialized = (next((t for t in task.transitions if t.to_state == ROUND_STATE), None)
                   or next((t for t in task.transitions if t.to_state == IN_PROCESS_STATE), None))
    if initialized is not None:
        spans.append(DerivedSpan(Phase.TASK_INITIALIZE, start_ns, initialized.at_ns,
                                 Phase.TASK_INITIALIZE,
                                 f"{CREATED}..{_label('task', initialized)}"))
    final = next((t for t in reversed(task.transitions) if t.to_state in FINAL_TASK_STATES),
                 None)
    if final is not None:
        before = [(t.at_ns, _label("task", t)) for t in task.transitions
                  if t.sort_key < final.sort_key]
        before += [(t.at_ns, _label("step", t)) for s in steps for t in s.step.transitions
                   if t.at_ns <= final.at_ns]
        start = max(before, default=(start_ns, CREATED))
        spans.append(DerivedSpan(Phase.TASK_FINALIZE, start[0], final.at_ns, Phase.TASK_FINALIZE,
                                 f"{start[1]}..{_label('task', final)}"))
    return spans


def derive_task(task: TaskRecord) -> list[DerivedSpan]:
    """Every phase the task's record bounds, task-level first, then per step."""
    steps = [step_instants(step) for step in task.steps]
    rounds = _rounds(task, steps)
    spans = _task_spans(task, steps) + _round_spans(task, rounds)
    for instants in steps:
        for span in (_step_span(Phase.CLAIM, instants, instants.enqueued, instants.claimed),
                     _step_span(Phase.EXECUTE, instants, instants.claimed, instants.submitted),
                     _submit_span(instants),
                     _result_span(task, instants, rounds, steps)):
            if span is not None:
                spans.append(span)
    return spans
