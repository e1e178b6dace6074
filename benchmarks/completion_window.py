"""How precisely does polling the database see a workflow complete, and what does it cost?

Starts a throwaway stack (1 orchestrator, 2 workers) and runs linear_3 workflows one at a
time, each seen complete twice: by the DatabaseStatePoller (as on a system that sends no
finalization NOTIFY) and by a LISTEN on the stack's NOTIFY, beside it on the same workflows.
Poll intervals are compared side by side: each has its poller open through a run (an idle one
sends nothing) and the workflows go to them in turn; figures are medians over the runs:

- window: the uncertainty each workflow records (bench.completion_window_ns), median/p95/max;
- poll cycle (time polling / polls) and one poll's round trip;
- lag: the poll's stamp minus the NOTIFY's arrival, on the same workflow;
- load: queries/s while polling, the database backend's CPU time serving them (from
  /proc/<pid>/stat of the poller's backend, found by application_name; the stack runs here),
  the poller thread's own CPU time, and the queries sent over an idle second with no task in
  flight;
- e2e: POST to NOTIFY, the workflow itself, which polling may slow by taking the CPU.

    python -m benchmarks.completion_window [--workflows 40] [--runs 3] [--intervals 1,0.5,0]
        [--stamped 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from instrument.settings import orchestration_auth_headers
from instrument.systems.spanbench_stack import TASK_STATE_SQL
from instrument.workload.completion import Finalization, FinalizationListener
from instrument.workload.state_poller import APPLICATION_NAME, DatabaseStatePoller, PollerLoad
from instrument.workload.tasker_client import task_request
from spanbench.vocabulary import FINALIZED_CHANNEL
from stack.local import lifecycle, postgres

WARMUP = 5
TIMEOUT_S = 30.0


@dataclass
class Round:
    """One interval's workflows in one run."""

    window_ns: list[int] = field(default_factory=list)
    lag_ns: list[int] = field(default_factory=list)
    e2e_ns: list[int] = field(default_factory=list)
    load: PollerLoad = field(default_factory=PollerLoad)
    backend_cpu_s: float = 0.0


@dataclass
class Variant:
    interval_ms: float
    server_stamped: bool
    rounds: list[Round] = field(default_factory=list)
    idle_polls: int = 0

    @property
    def label(self) -> str:
        every = f"every {self.interval_ms:g} ms" if self.interval_ms > 0 else "back to back"
        return every + (", stamped" if self.server_stamped else "")


def _backend_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process on this machine (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _poller_backend(conn: psycopg.Connection) -> int:
    """The newest: the last poller's backend may still be on its way out."""
    row = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                       "ORDER BY backend_start DESC LIMIT 1", (APPLICATION_NAME,)).fetchone()
    if row is None:
        raise RuntimeError("the poller's backend is not in pg_stat_activity")
    return int(row[0])


def _seen(watch: DatabaseStatePoller | FinalizationListener, task_uuid: str) -> Finalization:
    finalization = watch.wait(task_uuid, TIMEOUT_S)
    if finalization is None:
        raise TimeoutError(f"task {task_uuid} not seen final in {TIMEOUT_S:.0f} s")
    return finalization


def _workflow(client: httpx.Client, poller: DatabaseStatePoller,
              listener: FinalizationListener) -> tuple[int, int, int]:
    """One linear_3 workflow: its recorded window, the poll's lag after the NOTIFY and the
    workflow's duration to the NOTIFY (which the polling may slow down)."""
    body = task_request("linear_3", "linear_workflow", {"even_number": 6},
                        initiator="benchmark", reason="completion window", tags=[])
    posted_ns = time.perf_counter_ns()
    response = client.post("/v1/tasks", json=body)
    response.raise_for_status()
    task_uuid = str(response.json()["task_uuid"])
    poller.expect(task_uuid, posted_ns)
    polled = _seen(poller, task_uuid)
    notified = _seen(listener, task_uuid)
    assert polled.window_ns is not None
    return (polled.window_ns, polled.received_ns - notified.received_ns,
            notified.received_ns - posted_ns)


@dataclass
class _Polling:
    """One variant's poller in one run, with its backend and what both had cost at the start."""

    variant: Variant
    poller: DatabaseStatePoller
    backend: int
    measured: Round = field(default_factory=Round)
    load_before: PollerLoad = field(default_factory=PollerLoad)
    cpu_before_s: float = 0.0

    def begin(self) -> None:
        self.load_before, self.cpu_before_s = self.poller.load, _backend_cpu_s(self.backend)

    def end(self) -> None:
        self.measured.load = self.poller.load.since(self.load_before)
        self.measured.backend_cpu_s = _backend_cpu_s(self.backend) - self.cpu_before_s
        self.variant.rounds.append(self.measured)


