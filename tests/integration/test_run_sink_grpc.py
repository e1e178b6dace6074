"""The sink `spanbench run` starts for itself takes OTLP/gRPC as well as OTLP/HTTP (tasker-core
exports over gRPC only): with the run's token, spans exported over gRPC are counted per
`service.name` in /status exactly as HTTP's are, and stored; its /status says where it listens;
restarted after a crash, it listens for gRPC on the same port."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from extract.store.runstore import RunStore
from spanbench.runner.deployment import SupervisedSink
from tests.sink_harness import count_spans, make_request

TOKEN = "run-sink-grpc-token"
AUTHORISED = (("authorization", f"Bearer {TOKEN}"),)
RESTART_TIMEOUT_S = 30.0


def _export_grpc(endpoint: str, count: int, run_id: str) -> None:
    request, _ = make_request(count, run_id)
    with grpc.insecure_channel(endpoint.removeprefix("http://")) as channel:
        TraceServiceStub(channel).Export(request, metadata=AUTHORISED, timeout=10)


def _export_http(endpoint: str, count: int, run_id: str) -> None:
    request, _ = make_request(count, run_id)
    response = httpx.post(f"{endpoint}/v1/traces", content=request.SerializeToString(),
                          headers={"content-type": "application/x-protobuf",
                                   "authorization": f"Bearer {TOKEN}"}, timeout=10)
    response.raise_for_status()


def _status(sink: SupervisedSink) -> dict[str, object]:
    return dict(httpx.get(f"{sink.endpoint}/status", timeout=5).json())


def test_the_run_s_sink_counts_and_keeps_grpc_spans_like_http_ones(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    restarts: list[dict[str, object]] = []
    sink = SupervisedSink(RunStore.at(runs), tmp_path / "logs", (), restarts, TOKEN)
    try:
        assert sink.grpc_endpoint is not None and sink.grpc_endpoint != sink.endpoint
        _export_grpc(sink.grpc_endpoint, 3, "over-grpc")
        _export_http(sink.endpoint, 2, "over-http")
        status = _status(sink)
        assert status["services"] == {"sink-test": 5}
        assert status["token_required"] is True
        assert status["listen"] == {"http": sink.endpoint.removeprefix("http://"),
                                    "grpc": sink.grpc_endpoint.removeprefix("http://")}

        first_grpc, victim = sink.grpc_endpoint, sink.current.process.pid
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + RESTART_TIMEOUT_S
        while not restarts and time.monotonic() < deadline:
            time.sleep(0.1)
        assert restarts, "the run's sink was not started again"
        _export_grpc(first_grpc, 4, "over-grpc")
        assert _status(sink)["services"] == {"sink-test": 4}  # the new process counts anew
    finally:
        assert sink.stop() == 0
    assert count_spans(runs)["over-grpc"][1] == 7
    assert count_spans(runs)["over-http"][1] == 2
