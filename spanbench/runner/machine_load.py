"""How much of the machine went elsewhere while a suite ran, from /proc/stat (Linux only).

Shares of the machine's CPU capacity over the suite's wall time: `cpu_steal`, taken by the
hypervisor for other guests, and `cpu_niced`, used by processes at a lower priority (nice > 0),
which are not the run's own unless spanbench itself runs niced (then it is not recorded). Both
were found beside the gate's false alarms on a shared 2-core machine: a suite whose machine was
busy elsewhere measured +50% to +290% with unchanged code (benchmarks/regression_gate.py).
Where every process of the system under test is known (the reference stack the run started),
`cpu_foreign` replaces `cpu_niced`: the CPU of all other processes, at any priority, each read
from its own /proc/<pid>/stat (spanbench.runner.process_cpu.others), so the record can name the
ones that took the most (`CpuTaker`). It sees a neighbour at normal priority, such as a build or
a test suite, which the niced share cannot. A deployment's own processes would count as foreign,
so for one spanbench did not start it is not taken.

`cpu_unattributed` is what /proc/stat says all processes spent less what the run's trees and the
other processes spent, by their own accounts: recorded, not judged. It is where a neighbour that
spanbench cannot see would show (another PID namespace: a container beside ours on the same
kernel), but on a quiet 2-core VM it read 1.4-10.5% in the sub-second and bursty suites
(event_propagation, worker_execution) while no other process used more than a tick: the
per-CPU counters are charged a whole clock tick at a time, a process's times are scaled to its
measured run time. Judged as foreign, it set a suite aside in 6 of 20 runs of unchanged code
in which no other process had used more than a tick or two.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from spanbench.runner import process_cpu

PROC_STAT = Path("/proc/stat")
MIN_TICKS = 50
"""Fewest clock ticks (all CPUs together; 100 a second per CPU on Linux) a share is taken
over: over fewer, one tick of steal would read as a share above 2%."""
READING_SLACK_TICKS = 3
"""Ticks each share gives up before it is divided: what a reading itself can be off by (a
counter read between two ticks; per-process times rounded apart from /proc/stat's: +-3 ticks
over 3 s with every process counted as the run's). Without it, a suite lasting about a second
(handler_overhead, event_propagation) read 1-2.3% foreign from 2-5 stray ticks on a quiet
machine and was set aside in every run."""


@dataclass(frozen=True)
class CpuTimes:
    """Cumulative CPU time of all CPUs, in clock ticks."""

    steal: int
    niced: int
    """User time at nice > 0 (their system time is in `processes` only)."""
    processes: int
    """User time at any priority and system time: what processes spent (interrupts left out)."""
    total: int


def read_cpu_times(path: Path = PROC_STAT) -> CpuTimes | None:
    """The aggregate `cpu` line of /proc/stat; None where there is none (not Linux)."""
    try:
        with path.open() as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal (guest time is already in user and nice)
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, fields[1:9])
    return CpuTimes(steal, nice, user + nice + system,
                    user + nice + system + idle + iowait + irq + softirq + steal)


def runs_niced() -> bool:
    """Whether this process runs at a lower priority, so that niced CPU may be its own."""
    return os.getpriority(os.PRIO_PROCESS, 0) > 0


@dataclass(frozen=True)
class ProcessTicks:
    """The processes' CPU between two readings, where every process of the run and its system
    is known, in clock ticks."""

    own: int
    """The run's and its system's process trees, and kernel threads (process_cpu.own_ticks)."""
    others: int
    """Every other process, each by its own account (process_cpu.others)."""


def machine_share(before: CpuTimes | None, after: CpuTimes | None, own_niced: bool,
                  processes: ProcessTicks | None = None) -> dict[str, float] | None:
    """The shares between two readings (see the module); None when either is unknown or fewer
    than MIN_TICKS passed. `processes`: where the processes' CPU went over the same span, where
    all of the run's and its system's are known: then the other processes' is `cpu_foreign`,
    which holds the niced processes' too, `cpu_niced` is left out, and what no process accounts
    for is `cpu_unattributed`."""
    if before is None or after is None or after.total - before.total < MIN_TICKS:
        return None
    elapsed = after.total - before.total

    def share_of(ticks: int) -> float:
        return max(ticks - READING_SLACK_TICKS, 0) / elapsed

    share = {"cpu_steal": share_of(after.steal - before.steal)}
    if processes is not None:
        share["cpu_foreign"] = share_of(processes.others)
        share["cpu_unattributed"] = share_of(after.processes - before.processes
                                             - processes.own - processes.others)
    elif not own_niced:
        share["cpu_niced"] = share_of(after.niced - before.niced)
    return share


@dataclass(frozen=True)
class Watch:
    """The readings taken as a suite starts."""

    cpu: CpuTimes | None
    processes: process_cpu.Snapshot | None
    own_roots: tuple[int, ...] | None


def start_watch(system_processes: Sequence[int] | None) -> Watch:
    """Read the machine as a suite starts. `system_processes`: the roots of the system under
    test's process trees, when all are known (None: no foreign share is taken)."""
    cpu = read_cpu_times()
    if system_processes is None or cpu is None:
        return Watch(cpu, None, None)
    return Watch(cpu, process_cpu.snapshot(), (os.getpid(), *system_processes))


@dataclass(frozen=True)
class CpuTaker:
    """A process outside the run and its system that used CPU while a suite ran."""

    pid: int
    command: str
    """Its command line, cut short (process_cpu.command_of); empty when it was gone."""
    share: float
    """Of the machine's CPU capacity over the suite, as the shares are."""


TAKERS_KEPT = 3
"""Most processes a suite's record names as having taken the machine's CPU."""
TAKER_AT = 0.001
"""Smallest share of the machine's CPU for which a process is named."""


@dataclass(frozen=True)
class Reading:
    """What went elsewhere while a suite ran."""

    shares: dict[str, float] | None
    """machine_share's shares; None where unknown."""
    takers: tuple[CpuTaker, ...] = ()
    """The processes outside the run and its system that used the most CPU, at TAKER_AT or
    more of it, most first; known only where cpu_foreign is."""


def reading_since(watch: Watch) -> Reading:
    """The machine's shares since `watch` was started (machine_share), and the processes that
    took the foreign share (takers_of)."""
    if watch.processes is None or watch.own_roots is None:
        return Reading(machine_share(watch.cpu, read_cpu_times(), runs_niced()))
    after = process_cpu.snapshot()
    cpu_after = read_cpu_times()
    others = process_cpu.others(watch.processes, after, watch.own_roots)
    shares = machine_share(watch.cpu, cpu_after, runs_niced(), ProcessTicks(
        process_cpu.own_ticks(watch.processes, after, watch.own_roots),
        sum(ticks for _, ticks in others)))
    if shares is None:  # else both CPU readings are known
        return Reading(shares)
    return Reading(shares, takers_of(others, cpu_after.total - watch.cpu.total))


def takers_of(others: Sequence[tuple[int, int]], elapsed_ticks: int) -> tuple[CpuTaker, ...]:
    """The first TAKERS_KEPT of `others` ((pid, ticks), most first: process_cpu.others) whose
    ticks are TAKER_AT or more of `elapsed_ticks`, each named by its command line."""
    return tuple(CpuTaker(pid, process_cpu.command_of(pid), ticks / elapsed_ticks)
                 for pid, ticks in others[:TAKERS_KEPT] if ticks >= TAKER_AT * elapsed_ticks)
