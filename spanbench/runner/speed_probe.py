"""How fast this machine runs a fixed piece of Python at a moment: the gate's witness of a
machine that is slower or faster as a whole.

Between runs of unchanged code on a shared 2-core VM, every benchmark of a run moved together
by up to ±20% (the median over a run's 151 benchmarks, against their medians over 25 runs),
with no steal and no other process to account for it: the host's other tenants and its clock
are invisible from inside. Removing each suite's common move halved the benchmarks' run-to-run
spread. The probe is kept beside each suite (run.json's `suites.*.probe`), read before and
after it, to find out whether it sees that move; nothing is judged on it yet.
"""

from __future__ import annotations

import time
from statistics import median

PROBE_REPEATS = 5
LOOP_COUNT = 60_000
"""Iterations of the probe's loop: about 3 ms on the machine above."""


def _fixed_work() -> int:
    total = 0
    for i in range(LOOP_COUNT):
        total += i * i % 7
    return total


def reading() -> int:
    """The median over PROBE_REPEATS timings of the fixed work, in nanoseconds (wall clock,
    time.perf_counter_ns)."""
    timings = []
    for _ in range(PROBE_REPEATS):
        started = time.perf_counter_ns()
        _fixed_work()
        timings.append(time.perf_counter_ns() - started)
    return int(median(timings))
