"""Baselines: a run's raw per-call samples kept under a name (compared in
extract/analyse/baseline_compare.py).

A baseline is a folder `baselines_dir/<name>/` with `samples.parquet` (run_id, suite, scenario,
variant, phase, block, duration_ns: one row per successful, non-warm-up sample of each run it
holds, `block` its repetition within the run) and `baseline.json` (name; run_id, commit and
date of the newest run; saved_at; samples; `runs`: run_id, commit, date, samples of each run).
A baseline saved before repetitions (no run_id or block column, no `runs`) reads as its one run
in one block.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from spanbench import strict_json
from spanbench.security import check_name, contained

SAMPLES = "samples.parquet"
METADATA = "baseline.json"


def write_baseline(baselines_dir: Path, name: str, samples: pa.Table,
                   metadata: dict[str, Any]) -> Path:
    """Keep `samples` and `metadata` as baseline `name`; returns its folder."""
    folder = contained(Path(baselines_dir), check_name(name, "baseline name"))
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(samples, folder / SAMPLES)
    (folder / METADATA).write_text(strict_json.dumps(metadata, indent=2) + "\n")
    return folder


def load_metadata(baseline_dir: Path) -> dict:
    """A baseline's baseline.json (name, run_id, commit, date, saved_at, samples)."""
    path = Path(baseline_dir) / METADATA
    if not path.is_file():
        raise FileNotFoundError(f"no baseline at {baseline_dir} (expected {METADATA}): "
                                "save one with 'spanbench run --save-baseline NAME'")
    return json.loads(path.read_text())


def baseline_runs(baseline_dir: Path) -> list[dict]:
    """The runs a baseline holds (run_id, commit, date, samples), oldest added first."""
    metadata = load_metadata(baseline_dir)
    if "runs" in metadata:
        return list(metadata["runs"])
    return [{key: metadata.get(key) for key in ("run_id", "commit", "date", "samples")}]


def load_samples(baseline_dir: Path) -> pa.Table:
    """A baseline's samples.parquet, with run_id and block even where it was saved without."""
    table = pq.read_table(Path(baseline_dir) / SAMPLES)
    if "run_id" not in table.column_names:
        run_id = str(load_metadata(baseline_dir).get("run_id"))
        table = table.add_column(0, "run_id", pa.array([run_id] * table.num_rows, pa.string()))
    if "block" not in table.column_names:
        table = table.append_column("block", pa.array([0] * table.num_rows, pa.int32()))
    return table.select(["run_id", "suite", "scenario", "variant", "phase", "block",
                         "duration_ns"])
