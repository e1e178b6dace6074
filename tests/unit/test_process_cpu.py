"""The CPU of the run's own process trees, from /proc/<pid>/stat, and of its neighbours."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spanbench.runner import machine_load
from spanbench.runner.process_cpu import (
    KERNEL_THREAD,
    ProcessCpu,
    command_of,
    others,
    own_ticks,
    parse_stat,
    snapshot,
    trees,
)


def _stat_line(pid: int, comm: str, parent: int, utime: int, stime: int, cutime: int,
               cstime: int, nice: int = 0, flags: int = 0, started: int = 500) -> str:
    fields = ["S", parent, pid, pid, 0, -1, flags, 0, 0, 0, 0, utime, stime, cutime, cstime,
              20, nice, 1, 0, started, 1000, 10]
    return f"{pid} ({comm}) " + " ".join(map(str, fields))


def _process(parent: int, ticks: int, started: int = 1, *, kernel: bool = False) -> ProcessCpu:
    return ProcessCpu(parent, started, ticks, niced=False, kernel_thread=kernel)


def test_a_stat_line_gives_parent_ticks_priority_and_kind() -> None:
    line = _stat_line(42, "odd) (name x", 7, 10, 5, 3, 2, nice=19, flags=KERNEL_THREAD)
    assert parse_stat(line) == ProcessCpu(parent=7, started=500, ticks=20, niced=True,
                                          kernel_thread=True)
    assert parse_stat(_stat_line(42, "bash", 7, 1, 1, 0, 0)) == ProcessCpu(
        7, 500, 2, niced=False, kernel_thread=False)
    assert parse_stat("42 (cut short) S 1 2") is None
    assert parse_stat("garbage") is None


def test_a_tree_is_its_roots_and_all_their_descendants() -> None:
    processes = {1: _process(0, 0), 10: _process(1, 0), 11: _process(10, 0), 12: _process(11, 0),
                 20: _process(1, 0), 21: _process(20, 0)}
    assert trees(processes, [10]) == {10, 11, 12}
    assert trees(processes, [10, 21, 99]) == {10, 11, 12, 21}


def test_own_ticks_count_the_trees_and_kernel_threads_between_snapshots() -> None:
    before = {1: _process(0, 1000), 10: _process(1, 100), 11: _process(10, 50),
              30: _process(2, 7, kernel=True), 40: _process(1, 200)}
    after = {1: _process(0, 2000),  # the neighbours' init: not counted
             10: _process(1, 160),  # +60: 10 of its own and the old 11's 50, reaped
             11: _process(10, 20, started=9),  # the pid was reused: all 20 are new
             12: _process(10, 15),  # started between the snapshots: all 15
             30: _process(2, 9, kernel=True),  # +2
             40: _process(1, 900)}  # a neighbour: not counted
    assert own_ticks(before, after, [10]) == 10 + 20 + 15 + 2
    assert own_ticks(before, after, [99]) == 2  # no tree: the kernel threads alone


def test_others_are_the_processes_outside_the_trees_that_used_cpu_most_first() -> None:
    before = {1: _process(0, 1000), 10: _process(1, 100), 30: _process(2, 7, kernel=True),
              40: _process(1, 200), 50: _process(1, 300), 60: _process(1, 5)}
    after = {1: _process(0, 1030),  # +30
             10: _process(1, 160), 11: _process(10, 20),  # the tree: left out
             30: _process(2, 90, kernel=True),  # a kernel thread: left out
             40: _process(1, 900),  # +700
             50: _process(1, 45, started=9),  # the pid was reused: all 45 are new
             60: _process(1, 5)}  # used nothing
    assert others(before, after, [10]) == [(40, 700), (50, 45), (1, 30)]


def test_a_process_is_named_by_its_command_line_or_else_its_name(tmp_path: Path) -> None:
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "cmdline").write_bytes(b"python\0-m\0pytest\0tests/\0-k\0a\nb\0")
    (tmp_path / "8").mkdir()
    (tmp_path / "8" / "cmdline").write_bytes(b"")
    (tmp_path / "8" / "comm").write_bytes(b"kworker/0:1\n")
    assert command_of(7, tmp_path) == "python -m pytest tests/ -k a b"
    assert command_of(7, tmp_path, limit=10) == "python -m…"
    assert command_of(8, tmp_path) == "kworker/0:1"
    assert command_of(9, tmp_path) == ""  # gone


def _busy_loop(detached: bool) -> subprocess.Popen[bytes] | None:
    """A process spinning for 1.5 s, which then exits by itself."""
    loop = [sys.executable, "-c",
            "import time\nend = time.monotonic() + 1.5\nwhile time.monotonic() < end: pass"]
    if detached:  # its parent exits at once: it belongs to no tree of ours
        subprocess.run(["setsid", "-f", *loop], check=True)
        return None
    return subprocess.Popen(loop)


@pytest.mark.skipif(not Path("/proc/self/stat").is_file() or shutil.which("setsid") is None,
                    reason="needs Linux /proc and setsid")
@pytest.mark.parametrize("detached", [False, True])
def test_a_busy_process_counts_as_ours_only_in_our_tree(detached: bool) -> None:
    before, cpu_before = snapshot(), machine_load.read_cpu_times()
    child = _busy_loop(detached)
    time.sleep(1.0)
    after, cpu_after = snapshot(), machine_load.read_cpu_times()
    if child is not None:
        child.wait(timeout=30)
    assert cpu_before is not None and cpu_after is not None
    ours = own_ticks(before, after, [os.getpid()])
    others = cpu_after.processes - cpu_before.processes - ours
    # a second of a busy loop is 100 ticks when it has a CPU to itself; a loaded machine
    # gives it less, but far more than 20. This process only sleeps meanwhile.
    if detached:
        assert others >= 20 and ours < 20
    else:
        assert ours >= 20


@pytest.mark.skipif(not Path("/proc/self/stat").is_file() or shutil.which("setsid") is None,
                    reason="needs Linux /proc and setsid")
def test_a_suite_reading_names_a_busy_neighbour_by_its_command_line() -> None:
    watch = machine_load.start_watch(())  # the run is this process alone
    _busy_loop(detached=True)
    time.sleep(1.0)
    reading = machine_load.reading_since(watch)
    assert reading.shares is not None and reading.shares["cpu_foreign"] > 0
    loops = [taker for taker in reading.takers if " -c import time end = " in taker.command]
    assert len(loops) == 1 and loops[0].share >= 0.05  # >= 20 of 400 ticks: see above


def test_a_child_reaped_between_snapshots_counts_only_what_it_spent_after_the_first() -> None:
    before = {10: _process(1, 100), 11: _process(10, 30), 40: _process(1, 200)}
    # 11 spent 5 more ticks, exited and was reaped: its parent's children's time took all 35
    after = {10: _process(1, 100 + 35), 40: _process(1, 260)}
    assert own_ticks(before, after, [10]) == 5
