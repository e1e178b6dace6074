"""Derived spans: the state → phase mapping on crafted transition rows (both systems), and a
derived run whose spans join the workflow's trace and whose breakdown sums to its wall time."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from extract.analyse.breakdown import derived_e2e_analysis, e2e_analysis, has_derived
from extract.analyse.duckdb_runner import open_runs
from extract.derive.phases import DerivedSpan, derive_task
from extract.derive.record import parse
from extract.derive.run import derive
from extract.store.runstore import RunStore
from spanbench.vocabulary import Attr, Phase, Source
from tests.e2e_traces import table_rows
from tests.fake_runs import write_request

MS = 1_000_000
T = 1_700_000_000_000_000_000  # ns


def _task(transitions: list[tuple[str, int]], steps: dict[str, list[tuple[str, int]]],
          created: int = 0, system: str = "spanbench") -> dict:
    return {"system": system, "stamp": "clock_timestamp", "tasks": [{
        "task_uuid": "t-1", "correlation_id": "c-1", "created_ns": T + created,
        "transitions": [[state, T + at, key] for key, (state, at) in enumerate(transitions, 1)],
        "steps": [{"step_uuid": name, "name": name,
                   "transitions": [[state, T + at, key]
                                   for key, (state, at) in enumerate(rows, 1)]}
                  for name, rows in steps.items()]}]}


def _spans(document: dict) -> dict[tuple[str, str | None], DerivedSpan]:
    [task] = parse(document).tasks
    spans = [span for span in derive_task(task) if span.phase != Phase.ENQUEUE_TOTAL]
    keyed = {(span.phase, span.step_uuid): span for span in spans}
    assert len(keyed) == len(spans), "one span per phase and step"
    return keyed


def _bounds(span: DerivedSpan) -> tuple[int, int]:
    return span.start_ns - T, span.end_ns - T


# spanbench's stack: the task's first four states in one statement, the first round in the
# creation transaction, later rounds inside the result's transaction, clock_timestamp().
STACK_LINEAR_2 = _task(
    [("pending", 1 * MS), ("initializing", 1 * MS + 1), ("enqueuing_steps", 1 * MS + 2),
     ("steps_in_process", 1 * MS + 3), ("complete", 40 * MS)],
    {"a": [("pending", 2 * MS), ("enqueued", 3 * MS), ("in_progress", 5 * MS),
           ("enqueued_for_orchestration", 9 * MS), ("complete", 12 * MS)],
     "b": [("pending", 2 * MS), ("enqueued", 13 * MS), ("in_progress", 15 * MS),
           ("enqueued_for_orchestration", 30 * MS), ("complete", 38 * MS)]})


def test_the_stack_s_record_gives_every_phase_between_the_instants_that_bound_it() -> None:
    spans = _spans(STACK_LINEAR_2)
    assert _bounds(spans[Phase.TASK_INITIALIZE, None]) == (0, 1 * MS + 2)
    assert _bounds(spans[Phase.PUBLISH, "a"]) == (1 * MS + 2, 3 * MS)
    assert _bounds(spans[Phase.CLAIM, "a"]) == (3 * MS, 5 * MS)
    assert _bounds(spans[Phase.EXECUTE, "a"]) == (5 * MS, 9 * MS)
    assert _bounds(spans[Phase.SUBMIT, "a"]) == (9 * MS, 12 * MS)
    # a's result enqueued b in its own transaction: the next round starts at a's → complete
    assert _bounds(spans[Phase.RESULT_PROCESS, "a"]) == (12 * MS, 13 * MS)
    assert _bounds(spans[Phase.PUBLISH, "b"]) == (12 * MS, 13 * MS)
    assert _bounds(spans[Phase.RESULT_PROCESS, "b"]) == (38 * MS, 38 * MS)  # finalize's
    assert _bounds(spans[Phase.TASK_FINALIZE, None]) == (38 * MS, 40 * MS)
    assert spans[Phase.CLAIM, "b"].bounds == "step:enqueued..step:in_progress"
    assert spans[Phase.TASK_FINALIZE, None].bounds == "step:complete..task:complete"
    rounds = sorted(_bounds(s) for s in derive_task(parse(STACK_LINEAR_2).tasks[0])
                    if s.phase == Phase.ENQUEUE_TOTAL)
    assert rounds == [(1 * MS + 2, 3 * MS), (12 * MS, 13 * MS)]
    assert spans[Phase.PUBLISH, "b"].parent_key == "round:1"


# tasker-core: each state its own transaction (NOW()), rounds as task transitions.
TASKER_CORE_LINEAR_2 = _task(
    [("pending", 1 * MS), ("initializing", 2 * MS), ("enqueuing_steps", 4 * MS),
     ("steps_in_process", 6 * MS), ("evaluating_results", 20 * MS),
     ("enqueuing_steps", 21 * MS), ("steps_in_process", 24 * MS),
     ("evaluating_results", 50 * MS), ("complete", 52 * MS)],
    {"a": [("pending", 3 * MS), ("enqueued", 5 * MS), ("in_progress", 8 * MS),
           ("enqueued_for_orchestration", 15 * MS), ("complete", 19 * MS)],
     "b": [("pending", 3 * MS), ("enqueued", 22 * MS), ("in_progress", 26 * MS),
           ("enqueued_for_orchestration", 45 * MS), ("complete", 49 * MS)]},
    system="tasker-core")


def test_tasker_core_s_record_has_its_rounds_as_task_transitions() -> None:
    spans = _spans(TASKER_CORE_LINEAR_2)
    assert _bounds(spans[Phase.TASK_INITIALIZE, None]) == (0, 4 * MS)
    assert _bounds(spans[Phase.PUBLISH, "a"]) == (4 * MS, 5 * MS)
    # b belongs to the round the task's second → enqueuing_steps opened, not to a's result
    assert _bounds(spans[Phase.PUBLISH, "b"]) == (21 * MS, 22 * MS)
    assert _bounds(spans[Phase.RESULT_PROCESS, "a"]) == (19 * MS, 20 * MS)
    assert _bounds(spans[Phase.CLAIM, "b"]) == (22 * MS, 26 * MS)
    assert _bounds(spans[Phase.EXECUTE, "b"]) == (26 * MS, 45 * MS)
    assert _bounds(spans[Phase.SUBMIT, "b"]) == (45 * MS, 49 * MS)
    assert _bounds(spans[Phase.TASK_FINALIZE, None]) == (50 * MS, 52 * MS)
    rounds = sorted(_bounds(s) for s in derive_task(parse(TASKER_CORE_LINEAR_2).tasks[0])
                    if s.phase == Phase.ENQUEUE_TOTAL)
    assert rounds == [(4 * MS, 6 * MS), (21 * MS, 24 * MS)]


def test_a_branch_finishing_first_processes_its_result_without_covering_the_wait() -> None:
    document = _task(
        [("pending", 0), ("enqueuing_steps", 1), ("steps_in_process", 2), ("complete", 90 * MS)],
        {"left": [("pending", 0), ("enqueued", 1 * MS), ("in_progress", 2 * MS),
                  ("enqueued_for_orchestration", 3 * MS), ("complete", 4 * MS)],
         "right": [("pending", 0), ("enqueued", 1 * MS + 5), ("in_progress", 2 * MS),
                   ("enqueued_for_orchestration", 80 * MS), ("complete", 85 * MS)]})
    spans = _spans(document)
    assert _bounds(spans[Phase.RESULT_PROCESS, "left"]) == (4 * MS, 4 * MS)
    assert _bounds(spans[Phase.RESULT_PROCESS, "right"]) == (85 * MS, 85 * MS)
    assert _bounds(spans[Phase.TASK_FINALIZE, None]) == (85 * MS, 90 * MS)
    assert _bounds(spans[Phase.PUBLISH, "right"]) == (1 * MS, 1 * MS + 5)


def test_a_retried_step_is_derived_from_its_last_attempt_and_an_unclaimed_one_stops() -> None:
    document = _task(
        [("pending", 0), ("enqueuing_steps", 1)],
        {"again": [("pending", 0), ("enqueued", 1 * MS), ("in_progress", 2 * MS),
                   ("enqueued_for_orchestration", 3 * MS), ("error", 4 * MS),
                   ("waiting_for_retry", 4 * MS), ("enqueued", 10 * MS),
                   ("in_progress", 11 * MS), ("enqueued_for_orchestration", 12 * MS),
                   ("complete", 13 * MS)],
         "waiting": [("pending", 0), ("enqueued", 1 * MS + 1)]})
    spans = _spans(document)
    assert _bounds(spans[Phase.CLAIM, "again"]) == (10 * MS, 11 * MS)
    assert _bounds(spans[Phase.SUBMIT, "again"]) == (12 * MS, 13 * MS)
    assert (Phase.CLAIM, "waiting") not in spans
    assert (Phase.PUBLISH, "waiting") in spans
    assert (Phase.TASK_FINALIZE, None) not in spans


STACK_LINEAR_3 = _task(
    [("pending", 1 * MS), ("initializing", 1 * MS + 1), ("enqueuing_steps", 1 * MS + 2),
     ("steps_in_process", 1 * MS + 3), ("complete", 40 * MS)],
    {"a": [("pending", 2 * MS), ("enqueued", 3 * MS), ("in_progress", 5 * MS),
           ("enqueued_for_orchestration", 9 * MS), ("complete", 12 * MS)],
     "b": [("pending", 2 * MS), ("enqueued", 13 * MS), ("in_progress", 15 * MS),
           ("enqueued_for_orchestration", 20 * MS), ("complete", 22 * MS)],
     "c": [("pending", 2 * MS), ("enqueued", 23 * MS), ("in_progress", 25 * MS),
           ("enqueued_for_orchestration", 30 * MS), ("complete", 38 * MS)]})
RUN = "20261201T120000Z-abcdef"
TRACE = "0af7651916cd43dd8448eb211c80319c"
ROOT, POST = "b7ad6b7169203331", "00f067aa0ba902b7"


def _workflow_request() -> ExportTraceServiceRequest:
    """A driver's e2e workflow (root + api.create_task) around STACK_LINEAR_3's task."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for span_id, parent, name, start, end in ((ROOT, "", Phase.E2E_WORKFLOW, -1 * MS, 41 * MS),
                                              (POST, ROOT, Phase.API_CREATE_TASK, -MS // 2,
                                               2 * MS)):
        span = scope.spans.add(trace_id=bytes.fromhex(TRACE), span_id=bytes.fromhex(span_id),
                               parent_span_id=bytes.fromhex(parent), name=name,
                               start_time_unix_nano=T + start, end_time_unix_nano=T + end)
        for key, text in ((Attr.RUN_ID, RUN), (Attr.SUITE, "e2e_latency"),
                          (Attr.SCENARIO, "linear_3"), (Attr.PHASE, name),
                          (Attr.TASK_UUID, "t-1"), (Attr.CORRELATION_ID, "c-1"),
                          ("bench.stack_traced", "true")):
            span.attributes.add(key=key).value.string_value = text
        span.attributes.add(key=Attr.ITERATION).value.int_value = 3
        span.attributes.add(key=Attr.WARMUP).value.bool_value = False
    return request


