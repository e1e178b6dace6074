"""How fast are the sql_functions datasets seeded? Bulk load of 100k tasks (≈ 500k steps, 480k
edges, 1.8M step and 440k task transitions) by default, with the per-phase breakdown.

Uses DATABASE_URL when set (it must hold the stack's schema), else a throwaway cluster
(durable settings unless --relaxed), migrated here. Each size is seeded, settled with
VACUUM (ANALYZE) as the driver does, and deleted again.

    python -m benchmarks.dataset_seeding [--sizes 100000] [--workers 2] [--no-fk] [--relaxed]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from instrument.workload import datasets
from stack.local import migrate, postgres


def _seed(url: str, size: int, workers: int, fk_checks: bool) -> None:
    started = time.perf_counter()
    dataset = datasets.seed_dataset(url, size, workers=workers, fk_checks=fk_checks)
    with datasets.shielded(url, dataset, drop_after=False):
        pass
    ready = time.perf_counter() - started
    dropped_at = time.perf_counter()
    datasets.drop_dataset(url, fk_checks=fk_checks)
    dropped = time.perf_counter() - dropped_at
    rows = sum(dataset.counts.values())
    phases = "  ".join(f"{k} {v:.2f}" for k, v in dataset.seconds.items())
    print(f"{size:>7} tasks, {rows:>9,} rows: seeded and settled in {ready:6.2f} s "
          f"({rows / ready:,.0f} rows/s); drop {dropped:.2f} s\n        {phases}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated task counts")
    parser.add_argument("--workers", type=int, default=2, help="parallel load slices")
    parser.add_argument("--no-fk", action="store_true",
                        help="load with session_replication_role = replica (superuser)")
    parser.add_argument("--relaxed", action="store_true",
                        help="throwaway cluster with fsync and synchronous_commit off")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    url = os.environ.get("DATABASE_URL")
    home: Path | None = None
    if url is None:
        home = Path(tempfile.mkdtemp(prefix="spanbench-seeding-"))
        url = postgres.ensure_started(home, relaxed=args.relaxed).database_url
        migrate.migrate(url)
    try:
        for size in sizes:
            _seed(url, size, args.workers, not args.no_fk)
    finally:
        if home is not None:
            postgres.remove(home)


if __name__ == "__main__":
    main()
