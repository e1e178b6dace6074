"""How much of the machine went elsewhere while a suite ran, from /proc/stat (Linux only).

Two shares of the machine's CPU capacity over the suite's wall time: `cpu_steal`, taken by the
hypervisor for other guests, and `cpu_niced`, used by processes at a lower priority (nice > 0),
which are not the run's own unless spanbench itself runs niced (then it is not recorded). Both
were found beside the gate's false alarms on a shared 2-core machine: a suite whose machine was
busy elsewhere measured +50% to +290% with unchanged code (benchmarks/regression_gate.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")
MIN_TICKS = 50
"""Fewest clock ticks (all CPUs together; 100 a second per CPU on Linux) a share is taken
over: over fewer, one tick of steal would read as a share above 2%."""


@dataclass(frozen=True)
class CpuTimes:
    """Cumulative CPU time of all CPUs, in clock ticks."""

    steal: int
    niced: int
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
    return CpuTimes(steal, nice, user + nice + system + idle + iowait + irq + softirq + steal)


def runs_niced() -> bool:
    """Whether this process runs at a lower priority, so that niced CPU may be its own."""
    return os.getpriority(os.PRIO_PROCESS, 0) > 0


def machine_share(before: CpuTimes | None, after: CpuTimes | None, own_niced: bool
                  ) -> dict[str, float] | None:
    """The shares between two readings (see the module); None when either is unknown or fewer
    than MIN_TICKS passed."""
    if before is None or after is None or after.total - before.total < MIN_TICKS:
        return None
    elapsed = after.total - before.total
    share = {"cpu_steal": (after.steal - before.steal) / elapsed}
    if not own_niced:
        share["cpu_niced"] = (after.niced - before.niced) / elapsed
    return share
