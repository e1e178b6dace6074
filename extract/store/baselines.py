"""Baselines: a run's raw per-call samples kept under a name (compared in
extract/analyse/baseline_compare.py).

A baseline is a folder `baselines_dir/<name>/` with `samples.parquet` (suite, scenario, variant,
phase, duration_ns: one row per successful, non-warm-up sample) and `baseline.json` (name, run
id, commit, run date, saved at, samples).
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


def load_samples(baseline_dir: Path) -> pa.Table:
    """A baseline's samples.parquet."""
    return pq.read_table(Path(baseline_dir) / SAMPLES)
