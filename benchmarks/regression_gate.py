"""Does the regression gate cry wolf, and does it catch a real slowdown? (issue 15)

Everything runs as a user would, through `spanbench run`, each run on a throwaway stack of its
own, in a fresh SPANBENCH_HOME (so its history starts empty and calibrates as it goes):

  baseline   `--baseline-runs` runs of `--suites`, kept as baseline `gate` with
             `spanbench baseline add`;
  A/A        `--pairs` more runs of the same code on the same machine, each with
             `--baseline gate`: a false alarm is a run in which any benchmark is Regressed
             (what makes `spanbench run --baseline` exit 1);
  injected   `--slowdowns` runs with SPANBENCH_FAULT_DELAY (test-only) making one phase
             `--slowdown` (20%) of its baseline median slower, each run the next benchmark of
             the baseline in turn: a detection is that benchmark Regressed. Where a phase name
             is shared by several scenarios of a suite, the delay is set by the one with the
             smallest median and hits the others by less; only the one it was set by counts.

The verdicts are recomputed in this process from each run's Parquet with the functions the
run's report uses (extract.analyse.baseline_compare, extract.analyse.calibration), so each
benchmark's status is known, not only the exit code. The A/A runs go first; the injected runs
enter the history as a real regression would.

    python -m benchmarks.regression_gate [--suites handler_overhead event_propagation]
        [--baseline-runs 3] [--pairs 20] [--slowdowns 10] [--slowdown 0.2] [--json FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from extract.analyse.baseline_compare import Comparison, compare
from extract.analyse.calibration import history_spreads
from extract.analyse.duckdb_runner import open_runs
from extract.reports.gather import host_name, run_record
from extract.store.runstore import RunStore, baselines_dir

BASELINE = "gate"
DEFAULT_SUITES = ("handler_overhead", "event_propagation")
CHILD_ENV_DROPPED = ("OTEL_", "TASKER_TEST_", "SPANBENCH_", "DATABASE_URL")
"""A child run starts its own stack: nothing of a deployment or of this shell leaks into it."""


@dataclass
class RunResult:
    kind: str
    run_id: str
    exit_code: int
    wall_s: float
    statuses: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    delay_ns: int | None = None


def benchmark_name(row: Comparison) -> str:
    variant = "" if row.variant is None else f"+{row.variant}"
    return f"{row.suite}/{row.scenario}{variant}/{row.phase}"


class Harness:
    """Runs `spanbench` in a home of its own and judges each run against the baseline."""

    def __init__(self, home: Path, suites: Sequence[str]) -> None:
        self.home = home
        self.suites = list(suites)
        self.store = RunStore.at(home / "runs")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(CHILD_ENV_DROPPED)}
        self.env["SPANBENCH_HOME"] = str(home)

    def spanbench(self, *args: str, extra_env: dict[str, str] | None = None
                  ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "spanbench", *args], cwd=self.home,
                              env={**self.env, **(extra_env or {})}, capture_output=True,
                              text=True, timeout=900, check=False)

    def run(self, kind: str, baseline: bool, extra_env: dict[str, str] | None = None
            ) -> RunResult:
        before = set(self.store.run_ids())
        args = ["run", *self.suites, "--output-dir", str(self.home / "reports")]
        started = time.monotonic()
        done = self.spanbench(*args, *(["--baseline", BASELINE] if baseline else []),
                              extra_env=extra_env)
        wall_s = time.monotonic() - started
        new = sorted(set(self.store.run_ids()) - before)
        if len(new) != 1 or done.returncode not in (0, 1):
            raise RuntimeError(f"spanbench run exited {done.returncode}, runs {new}:\n"
                               f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        result = RunResult(kind, new[0], done.returncode, wall_s)
        if baseline:
            result.statuses = {benchmark_name(row): row.status for row in self.judge(new[0])}
        return result

    def judge(self, run_id: str) -> list[Comparison]:
        host = host_name(run_record(self.store, run_id))
        con = open_runs(self.store, [run_id])
        try:
            return compare(con, run_id, baselines_dir(self.home) / BASELINE,
                           history=history_spreads(self.store, run_id, host))
        finally:
            con.close()

    def keep_baseline(self, run_ids: Sequence[str]) -> None:
        done = self.spanbench("baseline", "add", BASELINE, *run_ids)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)


def injection_targets(rows: Sequence[Comparison]) -> list[tuple[Comparison, str]]:
    """Each (suite, phase) once, with the benchmark whose median sets its delay, and its name."""
    smallest: dict[tuple[str, str], Comparison] = {}
    for row in rows:
        key = (row.suite, row.phase)
        if key not in smallest or row.baseline_median_ns < smallest[key].baseline_median_ns:
            smallest[key] = row
    return [(row, benchmark_name(row)) for row in smallest.values()]


def report(results: Sequence[RunResult], slowdown: float) -> dict:
    pairs = [r for r in results if r.kind == "A/A"]
    injected = [r for r in results if r.kind == "injected"]
    alarms = [r for r in pairs if "Regressed" in r.statuses.values()]
    verdicts = Counter(s for r in pairs for s in r.statuses.values())
    detected = [r for r in injected if r.statuses.get(r.target or "") == "Regressed"]
    summary = {
        "aa_pairs": len(pairs), "aa_false_alarms": len(alarms),
        "aa_exit_nonzero": sum(r.exit_code != 0 for r in pairs),
        "aa_verdicts": dict(verdicts),
        "injected_runs": len(injected), "injected_detected": len(detected),
        "injected_target_verdicts": dict(Counter(r.statuses.get(r.target or "", "absent")
                                                 for r in injected)),
        "slowdown": slowdown,
        "mean_run_wall_s": sum(r.wall_s for r in results) / max(len(results), 1),
        "total_wall_s": sum(r.wall_s for r in results),
    }
    print(f"A/A: {len(alarms)}/{len(pairs)} runs with a benchmark Regressed "
          f"(false-alarm rate {len(alarms) / max(len(pairs), 1):.0%}); "
          f"{summary['aa_exit_nonzero']} exited non-zero (a target or the baseline); "
          f"benchmark verdicts {dict(verdicts)}")
    print(f"injected +{slowdown:.0%}: {len(detected)}/{len(injected)} detected "
          f"({len(detected) / max(len(injected), 1):.0%}); target verdicts "
          f"{summary['injected_target_verdicts']}")
    print(f"wall time: {summary['total_wall_s']:.0f} s for {len(results)} runs "
          f"({summary['mean_run_wall_s']:.1f} s a run)")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", nargs="+", default=list(DEFAULT_SUITES))
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--slowdowns", type=int, default=10)
    parser.add_argument("--slowdown", type=float, default=0.2)
    parser.add_argument("--json", type=Path, help="Also write every run's verdicts here.")
    args = parser.parse_args(argv)
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="spanbench-gate-") as scratch:
        harness = Harness(Path(scratch), args.suites)
        for _ in range(args.baseline_runs):
            results.append(harness.run("baseline", baseline=False))
        harness.keep_baseline([r.run_id for r in results])
        for index in range(args.pairs):
            result = harness.run("A/A", baseline=True)
            results.append(result)
            regressed = sorted(k for k, s in result.statuses.items() if s == "Regressed")
            print(f"A/A {index + 1}/{args.pairs}: exit {result.exit_code}, "
                  f"{result.wall_s:.1f} s, regressed {regressed or 'none'}", flush=True)
        targets = injection_targets(harness.judge(results[-1].run_id))
        for index, (row, name) in zip(range(args.slowdowns), itertools.cycle(targets)):
            delay = round(args.slowdown * row.baseline_median_ns)
            result = harness.run("injected", baseline=True, extra_env={
                "SPANBENCH_FAULT_DELAY": f"{row.suite}/{row.phase}:{delay}"})
            result.target, result.delay_ns = name, delay
            results.append(result)
            print(f"injected {index + 1}/{args.slowdowns}: {name} +{delay} ns: "
                  f"{result.statuses.get(name, 'absent')}", flush=True)
    summary = report(results, args.slowdown)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary,
                                         "runs": [asdict(r) for r in results]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
