"""Baselines: run-level comparisons with known answers, the floors, a Parquet round trip, and
baselines that combine runs."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.analyse.baseline_compare import (
    add_runs,
    compare,
    compare_baselines,
    compare_tables,
    save_baseline,
)
from extract.analyse.duckdb_runner import open_runs
from extract.analyse.run_level import Spread
from tests.fake_runs import T0, write_run_json, write_spans

MS = 1_000_000

Blocks = list[list[float]]
"""A run's samples in ms, block by block."""


def _side(runs: dict[str, Blocks], suite: str = "s") -> pa.Table:
    rows = [{"run_id": run_id, "suite": suite, "scenario": "x", "variant": None, "phase": "p",
             "block": block, "duration_ns": value * MS}
            for run_id, blocks in runs.items()
            for block, values in enumerate(blocks) for value in values]
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("run_id", pa.string()), ("suite", pa.string()), ("scenario", pa.string()),
        ("variant", pa.string()), ("phase", pa.string()), ("block", pa.int32()),
        ("duration_ns", pa.float64())]))


def _steady(centre_ms: float, blocks: int = 5, per_block: int = 2000) -> Blocks:
    """A run whose samples hardly vary: ±0.1% around `centre_ms` in every block."""
    return [[centre_ms * (1 + (i % 3 - 1) * 0.001) for i in range(per_block)]
            for _ in range(blocks)]


def _five_noisy_runs() -> dict[str, Blocks]:
    """Five steady runs of the same code whose values differ by up to 8% from run to run."""
    return {"a": _steady(100), "b": _steady(92), "c": _steady(108), "d": _steady(96),
            "e": _steady(104)}


CALIBRATED = {("s", "x", None, "p"): Spread(0.01, 8, "runs of its history", 0.02)}
"""A history of eight steady runs: enough runs to decide, a spread below the floor."""


def test_a_shift_inside_the_run_to_run_spread_is_not_a_regression() -> None:
    """10 000 samples a run: any test on samples would call +8% certain; between runs of the
    same code the value moves as much, so it is not Regressed (it is above the 5% floor and
    within the measured spread: Unstable)."""
    [result] = compare_tables(_side(_five_noisy_runs()), _side({"now": _steady(108)}))
    assert result.change == pytest.approx(0.08)
    # runs at 100 92 108 96 104: deviations 0 8 8 4 4 around 100, MAD 4, a robust spread of
    # 5.9%; the logarithms' standard deviation is wider, 6.54% (about √(160 / 4) = 6.3 around
    # 100), and stands
    assert result.spread == pytest.approx(0.06543, rel=1e-3)
    # one benchmark, five runs: Student's t at 0.95, 4 degrees of freedom, × √(1 + π/10) (one
    # run against the median of five)
    assert result.threshold == pytest.approx(2.4439 * 0.06543, rel=1e-3)
    assert (result.status, result.decides) == ("Unstable", True)
    assert result.note == "16.0% = 2.44 × spread 6.5% over 5 baseline runs"
    assert (result.n_baseline, result.n_current, result.baseline_runs) == (25, 5, 5)


def test_a_shift_well_beyond_the_spread_is_found() -> None:
    baseline = _side(_five_noisy_runs())
    [slower] = compare_tables(baseline, _side({"now": _steady(150)}))
    assert (slower.status, slower.change) == ("Regressed", pytest.approx(0.5))
    [faster] = compare_tables(baseline, _side({"now": _steady(60)}))
    assert faster.status == "Improved"


def test_one_run_cannot_show_how_far_runs_move() -> None:
    """However steady one run's blocks, a baseline of one run without a history decides
    nothing: +50% is Unstable, and the note says what is missing."""
    [result] = compare_tables(_side({"b": _steady(100)}), _side({"now": _steady(150)}))
    assert (result.status, result.decides, result.baseline_runs) == ("Unstable", False, 1)
    assert result.note.endswith("undecided: needs 3 runs of the same code")
    [calibrated] = compare_tables(_side({"b": _steady(100)}), _side({"now": _steady(150)}),
                                  history=CALIBRATED)
    assert (calibrated.status, calibrated.decides) == ("Regressed", True)


