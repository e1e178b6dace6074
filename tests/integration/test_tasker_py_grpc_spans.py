"""tasker-core's real Python worker (PyPI tasker-py) exporting its own spans to a spanbench sink
over OTLP/gRPC, as tasker-core configures its telemetry (TELEMETRY_ENABLED,
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME) and with the endpoint and protocol spanbench run
prints for the sink (spanbench.runner.deployment_export): they arrive, past the sink's bearer
token (OTEL_EXPORTER_OTLP_HEADERS), are stored in the run named by OTEL_RESOURCE_ATTRIBUTES, and not
one of them (queue reads and archives, event publishing, and the HTTP/2 library's spans of the
exporter's own frames, `target` = `h2::…`) carries a task's id or is attributed to a phase: the
run's phase statistics and e2e breakdown are the same with them as without them.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from extract.analyse.analysis import phase_statistics
from extract.analyse.breakdown import e2e_analysis
from extract.analyse.duckdb_runner import open_runs
from instrument.systems.base import Endpoints
from instrument.systems.tasker_core import TaskerCore
from instrument.workload.tasker_py_boundary import TaskerPyBoundary
from instrument.workload.tasker_py_worker import NAMESPACE
from spanbench import settings
from spanbench.runner import deployment_export
from spanbench.runner.deployment import Deployment, otlp_headers_variable
from tests.fake_runs import write_run
from tests.integration.test_tasker_py_boundary import (  # skips without tasker-py
    worker_config,  # noqa: F401 (a fixture)
)
from tests.sink_harness import SinkProcess, read_spans

RUN_ID = "20260101T000000Z-grpc01"
SERVICE = "tasker-py-worker-under-test"
TOKEN = "tasker-py-grpc-token"
STEPS = 6
TIMEOUT_S = 10.0
ARRIVAL_TIMEOUT_S = 40.0
"""tasker-core's batch exporter sends every few seconds; two of its exports must be at the sink
by then."""
SAMPLES = [("e2e_latency", "linear_4", "api.create_task", 5_000_000 + n) for n in range(8)]
"""Phase samples a driver would have written in the same run."""


def _telemetry(monkeypatch: pytest.MonkeyPatch, export: deployment_export.ExportSettings
               ) -> None:
    """tasker-core's telemetry switched on, exporting as `export` says, with the sink's token
    (the worker's process inherits this environment)."""
    monkeypatch.setenv("TELEMETRY_ENABLED", "true")
    monkeypatch.setenv(settings.OTEL_EXPORTER_OTLP_ENDPOINT, export.endpoint)
    monkeypatch.setenv(settings.OTEL_EXPORTER_OTLP_PROTOCOL, export.protocol)
    monkeypatch.setenv(settings.OTEL_EXPORTER_OTLP_HEADERS, otlp_headers_variable(TOKEN))
    monkeypatch.setenv(settings.OTEL_SERVICE_NAME, SERVICE)
    monkeypatch.setenv(settings.OTEL_RESOURCE_ATTRIBUTES, f"bench.run_id={RUN_ID}")


TASK_IDS_SQL = """
SELECT t.correlation_id::text, t.task_uuid::text, s.workflow_step_uuid::text
FROM tasker.tasks t JOIN tasker.workflow_steps s USING (task_uuid)
"""


def _task_ids(database_url: str) -> set[str]:
    """Every correlation id, task uuid and step uuid of the tasks the worker ran."""
    with psycopg.connect(database_url) as conn:
        return {value for row in conn.execute(TASK_IDS_SQL).fetchall() for value in row}


def _wait_for_spans(sink: SinkProcess) -> dict[str, int]:
    """The sink's spans per service once the worker's exports have arrived twice: the second
    carries the HTTP/2 library's spans of the first (the exporter's own frames)."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    first = 0
    while time.monotonic() < deadline:
        services = sink.status()["services"]
        arrived = services.get(SERVICE, 0)
        if first and arrived > first:
            return services
        first = first or arrived
        time.sleep(0.2)
    raise AssertionError(f"{SERVICE}'s spans did not reach the sink twice: {sink.status()}")


def _phases(runs: Path) -> tuple[list[object], list[object]]:
    connection = open_runs(runs, [RUN_ID])
    try:
        return phase_statistics(connection, RUN_ID), e2e_analysis(connection, RUN_ID).breakdown
    finally:
        connection.close()


def test_the_real_worker_s_spans_arrive_over_grpc_and_stay_out_of_every_phase(
        tasker_core_db: str, worker_config: Path, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs"
    system = TaskerCore(Endpoints("", tasker_core_db))
    with SinkProcess(runs, env={settings.SINK_TOKEN: TOKEN}) as sink:
        named = Deployment(tasker_core_db, None, (), sink.http_url, runs)
        export = deployment_export.sink_export(named, sink.status())
        assert (export.endpoint, export.protocol, export.token_required) == (
            f"http://{sink.grpc_address}", "grpc", True)
        _telemetry(monkeypatch, export)
        with TaskerPyBoundary(tasker_core_db, worker_config,
                              queue=system.worker_queue(NAMESPACE),
                              send_sql=system.send_with_notify_sql) as boundary:
            for _ in range(STEPS):
                step = boundary.seed_step()
                boundary.hand_over(step, time.monotonic() + TIMEOUT_S)
                boundary.stored_result(step, time.monotonic() + TIMEOUT_S)
            services = _wait_for_spans(sink)
        status = sink.status()
        assert sink.stop() == 0
    assert status["requests"].get("unauthenticated", 0) == 0, status["requests"]
    assert set(services) == {SERVICE}, services

    spans = read_spans(runs, [RUN_ID])
    assert spans and {span["ServiceName"] for span in spans} == {SERVICE}
    names = {span["SpanName"] for span in spans}
    targets = [dict(span["SpanAttributes"]).get("target", "") for span in spans]
    frames = sum(target.startswith("h2::") for target in targets)
    assert frames, set(targets)
    print(f"\ntasker-py exported {len(spans)} spans over gRPC, {frames} of them HTTP/2 "
          f"frames (h2::…): {sorted(names)}")
    values = {str(value) for span in spans for value in dict(span["SpanAttributes"]).values()}
    tasks = _task_ids(tasker_core_db)
    assert len(tasks) == 3 * STEPS and not values & tasks  # nothing ties them to a task

    alone = tmp_path / "alone"
    write_run(alone, RUN_ID, SAMPLES)
    write_run(runs, RUN_ID, SAMPLES)
    with_worker, without_worker = _phases(runs), _phases(alone)
    assert with_worker == without_worker
    stats = with_worker[0]
    assert stats and not names & {row.phase for row in stats}
