"""Where does the reference stack's latency knee? linear_4 workflows under rising load.

Starts one throwaway deployment (embedded PostgreSQL, the OTLP sink, the stack with
`--workers` workers) and runs e2e_latency's linear_4 against it at each level, all in one run:

  closed loop  N = 1, 8, 32 workflows in flight (`--levels`); N = 1 is the seed's
               one-at-a-time scenario (`linear_4`), the others `linear_4@c<N>`;
  open loop    a sweep of arrival rates (`--rates`, workflows/s; by default 25 %, 50 %, 75 %,
               100 % and 125 % of the best closed-loop throughput), Poisson arrivals,
               latency from the intended start (`linear_4@r<R>`).

After the deployment stops, the run's Parquet is read with the same queries `spanbench run`
uses: p50 and p99 of e2e.workflow (queries/phase_stats.sql) and throughput, completed
workflows per second over the measured window (queries/e2e_throughput.sql). One line per level.

The knee, per mode, over its levels in increasing order L1 < L2 < ... with p99 latency P and
throughput X: the knee is the first level Li for which the step to Li+1 raises p99 by a larger
factor than it raises throughput,

    P(Li+1) / P(Li)  >  X(Li+1) / X(Li),

i.e. beyond Li more load buys proportionally more tail latency than work done. When no step
does, the knee lies beyond the highest level tried, and the script says so.

    python -m benchmarks.load_knee [--levels 1 8 32] [--rates 5 10 20] [--samples 100]
                                   [--workers 2]
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

from extract.analyse.analysis import phase_statistics
from extract.analyse.duckdb_runner import open_runs
from extract.store.runstore import RunStore, new_run_id
from instrument.drivers import e2e_latency
from instrument.drivers.base import DriverContext, RunSettings
from instrument.recorder import PhaseRecorder
from instrument.tracing import shutdown_tracing
from instrument.workload.load import LoadProfile
from spanbench.runner import job
from spanbench.runner.deployment import Deployment, deploy
from spanbench.vocabulary import Phase

SCENARIO = "linear_4"
RATE_FRACTIONS = (0.25, 0.5, 0.75, 1.0, 1.25)


@dataclass(frozen=True)
class Level:
    mode: str
    """closed or open."""
    value: float
    """N in flight, or workflows/s."""
    profile: LoadProfile


@dataclass(frozen=True)
class Figures:
    level: Level
    scenario: str
    n: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None
    throughput_per_s: float | None
    late_starts: int | None


def knee(figures: Sequence[Figures]) -> Figures | None:
    """The first level whose step to the next raises p99 by more than throughput (see the
    module docstring); None when no step does or a figure is missing."""
    for low, high in itertools.pairwise(figures):
        if not (low.p99_ms and high.p99_ms and low.throughput_per_s and high.throughput_per_s):
            return None
        if high.p99_ms / low.p99_ms > high.throughput_per_s / low.throughput_per_s:
            return low
    return None


class PrintedProgress:
    """A line when a level starts and every 25 workflows."""

    def plan(self, suite: str, total: int) -> None:
        pass

    def start(self, suite: str, scenario: str, total: int) -> None:
        self._total, self._done, self._began = total, 0, time.monotonic()
        print(f"  {scenario}: {total} workflows", flush=True)

    def advance(self, suite: str, scenario: str) -> None:
        self._done += 1
        if self._done % 25 == 0 or self._done == self._total:
            print(f"  {scenario}: {self._done}/{self._total} "
                  f"({time.monotonic() - self._began:.0f} s)", flush=True)


def _run_level(deployment: Deployment, provider: TracerProvider | None, run_id: str, level: Level,
               samples: int, warmup: int | None) -> e2e_latency.E2eOutcome:
    settings = RunSettings(run_id=run_id, samples=samples, warmup=warmup, load=level.profile)
    ctx = DriverContext(e2e_latency.SUITE, settings, job.driver_system(deployment),
                        PhaseRecorder(provider), progress=PrintedProgress())
    outcome = e2e_latency.run(ctx, workflows={SCENARIO: e2e_latency.SCENARIOS[SCENARIO]})
    ctx.recorder.flush()
    if ctx.failures:
        print(f"  {len(ctx.failures)} failed; first: {ctx.failures[0].error}", flush=True)
    return outcome


def measure(levels: Sequence[int], rates: Sequence[float] | None, samples: int,
            warmup: int | None, workers: int) -> tuple[str, Path, list[Level]]:
    """Run every level against one deployment; the run id, its runs folder and the levels."""
    home = Path(tempfile.mkdtemp(prefix="spanbench-load-knee-"))
    runs_dir = home / "runs"
    run_id = new_run_id()
    done: list[Level] = []
    with deploy(home, RunStore.at(runs_dir, home), workers=workers) as deployment:
        provider = job.driver_tracing(deployment)
        try:
            best = 0.0
            for n in levels:
                level = Level("closed", n, LoadProfile(concurrency=n))
                print(f"closed loop, {n} in flight", flush=True)
                outcome = _run_level(deployment, provider, run_id, level, samples, warmup)
                best = max(best, outcome.throughput(level.profile.scenario(SCENARIO)) or 0.0)
                done.append(level)
            if rates is None:
                rates = [round(best * fraction, 1) for fraction in RATE_FRACTIONS]
            for rate in rates:
                level = Level("open", rate, LoadProfile(rate_per_s=rate, seed=int(rate * 1000)))
                print(f"open loop, {rate:g} workflows/s (Poisson)", flush=True)
                _run_level(deployment, provider, run_id, level, samples, warmup)
                done.append(level)
        finally:
            if provider is not None:
                shutdown_tracing(provider, timeout_s=30)
        print("stopping the deployment (the sink writes the Parquet)…", flush=True)
    return run_id, runs_dir, done


def figures(run_id: str, runs_dir: Path, levels: Sequence[Level]) -> list[Figures]:
    connection = open_runs(runs_dir, [run_id])
    try:
        stats = {row.scenario: row for row in phase_statistics(connection, run_id)
                 if row.phase == Phase.E2E_WORKFLOW}
    finally:
        connection.close()
    throughput = {row["scenario"]: row for row in job.throughput(runs_dir, run_id)}
    result = []
    for level in levels:
        scenario = level.profile.scenario(SCENARIO)
        row, rate = stats.get(scenario), throughput.get(scenario, {})
        result.append(Figures(
            level, scenario, row.n if row else 0, row.errors if row else 0,
            None if row is None or math.isnan(row.p50_ns) else row.p50_ns / 1e6,
            None if row is None or row.p99_ns is None else row.p99_ns / 1e6,
            rate.get("throughput_per_s"), rate.get("late_starts")))
    return result


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def render(rows: Sequence[Figures]) -> str:
    lines = [f"{'mode':<6} {'level':>8} {'scenario':<16} {'n':>4} {'err':>4} {'p50 ms':>8} "
             f"{'p99 ms':>8} {'wf/s':>7} {'late':>5}"]
    for f in rows:
        unit = "" if f.level.mode == "closed" else "/s"
        lines.append(f"{f.level.mode:<6} {f'{f.level.value:g}{unit}':>8} {f.scenario:<16} "
                     f"{f.n:>4} {f.errors:>4} {_ms(f.p50_ms):>8} {_ms(f.p99_ms):>8} "
                     f"{_ms(f.throughput_per_s):>7} "
                     f"{'—' if f.late_starts is None else f.late_starts:>5}")
    for mode in ("closed", "open"):
        chosen = [f for f in rows if f.level.mode == mode]
        if len(chosen) < 2:
            continue
        found = knee(chosen)
        if found is None:
            lines.append(f"knee ({mode} loop): not within the levels tried "
                         f"(p99 never grew faster than throughput, or a p99 is missing)")
        else:
            unit = " in flight" if mode == "closed" else " workflows/s"
            lines.append(f"knee ({mode} loop): {found.level.value:g}{unit} — beyond it p99 "
                         f"grows faster than throughput")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32],
                        help="closed-loop workflows in flight (default 1 8 32)")
    parser.add_argument("--rates", type=float, nargs="+", default=None,
                        help="open-loop workflows/s (default: fractions of the best "
                             "closed-loop throughput)")
    parser.add_argument("--samples", type=int, default=100,
                        help="measured workflows per level (p99 needs 100)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="warm-up workflows per level (default: N, or 1 s of arrivals)")
    parser.add_argument("--workers", type=int, default=2, help="stack workers (8 steps each)")
    args = parser.parse_args(argv)
    before = os.getloadavg()[0]
    run_id, runs_dir, levels = measure(sorted(args.levels), args.rates and sorted(args.rates),
                                       args.samples, args.warmup, args.workers)
    print(f"run {run_id} in {runs_dir}")
    print(f"stack: 1 orchestrator, {args.workers} workers × 8 concurrent steps; "
          f"{os.cpu_count()} cores, 1-min load average {before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after (others' work on the machine skews the figures)")
    measured = figures(run_id, runs_dir, levels)
    print(render(measured))
    if not any(f.n for f in measured):
        print("no level has samples: the run stored no e2e spans (see the export errors above)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