def test_derived_spans_join_the_workflow_s_trace_and_their_breakdown_sums_to_it(
        tmp_path: Path) -> None:
    write_request(tmp_path, _workflow_request())
    store = RunStore.at(tmp_path)
    outcome = derive(store, RUN, parse(STACK_LINEAR_3))
    assert (outcome.workflows, outcome.derived) == (1, 1)
    assert outcome.spans == 20  # init, finalize, 3 rounds, 3 steps × 5 phases

    con = open_runs(store, [RUN])
    rows = con.execute(
        "SELECT SpanName, ParentSpanId, Iteration, Warmup, SpanAttributes FROM spans "
        "WHERE SpanAttributes['bench.source'] = 'derived'").fetchall()
    assert len(rows) == 20 and has_derived(con, RUN)
    ids = {row[0] for row in con.execute("SELECT SpanId FROM spans").fetchall()}
    for _name, parent, iteration, warmup, attributes in rows:
        assert parent in ids and iteration == 3 and warmup is False
        assert attributes[Attr.SOURCE] == Source.DERIVED
        assert (attributes[Attr.TASK_UUID], attributes[Attr.CORRELATION_ID]) == ("t-1", "c-1")
        assert attributes[Attr.RUN_ID] == RUN and attributes[Attr.SCENARIO] == "linear_3"
    parents = {(name, parent) for name, parent, *_ in rows}
    assert (Phase.TASK_INITIALIZE, POST) in parents  # inside the POST, as traced
    assert (Phase.TASK_FINALIZE, ROOT) in parents

    derived = derived_e2e_analysis(con, RUN, with_workflows=True)
    assert derived.workflows is not None
    workflows = table_rows(derived.workflows)
    assert sum(ns for *_, ns in workflows) == 42 * MS  # the root's Duration, exactly
    by_phase = {phase: ns for _, _, phase, ns in workflows}
    assert by_phase[Phase.EXECUTE] == 4 * MS + 5 * MS + 5 * MS
    assert by_phase[Phase.SUBMIT] == 3 * MS + 2 * MS + 8 * MS
    # the traced walk never sees derived spans: this workflow has no traced stack spans
    assert e2e_analysis(con, RUN).breakdown == []
    again = derive(store, RUN, parse(STACK_LINEAR_3))  # deriving again replaces the part
    assert again.spans == 20
    assert open_runs(store, [RUN]).execute(
        "SELECT count(*) FROM spans WHERE SpanAttributes['bench.source'] = 'derived'"
    ).fetchone() == (20,)


