"""The Parquet store: atomic, idempotent parts with the schema version stamped in."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from extract.receive.columns import to_tables
from extract.store import parquet_store
from extract.store.parquet_store import (
    SCHEMA,
    SCHEMA_VERSION,
    schema_version_of,
    spans_dir,
    write_part,
)


def _table(run_id: str, names: list[str]) -> pa.Table:
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    for n, name in enumerate(names, start=1):
        span = scope_spans.spans.add(
            trace_id=bytes([n]) * 16,
            span_id=bytes([n]) * 8,
            name=name,
            start_time_unix_nano=10**18 + n,
            end_time_unix_nano=10**18 + 10 * n,
        )
        span.attributes.add(key="bench.run_id").value.string_value = run_id
    return to_tables([request])[run_id]


def _entries(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_write_part_layout_and_schema_version(tmp_path: Path) -> None:
    path = write_part(tmp_path, "run-1", "0007", _table("run-1", ["a", "b"]))
    assert path == tmp_path / "run-1" / "spans" / "part-0007.parquet"
    assert spans_dir(tmp_path, "run-1") == path.parent
    assert _entries(path.parent) == ["part-0007.parquet"]  # no temp file left behind
    assert schema_version_of(path) == SCHEMA_VERSION == 1
    metadata = pq.read_metadata(path).metadata
    assert metadata[b"spanbench.schema_version"] == b"1"
    read = pq.read_table(path)
    assert read.schema.equals(SCHEMA, check_metadata=False)
    assert read.column("SpanName").to_pylist() == ["a", "b"]


def test_rewriting_a_part_replaces_it(tmp_path: Path) -> None:
    table = _table("run-1", ["a", "b", "c"])
    first = write_part(tmp_path, "run-1", "1", table)
    second = write_part(tmp_path, "run-1", "1", table)
    assert first == second
    assert _entries(first.parent) == ["part-1.parquet"]
    assert pq.read_table(second).equals(table)
    write_part(tmp_path, "run-1", "1", _table("run-1", ["z"]))
    assert pq.read_table(second).column("SpanName").to_pylist() == ["z"]


def test_a_failed_write_leaves_the_old_part_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_part(tmp_path, "run-1", "1", _table("run-1", ["old"]))

    def broken(table: pa.Table, where: object, **options: object) -> None:
        with open(where.name, "wb") as partial:  # type: ignore[attr-defined]
            partial.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(parquet_store.pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        write_part(tmp_path, "run-1", "1", _table("run-1", ["new"]))
    assert _entries(path.parent) == ["part-1.parquet"]
    assert pq.read_table(path).column("SpanName").to_pylist() == ["old"]


@pytest.mark.parametrize("run_id", ["../../etc", "..", "a/b", "", ".hidden"])
def test_run_ids_that_could_escape_are_refused(tmp_path: Path, run_id: str) -> None:
    with pytest.raises(ValueError, match="run id"):
        write_part(tmp_path, run_id, "0", _table("run-1", ["a"]))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("part", ["../0", "a/b", "", ".0"])
def test_bad_part_names_are_refused(tmp_path: Path, part: str) -> None:
    with pytest.raises(ValueError, match="part name"):
        write_part(tmp_path, "run-1", part, _table("run-1", ["a"]))


def test_a_table_of_another_schema_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"does not have parquet_store\.SCHEMA"):
        write_part(tmp_path, "run-1", "0", pa.table({"SpanName": ["a"]}))
