"""stack.local.processes: liveness that counts zombies as dead."""

from __future__ import annotations

import subprocess
import sys
import time

from stack.local import processes


def test_exited_child_is_dead_and_reaped() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while processes.alive(child.pid):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_zombie_that_is_not_our_child_is_dead() -> None:
    # The middle process starts a child that exits and is never reaped: a zombie we cannot reap.
    middle = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys, time\n"
         "p = subprocess.Popen([sys.executable, '-c', 'pass'])\n"
         "print(p.pid, flush=True)\n"
         "time.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        assert middle.stdout is not None
        zombie = int(middle.stdout.readline())
        deadline = time.monotonic() + 10
        while processes.alive(zombie):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert processes.alive(middle.pid)
        assert processes.group_alive(middle.pid)
    finally:
        middle.kill()
        middle.wait()
    assert not processes.group_alive(middle.pid)
