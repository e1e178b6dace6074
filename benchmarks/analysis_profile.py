"""Where analysis_scale's DuckDB analysis spends its time: each step's median CPU and wall time.

The steps are those of benchmarks/analysis_scale.duckdb_analysis, in its order: open_runs, the
statistics queries, and e2e_analysis taken apart (its cached tables, then each query over
them). Same data (analysis_scale.synthesize, same seed); same venv as analysis_scale (numpy):

    /tmp/pandas-venv/bin/python -m benchmarks.analysis_profile [--spans 1000000] [--repeats 5]

CPU time counts all of DuckDB's threads; on a shared machine it moves less than wall time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

import queries
from benchmarks.analysis_scale import RUN, synthesize
from extract.analyse import attribution, breakdown
from extract.analyse.duckdb_runner import open_runs
from spanbench.vocabulary import Suite


class Steps:
    """Each named step's CPU and wall times, over the repeats."""

    def __init__(self) -> None:
        self.times: dict[str, list[tuple[float, float]]] = {}

    def run(self, name: str, step: Callable[[], Any]) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        result = step()
        self.times.setdefault(name, []).append(
            (time.process_time() - cpu, time.perf_counter() - wall))
        return result

    def report(self) -> str:
        lines = [f"{'step':<34} {'CPU s':>7} {'wall s':>7}"]
        for name, pairs in self.times.items():
            lines.append(f"{name:<34} {statistics.median(c for c, _ in pairs):7.3f} "
                         f"{statistics.median(w for _, w in pairs):7.3f}")
        return "\n".join(lines)


def profile_once(runs: Path, steps: Steps) -> None:
    loaded = queries.load()
    con = steps.run("open_runs", lambda: open_runs(runs, [RUN], connection=duckdb.connect(),
                                                          in_memory=True))
    for name in ("phase_summary", "phase_stats"):
        steps.run(name, lambda name=name: con.execute(loaded[name].sql,
                                                      {"run_id": RUN}).fetchall())
    steps.run("worker_phases", lambda: con.execute(
        loaded["worker_phases"].sql, {"run_id": RUN, "suite": Suite.E2E_LATENCY}).fetchall())
    con.execute(loaded[breakdown.MACROS].sql)
    for macro, table in breakdown._CACHED:
        if macro == breakdown.ATTRIBUTION:
            steps.run(f"e2e_analysis: {macro} (numpy)",
                      lambda table=table: attribution.attribute(con, RUN, table))
        else:
            steps.run(f"e2e_analysis: {macro}", lambda macro=macro, table=table: con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {macro}($run_id)",
                {"run_id": RUN}))
        con.execute(f"CREATE OR REPLACE TEMP MACRO {macro}(run) AS TABLE SELECT * FROM {table}")
    steps.run("e2e_breakdown", lambda: breakdown.e2e_breakdown(con, RUN, macros=False))
    steps.run("e2e_completeness", lambda: breakdown.trace_completeness(con, RUN, macros=False))
    steps.run("e2e_lifecycle", lambda: breakdown.lifecycle_counts(con, RUN, macros=False))
    steps.run("e2e_workflow_breakdown (Arrow)",
              lambda: breakdown.workflow_breakdown_table(con, RUN, macros=False))
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the Parquet")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        runs = Path(scratch)
        written = synthesize(args.spans, runs, np.random.default_rng(5))
        steps = Steps()
        for _ in range(args.repeats):
            profile_once(runs, steps)
        print(f"duckdb {duckdb.__version__}; {written:,} spans; median of {args.repeats}")
        print(steps.report())


if __name__ == "__main__":
    main()
