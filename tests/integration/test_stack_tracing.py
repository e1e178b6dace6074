"""One workflow is one trace: the driver's context reaches every phase of the stack."""

from __future__ import annotations

import random
import time
from pathlib import Path

import psycopg
import pytest
from opentelemetry.trace import SpanContext, TraceFlags

from instrument.propagation import context_for, context_with_baggage, inject_http_headers
from spanbench.vocabulary import STACK_PHASES, Attr
from tests.otlp_capture import OtlpCapture
from tests.stack_harness import running_stack

pytestmark = pytest.mark.stack

BAGGAGE = {Attr.RUN_ID: "run-trace-test", Attr.SUITE: "e2e_latency",
           Attr.SCENARIO: "linear_3", Attr.ITERATION: 4, Attr.WARMUP: False}


def _traceparent_headers(sampled: bool) -> tuple[dict[str, str], SpanContext]:
    root = SpanContext(trace_id=random.getrandbits(128), span_id=random.getrandbits(64),
                       is_remote=False,
                       trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled else 0))
    return inject_http_headers(context_for(root, context_with_baggage(BAGGAGE))), root


def _otel_env(capture: OtlpCapture) -> dict[str, str]:
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": capture.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50"}


def test_a_workflow_is_one_trace_holding_every_stack_phase(
        fresh_db: str, tmp_path: Path, otlp_capture: OtlpCapture) -> None:
    headers, root = _traceparent_headers(sampled=True)
    with running_stack(fresh_db, tmp_path, workers=1, env=_otel_env(otlp_capture)) as stack:
        response = stack.create("linear_3", "linear_workflow", headers=headers)
        assert response.status_code == 201, response.text
        task_uuid = response.json()["task_uuid"]
        assert stack.wait_final(task_uuid)["execution_status"] == "all_complete"

        spans = []
        deadline = time.monotonic() + 10
        while not any(s.name == "task.finalize" for s in spans) or len(spans) < 22:
            assert time.monotonic() < deadline, sorted(s.name for s in spans)
            spans += otlp_capture.received()
            time.sleep(0.05)

    assert {s.trace_id for s in spans} == {f"{root.trace_id:032x}"}
    names = [s.name for s in spans]
    assert set(STACK_PHASES) <= set(names)
    for phase, count in {"claim": 3, "execute": 3, "submit": 3, "result.process": 3,
                         "task.finalize": 1, "task.initialize": 1}.items():
        assert names.count(phase) == count, (phase, names)
    known = {s.span_id for s in spans} | {f"{root.span_id:016x}"}
    assert all(s.parent_span_id in known for s in spans)
    for span in spans:
        assert span.attributes[Attr.RUN_ID] == "run-trace-test"
        assert span.attributes[Attr.ITERATION] == 4
        assert span.attributes[Attr.WARMUP] is False
        assert span.attributes[Attr.PHASE] == span.name
    for span in spans:
        if span.name in ("claim", "execute", "submit", "result.process", "task.finalize"):
            assert span.attributes[Attr.TASK_UUID] == task_uuid
    services = {s.resource["service.name"] for s in spans}
    assert services == {"spanbench-orchestration", "spanbench-worker"}
    with psycopg.connect(fresh_db) as conn:
        recorded = conn.execute(
            "SELECT (SELECT count(*) FROM tasker.task_transitions WHERE task_uuid = %(t)s)"
            " + (SELECT count(*) FROM tasker.workflow_step_transitions st"
            "    JOIN tasker.workflow_steps ws USING (workflow_step_uuid)"
            "    WHERE ws.task_uuid = %(t)s)", {"t": task_uuid}).fetchone()
    stamped = sum(int(s.attributes.get(Attr.TRANSITIONS, 0)) for s in spans)
    assert recorded is not None and stamped == recorded[0] == 5 + 3 * 5


def test_an_unsampled_traceparent_switches_the_stack_spans_off(
        fresh_db: str, tmp_path: Path, otlp_capture: OtlpCapture) -> None:
    headers, _ = _traceparent_headers(sampled=False)
    with running_stack(fresh_db, tmp_path, workers=1, env=_otel_env(otlp_capture)) as stack:
        response = stack.create("linear_3", "linear_workflow", headers=headers)
        assert response.status_code == 201, response.text
        assert stack.wait_final(response.json()["task_uuid"])["execution_status"] == (
            "all_complete")
        # A sampled workflow afterwards proves the exporters work and flushed in between.
        sampled_headers, root = _traceparent_headers(sampled=True)
        response = stack.create("linear_3", "linear_workflow", headers=sampled_headers)
        stack.wait_final(response.json()["task_uuid"])
        spans = otlp_capture.get_spans(22, timeout=10)
    assert {s.trace_id for s in spans} == {f"{root.trace_id:032x}"}
