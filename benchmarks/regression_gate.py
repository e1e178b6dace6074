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
             A span of a batched phase (bench.batch_size calls) is delayed by the batch size
             times the slowdown of one call.

The delay hook is in the driver's recorder, so only phases the driver times (spans of service
spanbench-driver) can be slowed; the targets take the suites in turn.

The verdicts are recomputed in this process from each run's Parquet with the functions the
run's report uses (extract.analyse.baseline_compare, extract.analyse.calibration), so each
benchmark's status is known, not only the exit code; a run is judged on the history before it.
The A/A runs go first; the injected runs enter the history as a real regression would.

With `--home DIR` the runs are kept there, with a log of what each run was
(gate-runs.jsonl), and a later call with the same home adds runs to it (the baseline is made
once). `--rejudge` makes no run: it judges the runs of the log again with the code as it is
now, and also shifts each benchmark of each A/A run by `--slowdown` of its baseline value —
what the delay hook does to every sample, so to every block median — to count, for all
benchmarks and not only the hook's, which slowdowns the gate would catch. `--current-runs K`
judges the A/A runs in consecutive groups of K by their median, as `spanbench compare` judges a
candidate saved from K runs; a suite disturbed in any run of a group is set aside
(extract.analyse.disturbance).

    python -m benchmarks.regression_gate [--suites handler_overhead event_propagation]
        [--baseline-runs 3] [--pairs 20] [--slowdowns 10] [--slowdown 0.2] [--home DIR]
        [--json FILE]
    python -m benchmarks.regression_gate --rejudge --home DIR [--slowdown 0.2]
        [--current-runs 3] [--json FILE]
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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from statistics import median

import pyarrow as pa

from extract.analyse.baseline_compare import (
    BenchmarkKey,
    Comparison,
    compare_repetitions,
    repetitions,
    run_samples,
)
from extract.analyse.confirmation import confirm, confirming_runs
from extract.analyse.disturbance import disturbed_in, set_aside
from extract.analyse.duckdb_runner import open_runs
from extract.reports.gather import judge_runs, run_history_spreads
from extract.reports.model import scenario_name
from extract.store.baselines import load_samples
from extract.store.runstore import RunStore, baselines_dir
from spanbench.runner.job import SERVICE_NAME

BASELINE = "gate"
DEFAULT_SUITES = ("handler_overhead", "event_propagation")
CHILD_ENV_DROPPED = ("OTEL_", "TASKER_TEST_", "SPANBENCH_", "DATABASE_URL")
"""A child run starts its own stack: nothing of a deployment or of this shell leaks into it."""
RUNS_LOG = "gate-runs.jsonl"
REGRESSED = "Regressed"


@dataclass
class RunResult:
    kind: str
    run_id: str
    exit_code: int
    wall_s: float
    statuses: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    delay_ns: int | None = None
    set_aside: list[str] = field(default_factory=list)
    """Suites whose calls were set aside: the machine was busy elsewhere during them."""
    confirmations: list[str] = field(default_factory=list)
    """Runs `spanbench run` made to confirm its regressions (--confirm)."""


def benchmark_name(row: Comparison | BenchmarkKey) -> str:
    suite, scenario, variant, phase = row if isinstance(row, tuple) else row.key
    return f"{suite}/{scenario_name(scenario, variant)}/{phase}"


Repetitions = Mapping[BenchmarkKey, Mapping[str, list[float]]]


