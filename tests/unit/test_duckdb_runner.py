"""The `spans` view over one, several or all runs of the Parquet store."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from extract.analyse.duckdb_runner import NoSpansError, list_runs, open_runs
from extract.store.parquet_store import spans_dir
from tests.fake_runs import write_request


def _request(run_id: str, part: str, count: int) -> ExportTraceServiceRequest:
    """`count` spans of the run; ids unique per run and part (a part's own spans)."""
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    for n in range(1, count + 1):
        span = scope_spans.spans.add(
            trace_id=bytes([n]) * 16,
            span_id=bytes([int(part), n]) * 4,
            name=f"{run_id}/{part}/{n}",
            start_time_unix_nano=1_700_000_000_000_000_001 + n,
            end_time_unix_nano=1_700_000_000_000_001_002 + n,
        )
        span.attributes.add(key="bench.run_id").value.string_value = run_id
        span.attributes.add(key="bench.iteration").value.int_value = n
    return request


def _write(runs_dir: Path, run_id: str, part: str, count: int) -> None:
    write_request(runs_dir, _request(run_id, part, count), part)


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    _write(tmp_path, "run-a", "0", 2)
    _write(tmp_path, "run-a", "1", 3)
    _write(tmp_path, "run-b", "0", 4)
    (tmp_path / "empty-run" / "spans").mkdir(parents=True)
    (tmp_path / "run-b" / "spans" / ".part-9.parquet.123.ab.tmp").write_bytes(b"half")
    (tmp_path / "notes.txt").write_text("not a run")
    return tmp_path


def _counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    return con.sql("SELECT RunId, count(*) FROM spans GROUP BY RunId ORDER BY RunId").fetchall()


def test_list_runs_only_counts_runs_with_parts(runs_dir: Path) -> None:
    assert list_runs(runs_dir) == ["run-a", "run-b"]
    assert list_runs(runs_dir / "missing") == []


def test_all_runs_one_run_and_a_given_connection(runs_dir: Path) -> None:
    assert _counts(open_runs(runs_dir)) == [("run-a", 5), ("run-b", 4)]
    assert _counts(open_runs(runs_dir, ["run-b"])) == [("run-b", 4)]
    con = duckdb.connect()
    assert open_runs(runs_dir, ["run-a"], connection=con) is con
    assert _counts(con) == [("run-a", 5)]
    open_runs(runs_dir, ["run-b"], connection=con)  # the view is replaced
    assert _counts(con) == [("run-b", 4)]


def test_nanoseconds_survive_the_view(runs_dir: Path) -> None:
    rows = open_runs(runs_dir, ["run-a"]).sql(
        "SELECT epoch_ns(Timestamp), epoch_ns(EndTimestamp), Duration, Iteration FROM spans "
        "WHERE SpanName = 'run-a/0/1'"
    ).fetchall()
    assert rows == [(1_700_000_000_000_000_002, 1_700_000_000_000_001_003, 1001, 1)]


def test_a_run_without_spans_is_named_in_the_error(runs_dir: Path) -> None:
    with pytest.raises(NoSpansError) as raised:
        open_runs(runs_dir, ["run-a", "empty-run"])
    message = str(raised.value)
    assert "'empty-run'" in message and str(runs_dir) in message and "run-a, run-b" in message
    with pytest.raises(NoSpansError, match="no run under"):
        open_runs(runs_dir / "nowhere")
    with pytest.raises(ValueError, match="run id"):
        open_runs(runs_dir, ["../run-a"])


def test_union_by_name_reads_files_of_other_column_sets(runs_dir: Path) -> None:
    older = pa.table({"SpanName": ["old"], "RunId": ["run-b"], "Duration": [5]})
    pq.write_table(older, spans_dir(runs_dir, "run-b") / "part-old.parquet")
    con = open_runs(runs_dir, ["run-b"])
    assert con.sql("SELECT count(*), count(Timestamp) FROM spans").fetchall() == [(5, 4)]
    assert con.sql("SELECT Duration FROM spans WHERE SpanName = 'old'").fetchall() == [(5,)]


def test_a_request_delivered_twice_counts_once(tmp_path: Path) -> None:
    """At-least-once delivery: an exporter that lost the sink's answer sends the request again
    and the same spans land in two parts; the view holds each span once."""
    write_request(tmp_path, _request("run-r", "0", 3), "0")
    write_request(tmp_path, _request("run-r", "0", 3), "1")  # the retry, in a later part
    write_request(tmp_path, _request("run-r", "2", 2), "2")
    con = open_runs(tmp_path, ["run-r"])
    assert _counts(con) == [("run-r", 5)]
    assert con.sql("SELECT count(*) FROM spans_as_stored").fetchall() == [(8,)]
    assert con.sql("SELECT count(DISTINCT SpanId) FROM spans").fetchall() == [(5,)]


def test_in_memory_holds_the_views_rows_until_opened_again(runs_dir: Path) -> None:
    con = open_runs(runs_dir, ["run-a"], in_memory=True)
    held = con.sql("SELECT * FROM spans ORDER BY SpanId").fetchall()
    assert held == con.sql("SELECT * FROM main.spans ORDER BY SpanId").fetchall()
    assert len(held) == 5
    assert con.execute("SELECT count(*) FROM duckdb_tables() "
                       "WHERE temporary AND table_name = 'spans'").fetchall() == [(1,)]
    _write(runs_dir, "run-a", "2", 1)
    assert _counts(con) == [("run-a", 5)]
    open_runs(runs_dir, ["run-a"], connection=con)
    assert _counts(con) == [("run-a", 6)]
