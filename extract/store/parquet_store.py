"""The Parquet store: one dataset per run, `runs_dir/<run_id>/spans/part-<part>.parquet`.

Parts are written atomically (temp name, fsync, rename, fsync of the directory), so a
reader globbing `part-*.parquet` never sees half a file and re-writing a part replaces it.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from extract.store import object_store
from extract.store.object_store import S3Runs
from spanbench.security import check_name, contained

# Schema history (bump on any change to SCHEMA; readers union files by column name):
#   1  first version: the ClickHouse exporter's otel_traces columns, EndTimestamp, the
#      promoted bench columns (RunId .. Warmup) and the *AttributeTypes maps.
SCHEMA_VERSION: Final = 1
SCHEMA_VERSION_KEY: Final = b"spanbench.schema_version"

PART_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

# Dictionary pages only where values repeat, statistics only where DuckDB can prune on
# them: both cost more than they give on ids and attribute maps (~40% of write time).
_DICTIONARY_COLUMNS: Final = [
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ScopeName",
    "ScopeVersion",
    "StatusCode",
    "RunId",
    "Suite",
    "Scenario",
    "Phase",
]
_STATISTICS_COLUMNS: Final = [
    "Timestamp",
    "EndTimestamp",
    "Duration",
    "SpanName",
    "RunId",
    "Suite",
    "Scenario",
    "Phase",
    "Iteration",
]

_TIMESTAMP: Final = pa.timestamp("ns", tz="UTC")
_STRING_MAP: Final = pa.map_(pa.string(), pa.string())

EVENT_TYPE: Final = pa.struct(
    [
        ("Timestamp", _TIMESTAMP),
        ("Name", pa.string()),
        ("Attributes", _STRING_MAP),
        ("AttributeTypes", _STRING_MAP),
    ]
)
LINK_TYPE: Final = pa.struct(
    [
        ("TraceId", pa.string()),
        ("SpanId", pa.string()),
        ("TraceState", pa.string()),
        ("Attributes", _STRING_MAP),
        ("AttributeTypes", _STRING_MAP),
    ]
)

SCHEMA: Final = pa.schema(
    [
        ("Timestamp", _TIMESTAMP),
        ("EndTimestamp", _TIMESTAMP),
        ("Duration", pa.int64()),
        ("TraceId", pa.string()),
        ("SpanId", pa.string()),
        ("ParentSpanId", pa.string()),
        ("TraceState", pa.string()),
        ("SpanName", pa.string()),
        ("SpanKind", pa.string()),
        ("ServiceName", pa.string()),
        ("ResourceAttributes", _STRING_MAP),
        ("ResourceAttributeTypes", _STRING_MAP),
        ("ScopeName", pa.string()),
        ("ScopeVersion", pa.string()),
        ("SpanAttributes", _STRING_MAP),
        ("SpanAttributeTypes", _STRING_MAP),
        ("StatusCode", pa.string()),
        ("StatusMessage", pa.string()),
        ("Events", pa.list_(EVENT_TYPE)),
        ("Links", pa.list_(LINK_TYPE)),
        ("RunId", pa.string()),
        ("Suite", pa.string()),
        ("Scenario", pa.string()),
        ("Phase", pa.string()),
        ("Iteration", pa.int64()),
        ("Warmup", pa.bool_()),
    ],
    metadata={SCHEMA_VERSION_KEY: str(SCHEMA_VERSION).encode()},
)


def spans_dir(runs_dir: Path, run_id: str) -> Path:
    """`runs_dir/<run_id>/spans`; a run id that could escape `runs_dir` is refused (UnsafeName,
    a ValueError). `local_spans_dir` also refuses symbolic links that lead out."""
    return Path(runs_dir) / check_name(run_id, "run id") / "spans"


def local_spans_dir(runs_dir: Path, run_id: str) -> Path:
    """`spans_dir` in a local runs dir, resolved to stay inside it (PathEscape otherwise)."""
    return contained(Path(runs_dir), check_name(run_id, "run id"), "spans")


def part_path(runs_dir: Path, run_id: str, part: str) -> Path:
    """Where part `part` of run `run_id` lives."""
    if not PART_PATTERN.fullmatch(part):
        raise ValueError(f"part name {part!r} is not valid: it must match {PART_PATTERN.pattern}")
    return spans_dir(runs_dir, run_id) / f"part-{part}.parquet"


def _check_schema(run_id: str, table: pa.Table) -> None:
    if not table.schema.equals(SCHEMA, check_metadata=False):
        raise ValueError(
            f"table for run {run_id!r} does not have parquet_store.SCHEMA "
            f"(version {SCHEMA_VERSION}); build it with extract.receive.columns.to_tables"
        )


def _write_parquet(table: pa.Table, sink: Any) -> None:
    pq.write_table(
        table.replace_schema_metadata(SCHEMA.metadata),
        sink,
        compression="zstd",
        use_dictionary=_DICTIONARY_COLUMNS,
        write_statistics=_STATISTICS_COLUMNS,
    )


def write_part_s3(runs: S3Runs, run_id: str, part: str, table: pa.Table) -> str:
    """Upload `table` as part `part` of the run in one piece; re-writing replaces it."""
    relative = part_path(Path(), run_id, part).as_posix()
    _check_schema(run_id, table)
    buffer = pa.BufferOutputStream()
    _write_parquet(table, buffer)
    return object_store.put(runs, relative, buffer.getvalue())


def write_part(runs_dir: Path, run_id: str, part: str, table: pa.Table) -> Path:
    """Write `table` as `part-<part>.parquet` of the run, atomically; re-writing replaces it.

    Never outside `runs_dir`: a run directory that is a symbolic link out is refused."""
    final = part_path(runs_dir, run_id, part)
    local_spans_dir(runs_dir, run_id)
    _check_schema(run_id, table)
    _make_dirs(final.parent)
    temp = final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temp, "wb") as sink:
            _write_parquet(table, sink)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)
    return final


def schema_version_of(path: Path) -> int | None:
    """The schema version stamped in a part file's key-value metadata (None if absent)."""
    metadata = pq.read_metadata(path).metadata or {}
    value = metadata.get(SCHEMA_VERSION_KEY)
    return int(value) if value is not None else None


def _make_dirs(directory: Path) -> None:
    """mkdir -p, fsyncing each parent whose entries changed so the new dirs survive a crash."""
    missing = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
