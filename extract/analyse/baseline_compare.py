"""A later run compared with a baseline on run-level values (extract/analyse/run_level.py).

Each side is a set of runs, each run a set of repetitions: its samples of a benchmark cut into
up to BLOCKS contiguous blocks in time order (queries/baseline_samples.sql), each block's median
a repetition (queries/baseline_repetitions.sql). The change is the current side's value against
the baseline's; it counts only beyond a prediction bound set by the benchmark's measured
spread between runs of the same code (the baseline's, or the history's on the same host) and
how many runs it rests on (run_level.threshold), floored by the noise threshold
(extract.analyse.noise); without such a spread nothing is called. No p-value is computed: the
samples of one run are not independent draws of what varies between runs. Baselines are kept
by extract/store/baselines.py and may combine several runs (`add_runs`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

import queries
from extract.analyse import run_level
from extract.analyse.duckdb_runner import Runs, open_runs
from extract.analyse.noise import noise_thresholds
from extract.store.baselines import (
    METADATA,
    baseline_runs,
    load_metadata,
    load_samples,
    write_baseline,
)
from extract.store.runstore import RunStore
from spanbench.security import check_name

BLOCKS = 5
"""Most repetitions a run's samples of one benchmark are cut into."""
MIN_BLOCK_SAMPLES = 3
"""Fewest samples in a repetition (a benchmark with fewer than 2 × this has one)."""

BenchmarkKey = tuple[str, str, str | None, str]
"""(suite, scenario, variant, phase)."""


@dataclass(frozen=True)
class Comparison:
    """One (suite, scenario, variant, phase) on both sides; change = current / baseline - 1."""

    suite: str
    scenario: str
    variant: str | None
    phase: str
    baseline_median_ns: float
    """Median of the baseline runs' values (a run's value: the median of its block medians)."""
    current_median_ns: float
    """The same over the current side's runs (one run, unless two baselines are compared)."""
    change: float
    status: str
    """Improved, Stable, Regressed or Unstable (run_level.verdict)."""
    n_baseline: int
    """Repetitions (blocks) on the baseline side, over all its runs."""
    n_current: int
    threshold: float
    spread: float | None
    """The widest spread known, as a fraction (None: too few repetitions to tell)."""
    note: str
    """How the threshold was set, e.g. "58.7% = 4.89 × spread 12.0% over 20 runs of its
    history"."""
    baseline_runs: int
    decides: bool = True
    """Whether the threshold rests on enough runs of the same code to call a change
    (run_level.MIN_VALUES); when not, a change beyond the floor is Unstable."""
    spread_runs: int = 0
    """How many runs of the same code the run-to-run spread came from (0: none known)."""
    disturbed: str = ""
    """Why no change is called, when the current run's machine was busy elsewhere during the
    suite (extract.analyse.disturbance); empty otherwise."""
    confirmation: str = ""
    """For a row Regressed at first: what the runs made to confirm it measured, and whether
    they did (extract.analyse.confirmation); empty otherwise."""

    @property
    def key(self) -> BenchmarkKey:
        return (self.suite, self.scenario, self.variant, self.phase)


def run_samples(con: duckdb.DuckDBPyConnection, run_id: str) -> pa.Table:
    """Run `run_id`'s samples with their blocks (over the connection's `spans` view)."""
    return con.sql(queries.load()["baseline_samples"].sql, params={
        "run_id": run_id, "blocks": BLOCKS, "min_block": MIN_BLOCK_SAMPLES}).to_arrow_table()


def _runs_samples(runs_dir: Runs, run_ids: Sequence[str]) -> tuple[RunStore, pa.Table]:
    store = RunStore.at(runs_dir)
    con = open_runs(store, list(run_ids))
    try:
        tables = [run_samples(con, run_id) for run_id in run_ids]
    finally:
        con.close()
    return store, pa.concat_tables(tables)


def _run_entry(store: RunStore, run_id: str, samples: pa.Table) -> dict:
    run = store.record(run_id)
    return {"run_id": run_id, "commit": run.commit,
            "date": None if run.started_at is None else run.started_at.isoformat(),
            "samples": sum(1 for r in samples.column("run_id").to_pylist() if r == run_id)}


def _metadata(name: str, entries: list[dict], samples: int) -> dict:
    newest = entries[-1]
    return {"name": name, "run_id": newest["run_id"], "commit": newest["commit"],
            "date": newest["date"], "saved_at": datetime.now(UTC).isoformat(),
            "samples": samples, "runs": entries}


def save_baseline(runs_dir: Runs, baselines_dir: Path, name: str, run_id: str) -> Path:
    """Keep run `run_id`'s samples as baseline `name`, replacing what it held; its folder."""
    check_name(name, "baseline name")  # before anything is read
    store, table = _runs_samples(runs_dir, [run_id])
    entries = [_run_entry(store, run_id, table)]
    return write_baseline(baselines_dir, name, table, _metadata(name, entries, table.num_rows))