class Harness:
    """Runs `spanbench` in a home of its own and judges each run against the baseline."""

    def __init__(self, home: Path, suites: Sequence[str]) -> None:
        self.home = home
        self.suites = list(suites)
        self.store = RunStore.at(home / "runs")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(CHILD_ENV_DROPPED)}
        self.env["SPANBENCH_HOME"] = str(home)

    @property
    def baseline_dir(self) -> Path:
        return baselines_dir(self.home) / BASELINE

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
        confirming = [] if not new else confirming_runs(
            self.store.record(new[0]).confirmation, BASELINE)
        if not new or new[1:] != confirming or done.returncode not in (0, 1):
            raise RuntimeError(f"spanbench run exited {done.returncode}, runs {new}:\n"
                               f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        result = RunResult(kind, new[0], done.returncode, wall_s, confirmations=confirming)
        if baseline:
            result.statuses = statuses(self.judge([new[0]], confirming))
            result.set_aside = sorted(self.disturbed([new[0]]))
        return result

    def sides(self, run_ids: Sequence[str]) -> tuple[Repetitions, Repetitions]:
        """The baseline's repetitions and the runs'."""
        con = open_runs(self.store, list(run_ids))
        try:
            current = pa.concat_tables([run_samples(con, run_id) for run_id in run_ids])
        finally:
            con.close()
        return repetitions(load_samples(self.baseline_dir)), repetitions(current)

    def history(self, run_id: str) -> dict:
        """The history's spreads as they were when `run_id` started."""
        return run_history_spreads(self.store, run_id)

    def disturbed(self, run_ids: Sequence[str]) -> dict[str, str]:
        """Suite → why its calls are set aside, over the runs."""
        return disturbed_in(self.store.record(run_id).suites or {} for run_id in run_ids)

    def judge(self, run_ids: Sequence[str], confirming: Sequence[str] = ()
              ) -> list[Comparison]:
        """The runs (their median, when several) against the baseline, as `spanbench run`
        judges them (extract.reports.gather.judge_runs), with `confirming` as the runs that
        confirm a regression."""
        return judge_runs(self.store, run_ids, self.baseline_dir, BASELINE,
                          confirming=list(confirming))

    def driver_phases(self, run_id: str) -> dict[tuple[str, str], int]:
        """(suite, phase) of the phases the driver times in `run_id`, those the hook can slow,
        each with the most calls one of its spans covers (bench.batch_size; 1 for most)."""
        con = open_runs(self.store, [run_id])
        try:
            rows = con.execute("SELECT Suite, Phase, max(bench_batch_size(SpanAttributes)) "
                               "FROM spans WHERE ServiceName = ? AND Suite IS NOT NULL "
                               "AND Phase IS NOT NULL GROUP BY ALL", [SERVICE_NAME]).fetchall()
        finally:
            con.close()
        return {(suite, phase): int(batch) for suite, phase, batch in rows}

    def keep_baseline(self, run_ids: Sequence[str]) -> None:
        done = self.spanbench("baseline", "add", BASELINE, *run_ids)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)

    def log(self, result: RunResult) -> None:
        with (self.home / RUNS_LOG).open("a") as log:
            log.write(json.dumps(asdict(result)) + "\n")

    def logged(self) -> list[RunResult]:
        path = self.home / RUNS_LOG
        if not path.is_file():
            return []
        return [RunResult(**json.loads(line)) for line in path.read_text().splitlines() if line]


def statuses(rows: Sequence[Comparison]) -> dict[str, str]:
    return {benchmark_name(row): row.status for row in rows}


def injected_delay(row: Comparison, slowdown: float, batch_size: int = 1) -> int:
    """The delay (ns) that makes each call of `row`'s benchmark `slowdown` slower: the hook
    delays a span, and a span of a batched phase covers `batch_size` calls (its samples are
    the span's Duration / batch_size)."""
    return round(slowdown * row.baseline_median_ns * batch_size)


def injection_targets(rows: Sequence[Comparison], timed: Mapping[tuple[str, str], int] | None = None
                      ) -> list[tuple[Comparison, str]]:
    """Each (suite, phase) the driver times (`timed`; None: all) once, with the benchmark whose
    median sets its delay, and its name, the suites taken in turn."""
    smallest: dict[tuple[str, str], Comparison] = {}
    for row in rows:
        key = (row.suite, row.phase)
        if timed is not None and key not in timed:
            continue
        if key not in smallest or row.baseline_median_ns < smallest[key].baseline_median_ns:
            smallest[key] = row
    by_suite: dict[str, list[Comparison]] = {}
    for row in smallest.values():
        by_suite.setdefault(row.suite, []).append(row)
    in_turn = [row for group in itertools.zip_longest(*by_suite.values()) for row in group
               if row is not None]
    return [(row, benchmark_name(row)) for row in in_turn]


def shifted(runs: Mapping[str, list[float]], by_ns: float) -> dict[str, list[float]]:
    """A benchmark's repetitions with every sample `by_ns` slower: each block median moves by
    as much."""
    return {run_id: [value + by_ns for value in blocks] for run_id, blocks in runs.items()}


@dataclass(frozen=True)
class Simulated:
    """One benchmark of one A/A run shifted by the slowdown, and what the gate said."""

    run_id: str
    benchmark: str
    status: str
    threshold: float
    decides: bool
    runs: int = 0
    """How many runs of the same code its threshold rested on."""


def simulate(harness: Harness, run_ids: Sequence[str], slowdown: float,
             confirming: Sequence[str] = ()) -> Iterator[Simulated]:
    """Every benchmark of A/A runs `run_ids` (one, or several judged by their median),
    `slowdown` of its baseline value slower, one at a time, judged as the runs were; with
    `confirming`, those runs slowed alike confirm a regression (extract.analyse.confirmation).
    """
    base, now = harness.sides(run_ids)
    again = [harness.sides([run_id])[1] for run_id in confirming]
    history = harness.history(run_ids[0])
    disturbed = harness.disturbed(run_ids)
    disturbed_again = [harness.disturbed([run_id]) for run_id in confirming]
    family = sum(1 for key in now if key in base)

    def judged(key: BenchmarkKey, runs: Mapping[str, list[float]], reference: float,
               reasons: Mapping[str, str]) -> list[Comparison]:
        return set_aside(compare_repetitions(
            {key: base[key]}, {key: shifted(runs, slowdown * reference)}, history=history,
            family=family), reasons)

    for key, runs in now.items():
        if key not in base:
            continue
        reference = median(median(blocks) for blocks in base[key].values())
        [row] = confirm(judged(key, runs, reference, disturbed),
                        [judged(key, other[key], reference, reasons) if key in other else []
                         for other, reasons in zip(again, disturbed_again, strict=True)])
        yield Simulated(run_ids[0], benchmark_name(key), row.status, row.threshold, row.decides,
                        row.spread_runs)