def test_submit_ends_when_the_result_was_sent_if_its_queue_kept_the_message() -> None:
    document = _task(
        [("pending", 0), ("enqueuing_steps", 1), ("steps_in_process", 2)],
        {"sent_after": [("pending", 0), ("enqueued", 1 * MS), ("in_progress", 2 * MS),
                        ("enqueued_for_orchestration", 3 * MS), ("complete", 20 * MS)],
         "sent_within": [("pending", 0), ("enqueued", 1 * MS), ("in_progress", 2 * MS),
                         ("enqueued_for_orchestration", 4 * MS), ("complete", 21 * MS)],
         "no_orchestration": [("pending", 0), ("enqueued", 1 * MS), ("in_progress", 2 * MS),
                              ("enqueued_for_orchestration", 5 * MS)]})
    sends = {"sent_after": [T + 1 * MS, T + 10 * MS],  # an earlier attempt's, then this one's
             "sent_within": [T + 4 * MS - 50],  # sent in O's transaction: its start is before O
             "no_orchestration": [T + 6 * MS]}
    for step in document["tasks"][0]["steps"]:
        step["results_sent_ns"] = sends[step["step_uuid"]]
    spans = _spans(document)
    assert _bounds(spans[Phase.SUBMIT, "sent_after"]) == (3 * MS, 10 * MS)
    assert spans[Phase.SUBMIT, "sent_after"].bounds == (
        "step:enqueued_for_orchestration..queue:result_sent")
    assert _bounds(spans[Phase.SUBMIT, "sent_within"]) == (4 * MS, 21 * MS)
    assert _bounds(spans[Phase.SUBMIT, "no_orchestration"]) == (5 * MS, 6 * MS)
    assert (Phase.RESULT_PROCESS, "no_orchestration") not in spans
