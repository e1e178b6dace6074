"""tasker-core-shaped spans sent to the sink over OTLP/HTTP, in traces of their own and under
services of their own, land in the run joined to their workflow; the rest is stored and in no
phase of it."""

from __future__ import annotations

from pathlib import Path

import httpx

from extract.analyse.duckdb_runner import open_runs
from extract.store.runstore import UNASSIGNED
from spanbench import phase_map
from spanbench.vocabulary import Attr
from tests.fake_runs import T0, stitch_requests, write_run_json
from tests.sink_harness import SinkProcess

RUN = "20261101T120000Z-5717c4"


def test_tasker_core_spans_sent_to_the_sink_join_their_workflow(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with SinkProcess(runs, grpc=False) as sink:
        for request in stitch_requests(RUN):
            response = httpx.post(sink.traces_url, content=request.SerializeToString(),
                                  headers={"Content-Type": "application/x-protobuf"},
                                  timeout=10)
            assert response.status_code == 200, response.text
        assert sink.stop() == 0, sink.log()
    write_run_json(runs, RUN, {"run_id": RUN, "started_at": T0.isoformat(),
                               "config": {"system": "tasker-core", "suites": ["e2e_latency"],
                                          "quick": False}})

    con = open_runs(runs, [RUN])
    rows = con.execute(
        "SELECT SpanName, ServiceName, TraceId, Phase, Scenario FROM spans WHERE RunId = $run "
        "ORDER BY SpanName", {"run": RUN}).fetchall()
    workflow = f"{1:032x}"
    assert rows == [
        ("api.create_task", "spanbench-driver", workflow, "api.create_task", "linear_4"),
        ("claim", "spanbench-driver", workflow, "claim", "linear_4"),
        ("e2e.workflow", "spanbench-driver", workflow, "e2e.workflow", "linear_4"),
        ("finalize_task", "tasker-core-orchestration", workflow, "task.finalize", "linear_4"),
        ("update_task_state", "tasker-core-orchestration", workflow, None, "linear_4"),
        ("worker.step_execution", "tasker-core-worker", workflow, "execute", "linear_4"),
    ]

    stored = open_runs(runs, [UNASSIGNED], phase_map=phase_map.builtin("tasker-core"))
    kept = dict(stored.execute(
        "SELECT SpanName, list(Phase) FROM spans WHERE SpanAttributes[$correlation] = 'c-other' "
        "OR starts_with(SpanAttributes['target'], 'h2::') GROUP BY SpanName",
        {"correlation": Attr.CORRELATION_ID}).fetchall())
    assert kept == {"finalize_task": ["task.finalize"], "Connection::poll": [None]}
    [(in_run,)] = con.execute(
        "SELECT count(*) FROM spans WHERE SpanAttributes[$correlation] = 'c-other' "
        "OR starts_with(SpanAttributes['target'], 'h2::')",
        {"correlation": Attr.CORRELATION_ID}).fetchall()
    assert in_run == 0  # stored, but no phase of the run counts them