def report(results: Sequence[RunResult], slowdown: float,
           simulated: Sequence[Simulated] = ()) -> dict:
    pairs = [r for r in results if r.kind == "A/A"]
    injected = [r for r in results if r.kind == "injected"]
    alarms = [r for r in pairs if REGRESSED in r.statuses.values()]
    verdicts = Counter(s for r in pairs for s in r.statuses.values())
    detected = [r for r in injected if r.statuses.get(r.target or "") == REGRESSED]
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
    disturbed = [r for r in pairs if r.set_aside]
    summary["aa_set_aside"] = len(disturbed)
    summary["aa_set_aside_suites"] = dict(Counter(s for r in disturbed for s in r.set_aside))
    print(f"A/A: {len(disturbed)}/{len(pairs)} had suites set aside as disturbed "
          f"{summary['aa_set_aside_suites']}")
    print(f"A/A: {len(alarms)}/{len(pairs)} runs with a benchmark Regressed "
          f"(false-alarm rate {len(alarms) / max(len(pairs), 1):.0%}); "
          f"{summary['aa_exit_nonzero']} exited non-zero (a target or the baseline); "
          f"benchmark verdicts {dict(verdicts)}")
    print(f"injected +{slowdown:.0%}: {len(detected)}/{len(injected)} detected "
          f"({len(detected) / max(len(injected), 1):.0%}); target verdicts "
          f"{summary['injected_target_verdicts']}")
    if simulated:
        summary.update(simulated_summary(simulated, slowdown))
    print(f"wall time: {summary['total_wall_s']:.0f} s for {len(results)} results (baseline "
          f"runs, comparisons) ({summary['mean_run_wall_s']:.1f} s a result)")
    return summary


def simulated_summary(simulated: Sequence[Simulated], slowdown: float) -> dict:
    caught = sum(s.status == REGRESSED for s in simulated)
    within = [s for s in simulated if s.decides and s.threshold < slowdown]
    within_caught = sum(s.status == REGRESSED for s in within)
    bars = sorted(s.threshold for s in simulated if s.decides)
    by_runs = {}
    for least in (3, 10, 15):
        known = [s for s in simulated if s.runs >= least]
        if known:
            by_runs[least] = (sum(s.status == REGRESSED for s in known), len(known),
                              median(s.threshold for s in known))
    summary = {
        "simulated": len(simulated), "simulated_detected": caught,
        "simulated_by_runs_known": {f"{least}+": {"detected": d, "of": n, "median_bar": bar}
                                    for least, (d, n, bar) in by_runs.items()},
        "simulated_undecided": sum(not s.decides for s in simulated),
        "simulated_bar_below_slowdown": len(within),
        "simulated_detected_bar_below_slowdown": within_caught,
        "simulated_median_bar": median(bars) if bars else None,
        "simulated_verdicts": dict(Counter(s.status for s in simulated)),
    }
    print(f"simulated +{slowdown:.0%} on every benchmark of every A/A run: {caught}/"
          f"{len(simulated)} Regressed ({caught / max(len(simulated), 1):.0%}); "
          f"{summary['simulated_undecided']} undecided (too few runs to know the spread); "
          f"of those whose threshold is below {slowdown:.0%} ({len(within)}): {within_caught} "
          f"caught; median threshold of the decided "
          + ("n/a" if not bars else f"{median(bars):.0%}"))
    for least, (detected, known, bar) in by_runs.items():
        print(f"  with {least} or more runs of the same code known: {detected}/{known} "
              f"({detected / known:.0%}) caught, median threshold {bar:.0%}")
    return summary