def test_drift_within_a_run_widens_the_bar() -> None:
    drifting = [[v] * 20 for v in (100.0, 104, 108, 112, 116)]
    shifted = [[v * 1.06] * 20 for v in (100.0, 104, 108, 112, 116)]
    [result] = compare_tables(_side({"base": drifting}), _side({"now": shifted}),
                              history=CALIBRATED)
    # blocks deviate 8, 4, 0, 4, 8 from 108: median 4/108, a sigma of 5.49%, a bar of 11%
    assert result.spread == pytest.approx(1.4826 * 4 / 108)
    assert result.status == "Unstable"
    steady = [[100.0] * 20] * 5
    [flat] = compare_tables(_side({"base": steady}), _side({"now": [[106.0] * 20] * 5}),
                            history=CALIBRATED)
    assert (flat.status, flat.threshold, flat.spread) == ("Regressed", 0.05, 0.01)


def test_the_floor_is_the_suites_noise_threshold() -> None:
    base, ten = [[100.0] * 20] * 5, [[110.0] * 20] * 5
    history = {("sql_functions", *key[1:]): spread for key, spread in CALIBRATED.items()}
    [sql] = compare_tables(_side({"b": base}, "sql_functions"), _side({"n": ten}, "sql_functions"),
                           history=history)
    assert (sql.status, sql.threshold) == ("Stable", 0.15)
    [strict] = compare_tables(_side({"b": base}, "sql_functions"),
                              _side({"n": ten}, "sql_functions"), {"sql_functions": 0.02},
                              history=history)
    assert strict.status == "Regressed"
    [same] = compare_tables(_side({"b": base}), _side({"n": base}))
    assert (same.status, same.change) == ("Stable", 0.0)


def test_the_history_spread_widens_the_bar() -> None:
    base, now = _side({"b": [[100.0] * 20] * 5}), _side({"n": [[110.0] * 20] * 5})
    history = {("s", "x", None, "p"): Spread(0.06, 8, "runs of its history", 0.07)}
    [result] = compare_tables(base, now, history=history)
    # Student's t at 0.95 with 7 degrees of freedom (1.895) × √2: one run against one
    assert (result.status, result.threshold) == ("Unstable", pytest.approx(0.06 * 2.6793,
                                                                           rel=1e-4))
    assert result.note == "16.1% = 2.68 × spread 6.0% over 8 runs of its history"


def test_the_history_counts_when_it_has_more_runs_than_the_baseline() -> None:
    baseline = _side(_five_noisy_runs())
    few = {("s", "x", None, "p"): Spread(0.5, 4, "runs of its history", 0.9)}
    many = {("s", "x", None, "p"): Spread(0.01, 12, "runs of its history", 0.02)}
    [base_runs] = compare_tables(baseline, _side({"now": _steady(108)}), history=few)
    assert base_runs.note == "16.0% = 2.44 × spread 6.5% over 5 baseline runs"
    [history] = compare_tables(baseline, _side({"now": _steady(108)}), history=many)
    assert history.note.startswith("5% (floor; spread")
    assert history.status == "Regressed"


def test_the_median_of_three_current_runs_calls_what_one_run_cannot() -> None:
    """The history's runs move 20%: against a baseline of one run, +45% in one run is within
    its bar (2.45 spreads, 48.9%), in the median of three runs beyond theirs (2.08 spreads,
    41.6%); one wild run of three moves nothing."""
    baseline = _side({"b": _steady(100)})
    history = {("s", "x", None, "p"): Spread(0.2, 20, "runs of its history", 0.2)}
    [one] = compare_tables(baseline, _side({"n1": _steady(145)}), history=history)
    assert (one.status, one.threshold) == ("Unstable", pytest.approx(0.4891, rel=1e-3))
    three = {"n1": _steady(145), "n2": _steady(146), "n3": _steady(144)}
    [median_of_3] = compare_tables(baseline, _side(three), history=history)
    assert median_of_3.threshold == pytest.approx(0.4162, rel=1e-3)
    assert median_of_3.status == "Regressed"
    assert median_of_3.note.endswith("(current: median of 3 runs)")
    wild = {"n1": _steady(101), "n2": _steady(300), "n3": _steady(99)}
    [unmoved] = compare_tables(baseline, _side(wild), history=history)
    assert unmoved.status == "Stable"


def _run(runs_dir: Path, run_id: str, values_ms: list[float]) -> None:
    calls = [(int(v * MS), "Unset", False) for v in values_ms]
    calls += [(999 * MS, "Error", False), (999 * MS, "Unset", True)]  # failed, warm-up
    write_spans(runs_dir, run_id, [
        {"Duration": duration, "SpanAttributes": {}, "StatusCode": status, "RunId": run_id,
         "Suite": "s", "Scenario": "x", "Phase": "p", "Warmup": warmup,
         "Timestamp": T0.timestamp() * 1e9 + i * 1000, "SpanId": f"{i:016x}"}
        for i, (duration, status, warmup) in enumerate(calls)], part="00000")
    write_run_json(runs_dir, run_id,
                   {"commit": f"c-{run_id}", "started_at": "2026-11-29T23:00:00+00:00"})


