"""CPU used by the run's own processes and its system's, from /proc (Linux only).

/proc/stat tells steal and niced CPU apart (spanbench.runner.machine_load) but not a neighbour
at normal priority: a build or a test suite beside the run, a browser on a laptop. This module
reads each process's own account: `own_ticks` what the run's process trees spent, `others` what
every process outside them spent (that neighbour's share, and the names of the ones that took
the most). Each process's CPU ticks here are its own and those of the children it reaped, so a
PostgreSQL backend that exited still counts, in its postmaster's. Kernel threads do the run's
I/O and are counted with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
KERNEL_THREAD = 0x00200000
"""PF_KTHREAD in a process's flags (the 9th field of /proc/<pid>/stat)."""
COMMAND_CHARS = 80
"""Longest command line kept of a process named in a record."""


@dataclass(frozen=True)
class ProcessCpu:
    """One process at one moment."""

    parent: int
    started: int
    """Clock ticks after boot at which it started: tells a reused pid apart."""
    ticks: int
    """User and system time of the process and of its reaped children, in clock ticks."""
    niced: bool
    kernel_thread: bool


Snapshot = Mapping[int, ProcessCpu]


def parse_stat(text: str) -> ProcessCpu | None:
    """One /proc/<pid>/stat line; None when it cannot be read."""
    _, close, rest = text.rpartition(")")  # the command name may hold spaces and parentheses
    fields = rest.split()
    if not close or len(fields) < 20:
        return None
    try:
        flags, utime, stime, cutime, cstime, nice, started = (
            int(fields[i]) for i in (6, 11, 12, 13, 14, 16, 19))
        return ProcessCpu(parent=int(fields[1]), started=started,
                          ticks=utime + stime + cutime + cstime, niced=nice > 0,
                          kernel_thread=bool(flags & KERNEL_THREAD))
    except ValueError:
        return None


def snapshot(proc: Path = PROC) -> dict[int, ProcessCpu]:
    """Every process that can be read now (one that exits while being read is skipped)."""
    processes = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        process = parse_stat(text)
        if process is not None:
            processes[int(entry.name)] = process
    return processes


def trees(processes: Snapshot, roots: Iterable[int]) -> set[int]:
    """The pids of `roots` and of all their descendants in `processes`."""
    children: dict[int, list[int]] = {}
    for pid, process in processes.items():
        children.setdefault(process.parent, []).append(pid)
    found: set[int] = set()
    pending = [root for root in roots if root in processes]
    while pending:
        pid = pending.pop()
        if pid not in found:
            found.add(pid)
            pending += children.get(pid, [])
    return found


def spent_since(before: Snapshot, pid: int, process: ProcessCpu) -> int:
    """The ticks `process` (pid `pid` now) used since `before`: all of them when it started
    after it, its pid then held by another process or by none."""
    earlier = before.get(pid)
    since = earlier.ticks if earlier is not None and earlier.started == process.started else 0
    return max(process.ticks - since, 0)


def own_ticks(before: Snapshot, after: Snapshot, own_roots: Iterable[int]) -> int:
    """CPU ticks used between the snapshots by the trees of `own_roots` (as they are in
    `after`, with the children they reaped) and by kernel threads. A process of the trees that
    exited in between counts for what it spent after the first snapshot, on the assumption
    that a process of the trees reaped it (the postmaster its backends, the run its children)."""
    own = trees(after, own_roots)
    total = sum(spent_since(before, pid, process) for pid, process in after.items()
                if pid in own or process.kernel_thread)
    for pid in trees(before, own_roots):  # reaped since: their parents' children's time took
        now = after.get(pid)              # all they spent, before the first snapshot too
        if now is None or now.started != before[pid].started:
            total -= before[pid].ticks
    return max(total, 0)


def others(before: Snapshot, after: Snapshot, own_roots: Iterable[int]) -> list[tuple[int, int]]:
    """(pid, ticks) of each process outside the trees of `own_roots`, kernel threads left out,
    that used CPU between the snapshots (with the children it reaped meanwhile), most first."""
    own = trees(after, own_roots)
    spent = [(pid, spent_since(before, pid, process)) for pid, process in after.items()
             if pid not in own and not process.kernel_thread]
    return sorted((entry for entry in spent if entry[1] > 0), key=lambda entry: -entry[1])


def command_of(pid: int, proc: Path = PROC, limit: int = COMMAND_CHARS) -> str:
    """The command line of `pid`, its arguments and any white space in them joined by single
    spaces and cut to `limit` characters; its name alone where it has none (a kernel thread);
    empty once it is gone."""
    try:
        text = (proc / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").strip()
        if not text:
            text = (proc / str(pid) / "comm").read_bytes().strip()
    except OSError:
        return ""
    command = " ".join(text.decode(errors="replace").split())
    return command if len(command) <= limit else command[: limit - 1] + "…"
