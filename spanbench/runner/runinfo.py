"""What a run records about where it ran: commit, host, database versions (run.json's facts)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import psycopg

from spanbench import __version__
from stack.local.migrate import installed_pgmq

SOURCE_DIR = Path(__file__).resolve().parent


def git_commit(cwd: Path | None = SOURCE_DIR) -> str:
    """The commit of the spanbench checkout that runs (not of the working directory), with
    '-dirty' when tracked files changed; 'unknown' when not run from a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def database_versions(url: str) -> dict[str, Any]:
    """PostgreSQL and PGMQ versions and the durability settings in force."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                    for name in ("server_version", "fsync", "synchronous_commit",
                                 "full_page_writes", "shared_buffers", "max_connections")}
        pgmq = installed_pgmq(conn)
    return {"postgresql": settings.pop("server_version"),
            "pgmq": {"mode": pgmq[0], "version": pgmq[1]} if pgmq else None,
            "settings": settings}


def host() -> dict[str, Any]:
    return {"name": platform.node(), "cpu": cpu_model(), "cores": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version(),
            "spanbench": __version__}