def test_blocks_follow_time_order(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _run(runs, "r1", [10.0 + i for i in range(20)])  # later samples are slower
    table = pq.read_table(save_baseline(runs, tmp_path / "b", "main", "r1") / "samples.parquet")
    blocks = {}
    for block, value in zip(table.column("block").to_pylist(),
                            table.column("duration_ns").to_pylist(), strict=True):
        blocks.setdefault(block, []).append(value / MS)
    assert blocks == {0: [10.0, 11, 12, 13], 1: [14.0, 15, 16, 17], 2: [18.0, 19, 20, 21],
                      3: [22.0, 23, 24, 25], 4: [26.0, 27, 28, 29]}
    _run(runs, "r2", [10.0 + i for i in range(5)])  # fewer than 2 × 3 samples: one block
    table = pq.read_table(save_baseline(runs, tmp_path / "b", "small", "r2") / "samples.parquet")
    assert set(table.column("block").to_pylist()) == {0}


def test_a_baseline_round_trip_through_parquet(tmp_path: Path) -> None:
    runs, baselines = tmp_path / "runs", tmp_path / "baselines"
    _run(runs, "r1", [10.0 + i * 0.1 for i in range(20)])
    _run(runs, "r2", [20.0 + i * 0.1 for i in range(20)])
    folder = save_baseline(runs, baselines, "main", "r1")
    assert folder == baselines / "main"
    metadata = json.loads((folder / "baseline.json").read_text())
    assert (metadata["run_id"], metadata["commit"], metadata["samples"]) == ("r1", "c-r1", 20)
    assert [run["run_id"] for run in metadata["runs"]] == ["r1"]
    [result] = compare(open_runs(runs, ["r2"]), ["r2"], folder)
    assert (result.status, result.n_baseline, result.n_current) == ("Unstable", 5, 5)
    assert result.baseline_median_ns == pytest.approx(10.95e6)
    [same] = compare(open_runs(runs, ["r1"]), ["r1"], folder)
    assert same.status == "Stable"
    save_baseline(runs, baselines, "feature", "r2")
    assert compare_baselines(folder, baselines / "feature")[0].status == "Unstable"
    with pytest.raises(FileNotFoundError, match="no baseline at"):
        compare(open_runs(runs, ["r2"]), ["r2"], baselines / "absent")


def test_a_baseline_combines_runs(tmp_path: Path) -> None:
    runs, baselines = tmp_path / "runs", tmp_path / "baselines"
    for run_id, centre in (("r1", 10.0), ("r2", 11.0), ("r3", 12.0)):
        _run(runs, run_id, [centre] * 20)
    folder = add_runs(runs, baselines, "main", ["r1", "r2"])
    add_runs(runs, baselines, "main", ["r3", "r2"])  # r2 again: replaced, not doubled
    metadata = json.loads((folder / "baseline.json").read_text())
    assert [run["run_id"] for run in metadata["runs"]] == ["r1", "r3", "r2"]
    assert (metadata["run_id"], metadata["samples"]) == ("r2", 60)
    [result] = compare(open_runs(runs, ["r1"]), ["r1"], folder)
    assert (result.baseline_runs, result.n_baseline) == (3, 15)
    assert result.baseline_median_ns == pytest.approx(11e6)
    # runs at 10, 11 and 12: spread 1.4826 × 1/11, Student's t (2 degrees of freedom) × √(1 +
    # 0.4487), one run against the median of three: a bar of 47%; r1 is 9.1% faster
    assert (result.status, result.threshold) == ("Unstable",
                                                 pytest.approx(3.5145 * 1.4826 / 11, rel=1e-4))
    assert result.decides


def test_a_baseline_saved_before_repetitions_reads_as_one_block(tmp_path: Path) -> None:
    runs, folder = tmp_path / "runs", tmp_path / "baselines" / "old"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"suite": ["s"] * 3, "scenario": ["x"] * 3,
                             "variant": pa.array([None] * 3, pa.string()), "phase": ["p"] * 3,
                             "duration_ns": [9e6, 10e6, 11e6]}), folder / "samples.parquet")
    (folder / "baseline.json").write_text(json.dumps({"name": "old", "run_id": "r0",
                                                      "commit": "c", "samples": 3}))
    _run(runs, "r1", [10.0] * 20)
    [result] = compare(open_runs(runs, ["r1"]), ["r1"], folder)
    assert (result.status, result.n_baseline, result.baseline_runs) == ("Stable", 1, 1)
