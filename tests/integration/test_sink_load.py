"""Concurrent SDK clients: every span lands in Parquet exactly once; SIGTERM exits 0."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.sink_harness import SinkProcess, all_part_files, client_process, count_spans

CLIENTS = 4
SPANS_EACH = 5_000


def test_four_clients_of_5000_spans(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    tag = uuid.uuid4().hex[:6]
    run_ids = [f"load-{tag}-{index}" for index in range(CLIENTS)]
    with SinkProcess(out) as sink:
        clients = [client_process(sink.traces_url, run_id, SPANS_EACH) for run_id in run_ids]
        for client in clients:
            output, _ = client.communicate(timeout=90)
            assert client.returncode == 0, output.decode(errors="replace")
        assert sink.stop() == 0, sink.log()
    assert count_spans(out) == {run_id: (SPANS_EACH, SPANS_EACH) for run_id in run_ids}
    assert not list((out / ".spool").glob("*.seg"))
    assert all_part_files(out)
