"""Spans in Parquet → `spanbench export` → `spanbench import` into a fresh sink → the same
spans in that sink's Parquet: exactly through OTLP JSON lines; through Jaeger JSON, all but
what jaeger.py documents as lost (sub-µs digits, link attributes, array element types)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from extract.export.otlp_rebuild import to_requests
from extract.export.selection import Selection, read_traces
from tests.export_fixture import RUN_ID, build_request, canonical, write_run
from tests.sink_harness import SinkProcess
from tests.unit.test_export import _through_jaeger, validate_jaeger


def spanbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPANBENCH_HOME": str(cwd / ".spanbench"), "COLUMNS": "200"}
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "SPANBENCH_SINK_OUT"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "spanbench", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("fmt", ["otlp", "jaeger"])
def test_export_then_import_gives_the_same_spans(tmp_path: Path, fmt: str) -> None:
    write_run(tmp_path / ".spanbench" / "runs")
    exported = spanbench("export", fmt, "--include-warmup", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    extension = "jsonl" if fmt == "otlp" else "json"
    path = tmp_path / "tmp" / "benchmarks" / "latest" / f"{fmt}-{RUN_ID}.{extension}"
    assert path.is_file(), exported.stderr
    assert "wrote 24 spans in 6 traces" in exported.stderr
    if fmt == "jaeger":
        validate_jaeger(json.loads(path.read_text()))

    with SinkProcess(tmp_path / "fresh", grpc=False) as sink:
        imported = spanbench("import", str(path), "--endpoint", sink.http_url, cwd=tmp_path)
        assert imported.returncode == 0, imported.stderr
        assert "sent 24 spans" in imported.stderr
        assert sink.stop() == 0, sink.log()

    back = canonical(to_requests(read_traces(tmp_path / "fresh", RUN_ID,
                                             Selection(include_warmup=True))))
    original = canonical([build_request()])
    if fmt == "otlp":
        assert back == original
    else:
        assert back == {span_id: _through_jaeger(span) for span_id, span in original.items()}


def test_export_names_the_problem(tmp_path: Path) -> None:
    nothing = spanbench("export", "jaeger", cwd=tmp_path)
    assert nothing.returncode == 1
    assert "no run under" in nothing.stderr
    write_run(tmp_path / ".spanbench" / "runs")
    unknown = spanbench("export", "jaeger", "--run", RUN_ID, "--scenario", "nope", cwd=tmp_path)
    assert unknown.returncode == 1 and "no spans for traces of scenario nope" in unknown.stderr
    both = spanbench("export", "otlp", "--run", RUN_ID, "--slowest", "1", "--trace", "ab",
                     cwd=tmp_path)
    assert both.returncode == 2 and "choose one of" in both.stderr
    refused = spanbench("import", str(tmp_path / ".spanbench" / "runs" / RUN_ID / "spans" /
                                      "part-00000000000000000000-0000.parquet"), cwd=tmp_path)
    assert refused.returncode == 1 and "error:" in refused.stderr
