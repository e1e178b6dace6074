"""`spanbench collect --out s3://…` against a local S3 server (moto), read back three ways."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest
from moto.server import ThreadedMotoServer

from extract.store.run_json import RunRecord
from extract.store.runstore import RunStore
from tests.sink_harness import REPO, SPAN_COLUMNS, SinkProcess, make_request, read_spans

BUCKET = "spans"
PREFIX = "bench/ci"


@pytest.fixture
def s3_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A moto S3 server on 127.0.0.1 with an empty bucket; the env that reaches it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "SPANBENCH_HOME": str(tmp_path / "home"),
    }
    # moto keeps its state per process, across servers: start each test from an empty store
    httpx.post(f"{env['AWS_ENDPOINT_URL_S3']}/moto-api/reset", timeout=10).raise_for_status()
    _client(env).create_bucket(Bucket=BUCKET)
    try:
        yield env
    finally:
        server.stop()


def _client(env: dict[str, str]):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3", endpoint_url=env["AWS_ENDPOINT_URL_S3"], region_name=env["AWS_REGION"],
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def _keys(env: dict[str, str]) -> list[str]:
    listing = _client(env).list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def _spanbench(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spanbench", *args], cwd=REPO, env={**os.environ, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _span_id(row: dict[str, Any]) -> str:
    return str(row["SpanId"])


def test_sink_writes_parts_to_the_bucket_and_readers_open_them(
    tmp_path: Path, s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"s3://{BUCKET}/{PREFIX}"
    sent: dict[str, set[str]] = {"run-s3-a": set(), "run-s3-b": set()}
    with SinkProcess(tmp_path / "unused", "--out", uri, env=s3_env) as sink:
        assert sink.ready["out"] == uri
        for run_id in sent:
            for _ in range(3):
                request, ids = make_request(
                    40, run_id, name=f"op-{run_id}", **{"bench.suite": "handler_overhead",
                    "bench.scenario": "direct", "bench.phase": "handler.direct"},
                )  # fmt: skip
                response = httpx.post(
                    sink.traces_url, content=request.SerializeToString(),
                    headers={"Content-Type": "application/x-protobuf"}, timeout=10,
                )  # fmt: skip
                assert response.status_code == 200, response.text
                sent[run_id].update(ids)
        assert sink.stop() == 0, sink.log()

    keys = _keys(s3_env)
    assert keys, "no object in the bucket"
    for key in keys:  # only finished parts, under the prefix; no spool, no temp names
        run_id, spans, name = key.removeprefix(PREFIX + "/").split("/")
        assert run_id in sent and spans == "spans", key
        assert name.startswith("part-") and name.endswith(".parquet"), key
    assert not (tmp_path / "unused").exists()
    staging = tmp_path / "home" / "s3-staging" / BUCKET / PREFIX / ".spool"
    assert not list(staging.glob("*.seg")), "spool segments left after a clean stop"

    s3 = pafs.S3FileSystem(endpoint_override=s3_env["AWS_ENDPOINT_URL_S3"], region="us-east-1",
                           access_key="testing", secret_key="testing")
    for run_id, ids in sent.items():
        table = ds.dataset(f"{BUCKET}/{PREFIX}/{run_id}/spans", filesystem=s3,
                           format="parquet").to_table()
        assert sorted(table.column("SpanId").to_pylist()) == sorted(ids)
        assert set(table.column("RunId").to_pylist()) == {run_id}
        assert set(table.column("SpanName").to_pylist()) == {f"op-{run_id}"}

    # The DuckDB view over the bucket gives the same rows as over a local copy of it.
    local = tmp_path / "copy"
    for key in keys:
        target = local / key.removeprefix(PREFIX + "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        _client(s3_env).download_file(BUCKET, key, str(target))
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    remote_rows = read_spans(RunStore.at(uri), sorted(sent))  # type: ignore[arg-type]
    local_rows = read_spans(local, sorted(sent))
    assert sorted(remote_rows, key=_span_id) == sorted(local_rows, key=_span_id)
    assert len(remote_rows) == 240
    assert "epoch_ns(Timestamp)" in SPAN_COLUMNS  # the comparison covers nanosecond times

    listed = _spanbench(s3_env, "extract", "run-s3-a", "run-s3-b", "--out", uri, "--json")
    assert listed.returncode == 0, listed.stderr
    summary = {row["run_id"]: row["spans"] for row in json.loads(listed.stdout)}
    assert summary == {"run-s3-a": 120, "run-s3-b": 120}

    RunStore.at(uri).write_record("run-s3-a", RunRecord(commit="c0ffee"))
    assert f"{PREFIX}/run-s3-a/run.json" in _keys(s3_env)
    reports = tmp_path / "reports"
    reported = _spanbench(s3_env, "report", "--run", "run-s3-a", "--out", uri,
                          "--output-dir", str(reports))
    assert reported.returncode in (0, 1), reported.stderr
    results = json.loads((reports / "latest" / "results.json").read_text())
    assert json.dumps(results).count("c0ffee") >= 1
    assert "handler_overhead" in (reports / "latest" / "summary.md").read_text()
    history = tmp_path / "home" / "s3-staging" / BUCKET / PREFIX / "_history"
    assert (history / "run-s3-a.parquet").is_file()  # trend history stays on this machine


def test_sink_refuses_a_missing_bucket(tmp_path: Path, s3_env: dict[str, str]) -> None:
    sink = SinkProcess(tmp_path / "unused", "--out", "s3://no-such-bucket/x", env=s3_env)
    with pytest.raises(AssertionError, match="no-such-bucket"):
        sink.start()
    assert sink.process is not None and sink.process.returncode == 1


@pytest.mark.full_run
def test_a_run_through_an_external_sink_reports_from_the_bucket(
    tmp_path: Path, s3_env: dict[str, str]
) -> None:
    """The scaled path without Docker: an external sink writes to S3, `spanbench run --out
    s3://…` waits for the last spans, writes run.json beside them and reports from the bucket."""
    uri = f"s3://{BUCKET}/{PREFIX}"
    home = tmp_path / "home"
    with SinkProcess(tmp_path / "unused", "--out", uri, env=s3_env, grpc=False) as sink:
        environment = {
            key: value for key, value in os.environ.items()
            if not key.startswith(("OTEL_", "TASKER_TEST_")) and key != "DATABASE_URL"
        }  # fmt: skip
        environment.update(s3_env, OTEL_EXPORTER_OTLP_ENDPOINT=sink.http_url,
                           SPANBENCH_SETTLE_S="2", COLUMNS="120")
        result = subprocess.run(
            [sys.executable, "-m", "spanbench", "run", "task_initialization", "--quick",
             "--out", uri, "--output-dir", str(tmp_path / "reports")],
            cwd=REPO, env=environment, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert sink.stop() == 0, sink.log()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "waiting for the external sink" in result.stdout
    keys = _keys(s3_env)
    [run_json] = [key for key in keys if key.endswith("/run.json")]
    run_id = run_json.removeprefix(PREFIX + "/").split("/")[0]
    record = json.loads(_client(s3_env).get_object(Bucket=BUCKET, Key=run_json)["Body"].read())
    assert record["finished_at"] and record["deployment"]["otlp_endpoint"] == sink.http_url
    assert not (home / "runs").exists()  # nothing of the run was written locally
    results = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    assert run_id in json.dumps(results)
    rows = _spanbench(s3_env, "extract", run_id, "--out", uri, "--json", "--sql",
                      "SELECT Phase AS phase, count(*) AS n FROM spans WHERE NOT Warmup "
                      "AND Phase IN ('api.create_task', 'task.initialize') GROUP BY ALL")
    assert rows.returncode == 0, rows.stderr
    counts = {row["phase"]: row["n"] for row in json.loads(rows.stdout)}
    assert counts == {"api.create_task": 6, "task.initialize": 6}  # 2 scenarios x 3 samples
