"""Backpressure: past the backlog bound the sink answers 503 + Retry-After / UNAVAILABLE +
RetryInfo, and the stock exporters' retries then deliver every span."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import grpc
import httpx
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from tests.sink_harness import SinkProcess, client_process, count_spans, make_request

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def test_full_backlog_answers_retry_later(tmp_path: Path) -> None:
    # A one-byte bound: once a record is spooled, everything waits for its conversion.
    env = {"SPANBENCH_SINK_SEGMENT_AGE_S": "1.5"}
    with SinkProcess(tmp_path / "runs", "--max-backlog-bytes", "1", env=env) as sink:
        first, _ = make_request(10, "overload-a")
        response = httpx.post(sink.traces_url, content=first.SerializeToString(), headers=PROTOBUF)
        assert response.status_code == 200

        second, _ = make_request(10, "overload-a")
        response = httpx.post(sink.traces_url, content=second.SerializeToString(), headers=PROTOBUF)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert Status.FromString(response.content).code == grpc.StatusCode.UNAVAILABLE.value[0]

        response = httpx.post(sink.traces_url, json={"resourceSpans": []})
        assert (response.status_code, response.headers["retry-after"]) == (503, "1")
        assert "backlog" in response.json()["message"]

        with grpc.insecure_channel(sink.grpc_address) as channel:
            try:
                TraceServiceStub(channel).Export(second, timeout=10)
                raise AssertionError("gRPC export accepted past the bound")
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE
                trailers = dict(error.trailing_metadata() or ())
        info = RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"])
        assert info.retry_delay.seconds == 1

        deadline = time.monotonic() + 10
        while (status := sink.status())["backlog_bytes"]:
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
        assert status["requests"]["overloaded"] == 3
        response = httpx.post(sink.traces_url, content=second.SerializeToString(), headers=PROTOBUF)
        assert response.status_code == 200
        assert sink.stop() == 0
    assert count_spans(tmp_path / "runs") == {"overload-a": (20, 20)}


def test_exporters_retry_through_a_burst(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    env = {"SPANBENCH_SINK_SEGMENT_AGE_S": "0.3"}
    tag = uuid.uuid4().hex[:6]
    plan = [(f"burst-{tag}-http-{index}", "http") for index in range(2)]
    plan.append((f"burst-{tag}-grpc", "grpc"))
    spans_each = 3_000
    with SinkProcess(out, "--max-backlog-bytes", str(400_000), env=env) as sink:
        clients = [
            client_process(sink.traces_url if protocol == "http" else sink.grpc_address,
                           run_id, spans_each, protocol)
            for run_id, protocol in plan
        ]  # fmt: skip
        for client in clients:
            output, _ = client.communicate(timeout=90)
            assert client.returncode == 0, output.decode(errors="replace")
        overloaded = sink.status()["requests"].get("overloaded", 0)
        assert sink.stop() == 0, sink.log()
    assert overloaded > 0, "the burst never crossed the bound"
    assert count_spans(out) == {run_id: (spans_each, spans_each) for run_id, _ in plan}
