"""worker_execution's derived phases: spans derived under its worker.task spans, their figures
in the console block, summary.md and the CI JSON (labelled derived, with their resolution)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from extract.analyse.derived_worker import RESOLUTION, derived_worker
from extract.analyse.duckdb_runner import open_runs
from extract.derive.record import parse
from extract.derive.run import derive
from extract.reports.ci_json import suite_document
from extract.reports.console import suite_block
from extract.reports.gather import gather
from extract.reports.logs import summary_markdown
from extract.store.runstore import RunStore
from spanbench.runner import job
from spanbench.vocabulary import Attr, Phase
from tests.fake_runs import write_request
from tests.unit.test_reports_ci import SCHEMA, errors

MS = 1_000_000
T = 1_700_000_000_000_000_000
RUN = "20261201T120000Z-abcdef"
TASKS = 4
"""One warm-up and three samples."""
CLAIM_MS, EXECUTE_MS, SUBMIT_MS = 2, 5, 1


def _task_start(index: int) -> int:
    return T + index * 100 * MS


def _record() -> dict:
    """Each task's one step as the stack's workers leave it: claimed 2 ms after it was enqueued
    (plus the task's index in µs), executed in 5 ms, its result applied 1 ms later."""
    tasks = []
    for index in range(TASKS):
        at = _task_start(index)
        enqueued = at + 3 * MS + index * 1000
        claimed = enqueued + CLAIM_MS * MS
        submitted = claimed + EXECUTE_MS * MS
        tasks.append({
            "task_uuid": f"t-{index}", "correlation_id": f"c-{index}", "created_ns": at + MS,
            "transitions": [[state, at + MS + key, key] for key, state in enumerate(
                ("pending", "initializing", "enqueuing_steps", "steps_in_process"), 1)]
            + [["complete", submitted + 3 * MS, 5]],
            "steps": [{"step_uuid": f"s-{index}", "name": "single_noop", "transitions": [
                ["pending", at + 2 * MS, 1], ["enqueued", enqueued, 2],
                ["in_progress", claimed, 3], ["enqueued_for_orchestration", submitted, 4],
                ["complete", submitted + SUBMIT_MS * MS, 5]]}]})
    return {"system": "spanbench", "stamp": "clock_timestamp", "tasks": tasks}


def _worker_tasks() -> ExportTraceServiceRequest:
    """The driver's worker.task roots (with their api.create_task), one per task."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for index in range(TASKS):
        trace = f"{index + 1:032x}"
        root, post = f"{index + 1:016x}", f"{index + 101:016x}"
        at = _task_start(index)
        for span_id, parent, name, start, end in ((root, "", Phase.WORKER_TASK, 0, 30 * MS),
                                                  (post, root, Phase.API_CREATE_TASK, MS // 2,
                                                   2 * MS)):
            span = scope.spans.add(trace_id=bytes.fromhex(trace), span_id=bytes.fromhex(span_id),
                                   parent_span_id=bytes.fromhex(parent), name=name,
                                   start_time_unix_nano=at + start, end_time_unix_nano=at + end)
            for key, text in ((Attr.RUN_ID, RUN), (Attr.SUITE, "worker_execution"),
                              (Attr.SCENARIO, "noop"), (Attr.PHASE, name),
                              (Attr.TASK_UUID, f"t-{index}"),
                              (Attr.CORRELATION_ID, f"c-{index}")):
                span.attributes.add(key=key).value.string_value = text
            span.attributes.add(key=Attr.ITERATION).value.int_value = index
            span.attributes.add(key=Attr.WARMUP).value.bool_value = index == 0
    return request


def _derived_run(tmp_path: Path) -> RunStore:
    write_request(tmp_path, _worker_tasks())
    store = RunStore.at(tmp_path)
    outcome = derive(store, RUN, parse(_record()))
    assert (outcome.workflows, outcome.derived) == (TASKS, TASKS)
    return store


def test_worker_tasks_get_derived_phases_nested_in_their_span(tmp_path: Path) -> None:
    store = _derived_run(tmp_path)
    con = open_runs(store, [RUN])
    rows = con.execute(
        "SELECT d.SpanName, d.Suite, d.Scenario, r.SpanName, d.Timestamp >= r.Timestamp "
        "FROM spans d JOIN spans r ON r.SpanId = d.ParentSpanId AND r.TraceId = d.TraceId "
        "WHERE d.SpanAttributes['bench.source'] = 'derived' "
        "AND d.SpanName IN ('claim', 'execute', 'submit')").fetchall()
    assert len(rows) == 3 * TASKS
    assert {row[:4] for row in rows} == {(phase, "worker_execution", "noop", Phase.WORKER_TASK)
                                         for phase in ("claim", "execute", "submit")}
    assert all(inside for *_, inside in rows)


def test_the_derived_figures_leave_out_the_warm_up(tmp_path: Path) -> None:
    rows = derived_worker(open_runs(_derived_run(tmp_path), [RUN]), RUN)
    assert [(row.scenario, row.phase, row.n) for row in rows] == [
        ("noop", "claim", 3), ("noop", "execute", 3), ("noop", "submit", 3)]
    by_phase = {row.phase: row for row in rows}
    assert by_phase["claim"].p50_ns == CLAIM_MS * MS
    assert by_phase["execute"].p50_ns == EXECUTE_MS * MS
    assert by_phase["submit"].p50_ns == SUBMIT_MS * MS
    assert all(row.p95_ns is None and row.system == "spanbench" for row in rows)


def test_the_reports_show_them_labelled_derived_with_their_resolution(tmp_path: Path) -> None:
    report = gather(_derived_run(tmp_path), RUN)
    block = suite_block(report, "worker_execution")
    assert RESOLUTION["spanbench"] in block
    assert "noop/claim (derived): median 2.00 ms, p95 n/a, n=3" in block, block
    assert "noop/execute (derived): median 5.00 ms" in block
    summary = summary_markdown(report)
    assert "### Worker Execution from Derived Spans" in summary
    assert "| noop | submit (derived) | 1.00 ms | n/a | 3 |" in summary, summary
    document = suite_document(report, "worker_execution")
    derived = [row for row in document["measurements"] if row.get("source") == "derived"]
    assert [row["name"] for row in derived] == [
        "noop/claim (derived)", "noop/execute (derived)", "noop/submit (derived)"]
    assert [row["p50_ms"] for row in derived] == [CLAIM_MS, EXECUTE_MS, SUBMIT_MS]
    measured = [row for row in document["measurements"] if "source" not in row and row["n"]]
    assert all(row["target_ms"] is not None for row in document["results"])
    assert {row["phase"] for row in measured} == {Phase.WORKER_TASK, Phase.API_CREATE_TASK}
    assert errors(document, SCHEMA["$defs"]["suite"]) == []


def test_the_worker_comparison_keeps_to_the_cycle_s_phases(tmp_path: Path) -> None:
    store = _derived_run(tmp_path)
    stats = [SimpleNamespace(suite="worker_execution", scenario="noop", phase=phase, n=3,
                             p50_ns=float(MS))
             for phase in (Phase.WORKER_TASK, Phase.API_CREATE_TASK, Phase.CLAIM,
                           Phase.WORKER_TOTAL)]
    rows = job.worker_comparison(store, RUN, stats)
    assert [(row["handler"], row["phase"]) for row in rows] == [
        ("noop", Phase.CLAIM), ("noop", Phase.WORKER_TOTAL)]
