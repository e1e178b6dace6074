"""Forwarding: the sink sends what it acknowledged to extra OTLP/HTTP targets, in order,
bounded (drops and counts past the bound), giving up on an unreachable target within its drain
time, and never at the cost of the spans' way into Parquet."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from extract.receive.forwarder import Forwarder
from extract.receive.settings import SettingsError, SinkSettings
from extract.store.runstore import RunStore
from spanbench.runner.deployment import DeploymentError, deploy
from tests.otlp_capture import OtlpCapture
from tests.sink_harness import SinkProcess, count_spans, make_request


def test_records_reach_the_target_in_order(
        otlp_capture: OtlpCapture) -> None:
    forwarder = Forwarder(otlp_capture.endpoint).start()
    sent = []
    for _ in range(4):
        request, ids = make_request(3, "fwd-run")
        forwarder.offer(request.SerializeToString())
        sent += ids
    forwarder.close(drain_s=10)
    assert [span.span_id for span in otlp_capture.get_spans(12, timeout=10)] == sent
    assert forwarder.status()["forwarded_records"] == 4
    assert forwarder.status()["failed_records"] == 0


def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    forwarder = Forwarder("http://127.0.0.1:9", max_bytes=100)  # never started: nothing drains
    forwarder.offer(b"x" * 60)
    forwarder.offer(b"y" * 60)
    forwarder.offer(b"z" * 40)
    status = forwarder.status()
    assert status["queued_records"] == 2 and status["dropped_queue_full"] == 1
    assert status["queued_bytes"] == 100


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_target_is_given_up_within_the_drain_time() -> None:
    forwarder = Forwarder(f"http://127.0.0.1:{_closed_port()}", timeout_s=1).start()
    for _ in range(3):
        forwarder.offer(make_request(1, "fwd-run")[0].SerializeToString())
    began = time.monotonic()
    forwarder.close(drain_s=1)
    assert time.monotonic() - began < 5
    assert forwarder.status()["forwarded_records"] == 0
    assert forwarder.status()["failed_records"] == 3


def test_forward_urls_are_checked() -> None:
    with pytest.raises(SettingsError, match="not an OTLP/HTTP URL"):
        SinkSettings.from_env(forward=("localhost:4318",)).check()


def test_the_sink_forwards_what_it_acknowledged(
        tmp_path: Path, otlp_capture: OtlpCapture) -> None:
    with SinkProcess(tmp_path / "runs", "--forward", otlp_capture.endpoint, grpc=False) as sink:
        sent = []
        for _ in range(3):
            request, ids = make_request(5, "fwd-run")
            response = httpx.post(sink.traces_url, content=request.SerializeToString(),
                                  headers={"Content-Type": "application/x-protobuf"}, timeout=10)
            assert response.status_code == 200
            sent += ids
        received = otlp_capture.get_spans(15, timeout=10)
        assert [span.span_id for span in received] == sent
        assert sink.status()["forward"][0]["forwarded_records"] == 3
        assert sink.stop() == 0, sink.log()
    assert count_spans(tmp_path / "runs") == {"fwd-run": (15, 15)}


def test_an_absent_target_costs_the_sink_nothing(tmp_path: Path) -> None:
    target = f"http://127.0.0.1:{_closed_port()}"
    drain = {"SPANBENCH_SINK_FORWARD_DRAIN_S": "1"}
    with SinkProcess(tmp_path / "runs", "--forward", target, grpc=False, env=drain) as sink:
        for _ in range(2):
            request, _ids = make_request(4, "fwd-run")
            response = httpx.post(sink.traces_url, content=request.SerializeToString(),
                                  headers={"Content-Type": "application/x-protobuf"}, timeout=10)
            assert response.status_code == 200
        assert sink.stop() == 0, sink.log()
    assert count_spans(tmp_path / "runs") == {"fwd-run": (8, 8)}
    assert "forward to" in sink.log()


def test_tee_needs_the_runs_own_sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    tee = ("http://127.0.0.1:4319",)
    with (pytest.raises(DeploymentError, match="--tee-otlp needs the run's own sink"),
          deploy(tmp_path, RunStore.at(tmp_path / "runs"), tee=tee)):
        pass
