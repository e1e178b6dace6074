"""Baselines: Mann–Whitney on known pairs, the noise threshold, a Parquet round trip."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.analyse.baseline_compare import (
    compare,
    compare_baselines,
    compare_tables,
    save_baseline,
)
from extract.analyse.duckdb_runner import open_runs
from tests.fake_runs import write_run_json, write_spans

MS = 1_000_000


def _samples(values_ms: list[float], suite: str = "s", phase: str = "p") -> pa.Table:
    return pa.table({"suite": [suite] * len(values_ms), "scenario": ["x"] * len(values_ms),
                     "variant": pa.array([None] * len(values_ms), pa.string()),
                     "phase": [phase] * len(values_ms),
                     "duration_ns": [v * MS for v in values_ms]})


def _reference_p(a: list[float], b: list[float]) -> float:
    """Mann–Whitney's two-sided p by the textbook, in plain Python (ties averaged)."""
    pooled = sorted(a + b)
    rank = {v: (pooled.index(v) + 1 + len(pooled) - pooled[::-1].index(v)) / 2 for v in pooled}
    n1, n2, n = len(a), len(b), len(a) + len(b)
    u = sum(rank[v] for v in a) - n1 * (n1 + 1) / 2
    ties = sum(t**3 - t for t in (pooled.count(v) for v in set(pooled)))
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    return math.erfc(max(abs(u - n1 * n2 / 2) - 0.5, 0) / sigma / math.sqrt(2))


def test_a_shifted_pair_regresses_and_improves() -> None:
    low, high = [1.0, 2, 3, 4, 5], [6.0, 7, 8, 9, 10]
    [worse] = compare_tables(_samples(low), _samples(high))
    # U = 0, z = (12.5 - 0.5) / sqrt(25 * 11 / 12): p = 0.01219 (scipy's asymptotic answer)
    assert worse.p_value == pytest.approx(0.012185, abs=1e-6)
    assert (worse.baseline_median_ns, worse.current_median_ns) == (3e6, 8e6)
    assert worse.change == pytest.approx(5 / 3)
    assert (worse.status, worse.n_baseline, worse.n_current) == ("Regressed", 5, 5)
    [better] = compare_tables(_samples(high), _samples(low))
    assert (better.status, better.p_value) == ("Improved", pytest.approx(worse.p_value))


def test_ties_use_average_ranks_and_the_tie_correction() -> None:
    base, current = [1.0, 1, 2, 2, 2, 3, 4], [2.0, 3, 3, 3, 4, 4, 5, 5]
    [result] = compare_tables(_samples(base), _samples(current))
    assert result.p_value == pytest.approx(_reference_p(base, current))


def test_an_identical_pair_is_stable() -> None:
    values = [float(v) for v in range(1, 31)]
    [same] = compare_tables(_samples(values), _samples(values))
    assert (same.status, same.change) == ("Stable", 0.0)
    assert same.p_value == pytest.approx(1.0)
    [flat] = compare_tables(_samples([2.0] * 5), _samples([2.0] * 5))
    assert (flat.status, flat.p_value) == ("Stable", 1.0)


def test_the_noise_threshold_is_respected() -> None:
    base = [100 + i * 0.01 for i in range(40)]
    [tiny] = compare_tables(_samples(base), _samples([v * 1.03 for v in base]))
    assert tiny.p_value < 1e-6
    assert (tiny.status, tiny.threshold) == ("Stable", 0.05)
    ten = [v * 1.10 for v in base]
    assert compare_tables(_samples(base), _samples(ten))[0].status == "Regressed"
    [sql] = compare_tables(_samples(base, "sql_functions"), _samples(ten, "sql_functions"))
    assert (sql.status, sql.threshold) == ("Stable", 0.15)
    [strict] = compare_tables(_samples(base, "sql_functions"), _samples(ten, "sql_functions"),
                              {"sql_functions": 0.02})
    assert strict.status == "Regressed"


def _run(runs_dir: Path, run_id: str, values_ms: list[float]) -> None:
    calls = [(int(v * MS), "Unset", False) for v in values_ms]
    calls += [(999 * MS, "Error", False), (999 * MS, "Unset", True)]  # failed, warm-up
    write_spans(runs_dir, run_id, [
        {"Duration": duration, "SpanAttributes": {}, "StatusCode": status, "RunId": run_id,
         "Suite": "s", "Scenario": "x", "Phase": "p", "Warmup": warmup}
        for duration, status, warmup in calls], part="00000")
    write_run_json(runs_dir, run_id,
                   {"commit": f"c-{run_id}", "started_at": "2026-11-29T23:00:00+00:00"})


def test_a_baseline_round_trip_through_parquet(tmp_path: Path) -> None:
    runs, baselines = tmp_path / "runs", tmp_path / "baselines"
    _run(runs, "r1", [10.0 + i * 0.1 for i in range(20)])
    _run(runs, "r2", [20.0 + i * 0.1 for i in range(20)])
    folder = save_baseline(runs, baselines, "main", "r1")
    assert folder == baselines / "main"
    metadata = json.loads((folder / "baseline.json").read_text())
    assert (metadata["run_id"], metadata["commit"], metadata["samples"]) == ("r1", "c-r1", 20)
    assert pq.read_table(folder / "samples.parquet").num_rows == 20
    [result] = compare(open_runs(runs, ["r2"]), "r2", folder)
    assert (result.status, result.n_baseline, result.n_current) == ("Regressed", 20, 20)
    assert result.baseline_median_ns == pytest.approx(10.95e6)
    [same] = compare(open_runs(runs, ["r1"]), "r1", folder)
    assert same.status == "Stable"
    save_baseline(runs, baselines, "feature", "r2")
    assert compare_baselines(folder, baselines / "feature")[0].status == "Regressed"
    with pytest.raises(FileNotFoundError, match="no baseline at"):
        compare(open_runs(runs, ["r2"]), "r2", baselines / "absent")
