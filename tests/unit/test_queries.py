"""The query registry refuses mismatches; phase_summary computes what it says."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import queries
from queries import QueryRegistryError, macros
from tests.fake_runs import CALL_COLUMNS, rows_of, spans_db


def test_every_name_the_code_uses_has_its_file() -> None:
    assert set(queries.NAMES) <= set(queries.load())


@pytest.mark.parametrize(("files", "message"), [
    ({"a.sql": "SELECT 1"}, "does not open with"),
    ({"a.sql": "-- name: b\nSELECT 1"}, "is named 'b'"),
    ({"a.sql": "-- name: a\nSELECT 1"}, "no query file for missing"),
])
def test_a_mismatch_stops_the_load(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(QueryRegistryError, match=message):
        queries.load(names=("a", "missing"), folder=tmp_path)  # type: ignore[arg-type]


def _spans(conn: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    spans_db(rows_of(CALL_COLUMNS, rows), conn)


def test_phase_summary_excludes_warmup_errors_and_other_runs() -> None:
    conn = macros.define(duckdb.connect())
    rows = [("r", "s", "x", "claim", False, "Unset", ms * 1_000_000, {}) for ms in range(1, 21)]
    rows += [("r", "s", "x", "claim", True, "Unset", 999_000_000, {}),
             ("r", "s", "x", "claim", False, "Error", 999_000_000, {}),
             ("other", "s", "x", "claim", False, "Unset", 999_000_000, {})]
    _spans(conn, rows)
    result = conn.execute(queries.load()["phase_summary"].sql, {"run_id": "r"}).fetchall()
    [(suite, scenario, variant, phase, n, errors, mean, p50, p95, p99, batch)] = result
    assert variant is None
    assert (suite, scenario, phase, n, errors, batch) == ("s", "x", "claim", 20, 1, 1)
    assert mean == pytest.approx(10.5e6)
    assert p50 == pytest.approx(10.5e6)
    assert p95 == pytest.approx(19.05e6)
    assert p99 is None


def test_dataset_sizes_are_kept_apart() -> None:
    conn = macros.define(duckdb.connect())
    _spans(conn, [("r", "sql_functions", "get_next_ready_tasks", "sql.get_next_ready_tasks",
                   False, "Unset", size, {"bench.dataset_size": str(size)})
                  for size in (100_000, 1000, 5000)])
    rows = conn.execute(queries.load()["phase_summary"].sql, {"run_id": "r"}).fetchall()
    assert [(row[2], row[4]) for row in rows] == [("1000", 1), ("5000", 1), ("100000", 1)]


def test_batched_spans_count_per_call() -> None:
    conn = macros.define(duckdb.connect())
    _spans(conn, [("r", "handler_overhead", "direct", "handler.direct", False, "Unset", 5_000,
                   {"bench.batch_size": "10000"})])
    [row] = conn.execute(queries.load()["phase_summary"].sql, {"run_id": "r"}).fetchall()
    assert row[6] == pytest.approx(0.5)
    assert row[-1] == 10000