def rejudge(harness: Harness, slowdown: float, current_runs: int = 1,
            confirm_with_next: bool = False) -> tuple[list[RunResult], list[Simulated]]:
    """The log's runs judged again with the code as it is now, and the simulated shifts; with
    `current_runs` above 1, the A/A runs in consecutive groups of that many, each group judged
    by its median (as `spanbench compare` judges a baseline of several runs), unconfirmed.
    A single run's regressions are confirmed by the runs `spanbench run` made for them, or,
    with `confirm_with_next`, by the next A/A run of the log, for the real and the simulated
    ones alike (the last A/A run, without a next, is left out)."""
    results, simulated = [], []
    logged = harness.logged()
    aa = [result for result in logged if result.kind == "A/A"]
    proxies = {result.run_id: [following.run_id]
               for result, following in itertools.pairwise(aa)}
    groups = ([[result] for result in aa[:-1]] if confirm_with_next else
              [aa[i:i + current_runs] for i in range(0, len(aa) - current_runs + 1, current_runs)])
    for result in logged:
        if result.kind == "baseline":
            results.append(result)
        elif result.kind != "A/A":
            results.append(replace(result, statuses=statuses(harness.judge(
                [result.run_id], result.confirmations)),
                set_aside=sorted(harness.disturbed([result.run_id]))))
    for group in groups:
        ids = [result.run_id for result in group]
        confirming = (proxies[ids[0]] if confirm_with_next else
                      group[0].confirmations if len(group) == 1 else [])
        results.append(replace(group[0], exit_code=max(r.exit_code for r in group),
                               wall_s=sum(r.wall_s for r in group),
                               statuses=statuses(harness.judge(ids, confirming)),
                               set_aside=sorted(harness.disturbed(ids))))
        simulated += simulate(harness, ids, slowdown,
                              confirming if confirm_with_next else ())
    return results, simulated


def make_runs(harness: Harness, args: argparse.Namespace) -> list[RunResult]:
    results: list[RunResult] = []
    if not harness.baseline_dir.is_dir():
        for _ in range(args.baseline_runs):
            results.append(harness.run("baseline", baseline=False))
            harness.log(results[-1])
        harness.keep_baseline([r.run_id for r in results])
    for index in range(args.pairs):
        result = harness.run("A/A", baseline=True)
        results.append(result)
        harness.log(result)
        regressed = sorted(k for k, s in result.statuses.items() if s == REGRESSED)
        print(f"A/A {index + 1}/{args.pairs}: exit {result.exit_code}, "
              f"{result.wall_s:.1f} s, regressed {regressed or 'none'}", flush=True)
    if args.slowdowns:
        # the newest run of the log holds every suite; a confirmation run after it, only
        # its suspects
        newest = next((r.run_id for r in reversed(harness.logged()) if r.kind != "injected"),
                      harness.store.run_ids()[-1])
        timed = harness.driver_phases(newest)
        targets = injection_targets(harness.judge([newest]), timed)
        for index, (row, name) in zip(range(args.slowdowns), itertools.cycle(targets)):
            delay = injected_delay(row, args.slowdown, timed[(row.suite, row.phase)])
            result = harness.run("injected", baseline=True, extra_env={
                "SPANBENCH_FAULT_DELAY": f"{row.suite}/{row.phase}:{delay}"})
            result.target, result.delay_ns = name, delay
            results.append(result)
            harness.log(result)
            print(f"injected {index + 1}/{args.slowdowns}: {name} +{delay} ns: "
                  f"{result.statuses.get(name, 'absent')}", flush=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", nargs="+", default=list(DEFAULT_SUITES))
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--slowdowns", type=int, default=10)
    parser.add_argument("--slowdown", type=float, default=0.2)
    parser.add_argument("--json", type=Path, help="Also write every run's verdicts here.")
    parser.add_argument("--home", type=Path,
                        help="Keep the runs in this SPANBENCH_HOME (created when absent; "
                             "runs are added to those it holds) to study them afterwards.")
    parser.add_argument("--current-runs", type=int, default=1,
                        help="With --rejudge: judge the A/A runs in groups of this many, "
                             "each by its median (default 1: each run alone).")
    parser.add_argument("--confirm-with-next", action="store_true",
                        help="With --rejudge: confirm each A/A run's regressions, real and "
                             "simulated, by the next A/A run, as --confirm would by a run "
                             "made for them.")
    parser.add_argument("--rejudge", action="store_true",
                        help="Make no run: judge the runs kept in --home again, and simulate "
                             "the slowdown on every benchmark of its A/A runs.")
    args = parser.parse_args(argv)
    if args.rejudge and args.home is None:
        parser.error("--rejudge needs --home, the folder an earlier call kept its runs in")
    simulated: list[Simulated] = []
    with tempfile.TemporaryDirectory(prefix="spanbench-gate-") as scratch:
        home = Path(scratch) if args.home is None else args.home
        home.mkdir(parents=True, exist_ok=True)
        harness = Harness(home, args.suites)
        if args.rejudge:
            results, simulated = rejudge(harness, args.slowdown, args.current_runs,
                                         args.confirm_with_next)
        else:
            results = make_runs(harness, args)
    summary = report(results, args.slowdown, simulated)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary,
                                         "runs": [asdict(r) for r in results],
                                         "simulated": [asdict(s) for s in simulated]},
                                        indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
