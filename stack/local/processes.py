"""Whether a process is alive, counting zombies as dead.

A container's init may never reap orphans, so a killed server can linger as a zombie that
`kill(pid, 0)` still reports as present.
"""

from __future__ import annotations

import os
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether `pid` is a running (not zombie) process; reaps it first if it is our child."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return _state(pid) not in ("Z", "X", None)


def _state(pid: int) -> str | None:
    """The one-letter state from /proc/<pid>/stat ('R', 'S', 'Z', ...); 'R' without /proc."""
    stat = Path(f"/proc/{pid}/stat")
    if not Path("/proc/self/stat").exists():
        return "R"
    try:
        text = stat.read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()[0]


def command_line(pid: int) -> list[str]:
    """The argv of `pid` from /proc, or [] when unknown."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is in process group `pgid` (reaping our own child)."""
    leader_alive = alive(pgid)
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return leader_alive
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False
