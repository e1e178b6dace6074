"""`spanbench collect` and `spanbench extract` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from tests.sink_harness import REPO, SinkProcess, make_request


def _spanbench(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spanbench", *args], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "SPANBENCH_HOME": str(home)}, timeout=60,
    )  # fmt: skip


def test_extract_summarises_runs_and_runs_sql(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = home / "runs"  # the default under SPANBENCH_HOME
    tag = uuid.uuid4().hex[:6]
    first, second = f"cli-{tag}-1", f"cli-{tag}-2"
    with SinkProcess(out) as sink:
        for run_id, count in ((first, 30), (second, 20)):
            request, _ = make_request(count, run_id, name=f"op-{count}")
            response = httpx.post(
                sink.traces_url, content=request.SerializeToString(),
                headers={"Content-Type": "application/x-protobuf"},
            )  # fmt: skip
            assert response.status_code == 200
        assert sink.stop() == 0

    summary = _spanbench("extract", first, second, "--json", home=home)
    assert summary.returncode == 0, summary.stderr
    rows = json.loads(summary.stdout)
    assert [(row["run_id"], row["spans"], row["span_names"]) for row in rows] == [
        (first, 30, "op-30"), (second, 20, "op-20"),
    ]  # fmt: skip

    query = _spanbench("extract", "--out", str(out), first, second, "--json",
                       "--sql", "SELECT count(*) AS n FROM spans", home=tmp_path)  # fmt: skip
    assert json.loads(query.stdout) == [{"n": 50}]

    table = _spanbench("extract", first, home=home)
    assert table.returncode == 0 and first in table.stdout

    missing = _spanbench("extract", "no-such-run", home=home)
    assert missing.returncode == 1
    assert "no-such-run" in missing.stderr and first in missing.stderr


def test_collect_names_a_port_in_use(tmp_path: Path) -> None:
    with SinkProcess(tmp_path / "a", grpc=False) as sink:
        taken = sink.ready["http"]
        second = _spanbench("collect", "--listen", taken, "--grpc", "off",
                            "--out", str(tmp_path / "b"), home=tmp_path)  # fmt: skip
        assert second.returncode == 1
        assert "in use" in second.stderr and "--listen" in second.stderr
        assert sink.stop() == 0


def test_collect_refuses_a_second_sink_on_one_out(tmp_path: Path) -> None:
    with SinkProcess(tmp_path / "runs", grpc=False) as sink:
        second = _spanbench("collect", "--listen", "127.0.0.1:0", "--grpc", "off",
                            "--out", str(tmp_path / "runs"), home=tmp_path)  # fmt: skip
        assert second.returncode == 1
        assert "another sink" in second.stderr
        assert sink.stop() == 0