def _run(database_url: str, admin: psycopg.Connection, client: httpx.Client,
         listener: FinalizationListener, workflows: int, variants: list[Variant]) -> None:
    """One run: every variant's poller open at once (an idle one sends nothing), workflows
    handed to them in turn so that each meets the same moments of the machine's load."""
    with ExitStack() as pollers:
        polling = []
        for variant in variants:
            poller = pollers.enter_context(DatabaseStatePoller(
                database_url, TASK_STATE_SQL, variant.interval_ms / 1000,
                server_stamped=variant.server_stamped))
            polling.append(_Polling(variant, poller, _poller_backend(admin)))
        for one in polling:
            for _ in range(WARMUP):
                _workflow(client, one.poller, listener)
            one.begin()
        for _ in range(workflows):
            for one in polling:
                window_ns, lag_ns, e2e_ns = _workflow(client, one.poller, listener)
                one.measured.window_ns.append(window_ns)
                one.measured.lag_ns.append(lag_ns)
                one.measured.e2e_ns.append(e2e_ns)
        for one in polling:
            one.end()
        idle_before = [one.poller.load.polls for one in polling]
        time.sleep(1.0)
        for one, before in zip(polling, idle_before, strict=True):
            one.variant.idle_polls += one.poller.load.polls - before


def measure(variants: list[Variant], workflows: int, runs: int) -> list[Variant]:
    home = Path(tempfile.mkdtemp(prefix="spanbench-bench-window-"))
    state = lifecycle.up(home, lifecycle.StackOptions()).state
    try:
        with FinalizationListener(state.database_url, FINALIZED_CHANNEL) as listener, \
                psycopg.connect(state.database_url, autocommit=True) as admin, \
                httpx.Client(base_url=state.orchestration_urls[0], timeout=TIMEOUT_S,
                             headers=orchestration_auth_headers()) as client:
            for run in range(runs):
                print(f"  run {run + 1}/{runs}", flush=True)
                _run(state.database_url, admin, client, listener, workflows, variants)
    finally:
        lifecycle.down(home)
        postgres.remove(home)
    return variants


def _median_of(rounds: list[Round], figure: str) -> float:
    """The median over the runs of each run's `figure`."""
    per_run = []
    for measured in rounds:
        windows, load = measured.window_ns, measured.load
        polling_s = load.polling_ns / 1e9
        per_run.append({
            "window p50": statistics.median(windows) / 1e6,
            "window p95": statistics.quantiles(windows, n=20, method="inclusive")[18] / 1e6,
            "window max": max(windows) / 1e6,
            "lag p50": statistics.median(measured.lag_ns) / 1e6,
            "cycle": load.polling_ns / max(load.polls, 1) / 1e6,
            "poll": load.querying_ns / max(load.polls, 1) / 1e6,
            "queries/s": load.polls / polling_s if polling_s else 0.0,
            "db cpu %": 100 * measured.backend_cpu_s / polling_s if polling_s else 0.0,
            "poller cpu %": 100 * load.cpu_ns / load.polling_ns if polling_s else 0.0,
            "e2e p50": statistics.median(measured.e2e_ns) / 1e6,
        }[figure])
    return statistics.median(per_run)


FIGURES = ("window p50", "window p95", "window max", "cycle", "poll", "lag p50", "queries/s",
           "db cpu %", "poller cpu %", "e2e p50")


def report(variants: list[Variant], workflows: int, runs: int) -> str:
    lines = [f"{'polls':<24}" + "".join(f"{name:>13}" for name in FIGURES) + f"{'idle q':>7}"]
    for variant in variants:
        lines.append(f"{variant.label:<24}"
                     + "".join(f"{_median_of(variant.rounds, name):>13.2f}" for name in FIGURES)
                     + f"{variant.idle_polls:>7}")
    lines.append(f"ms unless said; median of {runs} runs x {workflows} linear_3 workflows, one "
                 "in flight; lag: poll stamp - NOTIFY arrival; db cpu: the poller's backend, "
                 "poller cpu: its thread; both % of one core while polling; "
                 "e2e: POST to NOTIFY, slowed if polling takes the stack's CPU; "
                 "idle q: queries in 1 s idle per run, summed; "
                 "stamped: the last unfinished poll's start moved to when the database got "
                 "it, from now() (instrument/workload/server_stamps.py)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--intervals", default="1,0.5,0",
                        help="poll intervals to compare, ms, comma separated (0: back to back)")
    parser.add_argument("--stamped", default="0",
                        help="intervals also measured with server-stamped polls (ms, commas)")
    args = parser.parse_args()
    variants = [Variant(float(ms), False) for ms in args.intervals.split(",")]
    variants += [Variant(float(ms), True) for ms in args.stamped.split(",") if ms]
    measure(variants, args.workflows, args.runs)
    print(report(variants, args.workflows, args.runs))
    print(f"python -m benchmarks.completion_window --workflows {args.workflows} "
          f"--runs {args.runs} --intervals {args.intervals} --stamped {args.stamped}")


if __name__ == "__main__":
    main()
