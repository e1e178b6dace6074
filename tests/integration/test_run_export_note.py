"""`spanbench run` against a deployment it did not start prints, before the suites that report
the deployment's stack phases, what to give the deployment so that its spans reach the sink:
the run's own sink's gRPC endpoint and a lasting `spanbench collect` to use instead, or, with
OTEL_EXPORTER_OTLP_ENDPOINT naming a running spanbench sink, that sink's gRPC endpoint."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from spanbench.cli.app import app
from spanbench.runner import job, suites
from tests.integration.test_run_named_deployment import _measures, _named_elsewhere
from tests.sink_harness import SinkProcess

SUITE = "handler_overhead"


def _stack_phase_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    """One suite that measures and whose reports include the deployment's stack phases."""
    registry = {SUITE: SimpleNamespace(SUITE=SUITE, SCENARIOS=("direct",), NEEDS=frozenset(),
                                       STACK_PHASES=True, run=_measures)}
    monkeypatch.setattr(job, "DRIVERS", registry)
    monkeypatch.setattr(suites, "DRIVERS", registry)


def _run(tmp_path: Path) -> str:
    result = CliRunner().invoke(app, ["run", SUITE, "--quick",
                                      "--output-dir", str(tmp_path / "reports")])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_run_names_its_own_sink_s_grpc_endpoint_and_a_lasting_sink(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _named_elsewhere(monkeypatch, tmp_path)
    _stack_phase_suite(monkeypatch)
    output = _run(tmp_path)
    note = re.search(r"the deployment's spans: this run's sink takes OTLP/gRPC at "
                     r"http://127\.0\.0\.1:(\d+) \(OTLP/HTTP at http://127\.0\.0\.1:(\d+)\)",
                     output)
    assert note is not None and note[1] != note[2], output
    assert "spanbench collect --grpc 127.0.0.1:4317 --listen 127.0.0.1:4318" in output
    suites_start = re.search(rf"^run \S+: {SUITE}$", output, re.MULTILINE)
    assert suites_start is not None and note.start() < suites_start.start()


def test_an_external_spanbench_sink_is_named_by_its_grpc_endpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _named_elsewhere(monkeypatch, tmp_path)
    _stack_phase_suite(monkeypatch)
    # longer than the sink's segment age (1 s): its spans are on disk only once it is sealed
    monkeypatch.setenv("SPANBENCH_SETTLE_S", "2")
    with SinkProcess(tmp_path / ".spanbench" / "runs") as sink:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.http_url)
        output = _run(tmp_path)
        assert sink.stop() == 0
    assert (f"the deployment's spans: give the deployment OTEL_EXPORTER_OTLP_ENDPOINT="
            f"http://{sink.grpc_address} OTEL_EXPORTER_OTLP_PROTOCOL=grpc") in output