def add_runs(runs_dir: Runs, baselines_dir: Path, name: str, run_ids: Sequence[str]) -> Path:
    """Add runs to baseline `name` (created when absent); a run it holds already is replaced."""
    check_name(name, "baseline name")
    store, added = _runs_samples(runs_dir, run_ids)
    folder = Path(baselines_dir) / name
    entries: list[dict] = []
    if (folder / METADATA).is_file():
        entries = [e for e in baseline_runs(folder) if e["run_id"] not in run_ids]
        kept = pa.array([e["run_id"] for e in entries], pa.string())
        old = load_samples(folder)
        old = old.filter(pc.is_in(old.column("run_id"), kept))
        added = pa.concat_tables([old.select(added.column_names).cast(added.schema), added])
    entries += [_run_entry(store, run_id, added) for run_id in run_ids]
    return write_baseline(baselines_dir, name, added, _metadata(name, entries, added.num_rows))


def compare(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str], baseline_dir: Path,
            thresholds: Mapping[str, float] | None = None,
            history: Mapping[BenchmarkKey, run_level.Spread] | None = None) -> list[Comparison]:
    """Runs `run_ids` (over the connection's `spans` view; several: judged by their median)
    against the baseline in `baseline_dir`; `history` gives a benchmark's spread over its past
    runs (extract.analyse.calibration)."""
    load_metadata(baseline_dir)
    current = pa.concat_tables([run_samples(con, run_id) for run_id in run_ids])
    return compare_tables(load_samples(baseline_dir), current, thresholds, history)


def compare_baselines(base_dir: Path, current_dir: Path,
                      thresholds: Mapping[str, float] | None = None,
                      history: Mapping[BenchmarkKey, run_level.Spread] | None = None
                      ) -> list[Comparison]:
    """Two saved baselines against each other (`spanbench compare BASE CURRENT`)."""
    load_metadata(base_dir)
    load_metadata(current_dir)
    return compare_tables(load_samples(base_dir), load_samples(current_dir), thresholds,
                          history)


def repetitions(samples: pa.Table) -> dict[BenchmarkKey, dict[str, list[float]]]:
    """Per benchmark, each run's block medians in block order (queries/baseline_repetitions)."""
    con = duckdb.connect()
    try:
        con.register("samples", samples)
        rows = con.execute(queries.load()["baseline_repetitions"].sql).fetchall()
    finally:
        con.close()
    result: dict[BenchmarkKey, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for suite, scenario, variant, phase, run_id, _block, median_ns, _n in rows:
        result[(suite, scenario, variant, phase)][run_id].append(median_ns)
    return result


def _side_value(runs: Mapping[str, list[float]]) -> float:
    return median(run_level.run_value(blocks) for blocks in runs.values())


def compare_tables(baseline: pa.Table, current: pa.Table,
                   thresholds: Mapping[str, float] | None = None,
                   history: Mapping[BenchmarkKey, run_level.Spread] | None = None
                   ) -> list[Comparison]:
    """Two tables of samples (baseline_samples' columns) compared on run-level values.

    `thresholds` maps a suite to its floor (a fraction; key "*" sets the default), merged over
    NOISE_THRESHOLDS and DEFAULT_NOISE.
    """
    return compare_repetitions(repetitions(baseline), repetitions(current), thresholds, history)


def compare_repetitions(base: Mapping[BenchmarkKey, Mapping[str, list[float]]],
                        now: Mapping[BenchmarkKey, Mapping[str, list[float]]],
                        thresholds: Mapping[str, float] | None = None,
                        history: Mapping[BenchmarkKey, run_level.Spread] | None = None,
                        family: int | None = None) -> list[Comparison]:
    """compare_tables on repetitions already grouped (`repetitions`' result for each side);
    `family`: how many benchmarks the false-alarm rate is shared by (default: those compared)."""
    noise, default = noise_thresholds(thresholds)
    compared = family or sum(1 for key in base if now.get(key))
    comparisons = []
    for key, base_runs in base.items():
        current_runs = now.get(key)
        if not current_runs:
            continue
        reference, value = _side_value(base_runs), _side_value(current_runs)
        bar = run_level.threshold(
            noise.get(key[0], default),
            run_level.block_spread([*base_runs.values(), *current_runs.values()]),
            run_level.best_known([
                run_level.between_runs([run_level.run_value(blocks)
                                        for blocks in base_runs.values()], "baseline runs"),
                (history or {}).get(key)]),
            compared, len(current_runs), len(base_runs))
        change = (value - reference) / reference if reference else float("nan")
        comparisons.append(Comparison(
            *key, baseline_median_ns=reference, current_median_ns=value, change=change,
            status=run_level.verdict(change, bar),
            n_baseline=sum(map(len, base_runs.values())),
            n_current=sum(map(len, current_runs.values())), threshold=bar.value,
            spread=None if bar.spread is None else bar.spread.value, note=bar.note(),
            baseline_runs=len(base_runs), decides=bar.decides,
            spread_runs=0 if bar.runs is None else bar.runs.count))
    return comparisons
