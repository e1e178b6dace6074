"""Segments → Parquet: deterministic parts (re-conversion replaces), routing, failures kept."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from extract.analyse.duckdb_runner import part_files
from extract.receive.converter import Converter, convert_segment, part_name
from extract.receive.otlp_decode import UNASSIGNED
from extract.receive.spool import MAGIC, Segment, encode_record
from extract.store.runstore import RunStore
from tests.sink_harness import make_request


def _segment(directory: Path, seq: int, payloads: list[bytes]) -> Segment:
    path = directory / f"{seq:020d}.seg"
    path.write_bytes(MAGIC + b"".join(encode_record(p) for p in payloads))
    return Segment(seq, path, path.stat().st_size)


def _rows(runs: RunStore, run_id: str) -> int:
    return sum(pq.read_metadata(path).num_rows for path in part_files(runs, run_id))


def test_reconverting_a_segment_replaces_its_parts(tmp_path: Path) -> None:
    payloads = [make_request(50, "run-a")[0].SerializeToString() for _ in range(4)]
    segment = _segment(tmp_path, 42, payloads)
    runs = RunStore.at(tmp_path / "runs")
    assert convert_segment(segment, runs, chunk_bytes=len(payloads[0]) * 2) == 200
    first = sorted(path.name for path in part_files(runs, "run-a"))
    assert first == [f"part-{part_name(42, 0)}.parquet", f"part-{part_name(42, 1)}.parquet"]
    assert convert_segment(segment, runs, chunk_bytes=len(payloads[0]) * 2) == 200
    assert sorted(path.name for path in part_files(runs, "run-a")) == first
    assert _rows(runs, "run-a") == 200


def test_spans_are_routed_by_run_id(tmp_path: Path) -> None:
    payloads = [
        make_request(3, "run-b")[0].SerializeToString(),
        make_request(2, None)[0].SerializeToString(),
    ]
    runs = RunStore.at(tmp_path / "runs")
    assert convert_segment(_segment(tmp_path, 7, payloads), runs) == 5
    assert (_rows(runs, "run-b"), _rows(runs, UNASSIGNED)) == (3, 2)


def test_converter_thread_retires_segments_and_keeps_failures(tmp_path: Path) -> None:
    good = _segment(tmp_path, 1, [make_request(5, "run-c")[0].SerializeToString()])
    bad = _segment(tmp_path, 2, [b"\xff\xff not a request"])
    converted: list[tuple[int, int]] = []
    errors: list[int] = []
    converter = Converter(
        RunStore.at(tmp_path / "runs"),
        lambda segment, spans: converted.append((segment.seq, spans)),
        lambda segment, error: errors.append(segment.seq),
        retry_delay_s=0.01,
    ).start()
    converter.submit(good)
    converter.submit(bad)
    failed = converter.stop()
    assert converted == [(1, 5)]
    assert not good.path.exists()
    assert [segment.seq for segment in failed] == [2]
    assert bad.path.exists()
    assert errors and set(errors) == {2}
