"""How fast this machine ran a fixed piece of Python while a suite ran: the gate's witness of
a machine slower or faster as a whole.

Between runs of unchanged code on a shared 2-core VM, every benchmark of a run moved together
by up to ±20% (the median over a run's 151 benchmarks, against their medians over 25 runs),
with no steal and no other process to account for it. Timed once a second on a quiet machine,
a fixed loop took either about 3.0 ms or about 4.7 ms, switching from one second to the next:
the host's other tenants and its clock are invisible from inside, but not to a clock. So a
child process times FIXED_WORK_LOOPS iterations every INTERVAL_S while the suite runs (about
0.5 ms of one core in 100 ms, 0.5%; a process of its own so that it never holds the driver's
interpreter lock) and run.json keeps the mean and the median of its readings beside the suite
(`suites.*.probe`). The mean is how slow the machine was on average over the suite.

It also keeps how late each of its sleeps ended (`wake_mean_ns`, `wake_median_ns`): the time a
woken process waits for a CPU. In one series of runs, for some ten minutes, the worker's phases
(a no-op handler's execute: 6 µs → 8-17 µs) and those waiting on it came out 25-60% slower with
no steal, no other process and the fixed work's timing unchanged, while the same few µs of Python
in the driver (handler_overhead) did not move. What set the slower phases apart is that each ran
just after a short wait for the database, where handler_overhead calls its code back to back.
So the child also times NAP_WORK_LOOPS iterations (a few µs) just after each of NAPS sleeps of
NAP_S, every reading, and keeps their median (`nap_mean_ns`, `nap_median_ns` over the suite):
short work right after a short wait, as a worker does it. Nothing is judged on these yet.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import mean, median

INTERVAL_S = 0.1
FIXED_WORK_LOOPS = 8_000
"""About 0.5 ms on the machine above."""
NAPS = 10
NAP_S = 0.0002
"""About a database round trip on the machine above."""
NAP_WORK_LOOPS = 50
"""A few µs: about a no-op handler's execute."""
READY_WITHIN_S = 5.0
"""How long `start` waits for the child's first reading: its interpreter's start (some tens of
ms of CPU) stays out of the suite's first iterations."""


def _fixed_work(loops: int = FIXED_WORK_LOOPS) -> int:
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total


def _after_naps() -> int:
    """The median time (ns) of NAP_WORK_LOOPS iterations, each run just after a sleep of
    NAP_S."""
    times = []
    for _ in range(NAPS):
        time.sleep(NAP_S)
        started = time.perf_counter_ns()
        _fixed_work(NAP_WORK_LOOPS)
        times.append(time.perf_counter_ns() - started)
    return int(median(times))


def sample_forever(out: Path) -> None:
    """The child's loop, until it is stopped: every INTERVAL_S a line of the fixed work's time,
    how late the sleep before it ended (ns; 0 for the first) and the short work's after naps."""
    interval_ns = int(INTERVAL_S * 1e9)
    late = 0
    with out.open("a", buffering=1) as lines:
        while True:
            started = time.perf_counter_ns()
            _fixed_work()
            done = time.perf_counter_ns()
            lines.write(f"{done - started} {late} {_after_naps()}\n")
            rested = time.perf_counter_ns()
            time.sleep(INTERVAL_S)
            late = max(time.perf_counter_ns() - rested - interval_ns, 0)


@dataclass
class SpeedWatch:
    """A child process timing the fixed work until `stop`."""

    out: Path
    child: subprocess.Popen[bytes] | None

    def stop(self) -> dict[str, int] | None:
        """The readings' count, mean and median (ns), the mean and median of how late the
        sleeps between them ended (`wake_*`, from the second reading on) and of the short work's
        medians after naps (`nap_*`); None when there were none."""
        if self.child is None:
            return None
        self.child.terminate()
        try:
            self.child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()
        self.child = None
        try:
            text = self.out.read_text()
            self.out.unlink()
        except OSError:
            return None
        lines = [tuple(map(int, fields)) for fields in map(str.split, text.splitlines())
                 if len(fields) == 3 and all(field.isdigit() for field in fields)]
        if not lines:
            return None
        summary = {"readings": len(lines), **_summary("", [work for work, _, _ in lines]),
                   **_summary("nap_", [nap for _, _, nap in lines])}
        wakes = [late for _, late, _ in lines[1:]]
        if wakes:
            summary |= _summary("wake_", wakes)
        return summary


def _summary(prefix: str, values: list[int]) -> dict[str, int]:
    return {f"{prefix}mean_ns": int(mean(values)), f"{prefix}median_ns": int(median(values))}


def start(scratch_dir: Path) -> SpeedWatch:
    """Start timing in a child process writing to a file in `scratch_dir`, and return once it
    has its first reading (or after READY_WITHIN_S, or as soon as it has ended); a child that
    cannot start gives a watch that reads nothing."""
    out = scratch_dir / f"speed-probe-{time.monotonic_ns()}.txt"
    try:
        scratch_dir.mkdir(parents=True, exist_ok=True)
        child = subprocess.Popen([sys.executable, "-I", __file__, str(out)],  # no package
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return SpeedWatch(out, None)
    deadline = time.monotonic() + READY_WITHIN_S
    while child.poll() is None and time.monotonic() < deadline and not _has_reading(out):
        time.sleep(0.005)
    return SpeedWatch(out, child)


def _has_reading(out: Path) -> bool:
    try:
        return out.stat().st_size > 0
    except OSError:
        return False


if __name__ == "__main__":
    sample_forever(Path(sys.argv[1]))
