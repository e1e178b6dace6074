"""stack.local.postgres against real server binaries: start (as an unprivileged user when root),
reuse, restart after kill -9, stop."""

from __future__ import annotations

import os
import pwd
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from stack.local import pg_runtime, postgres, processes

pytestmark = pytest.mark.postgres


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "home"
    postgres.remove(tmp_path / "home")


def _postmaster_pid(cluster: postgres.Cluster) -> int:
    return int((cluster.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])


def _processes_using(data_dir: Path) -> list[int]:
    """Live processes whose command line names `data_dir`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and str(data_dir) in processes.command_line(int(entry.name)):
            found.append(int(entry.name))
    return [pid for pid in found if processes.alive(pid)]


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def test_start_query_stop(home: Path) -> None:
    info = postgres.ensure_started(home, relaxed=False)
    cluster = info.cluster
    assert not info.reused
    assert cluster.password
    assert info.database_url == (
        f"postgresql://postgres:{cluster.password}@127.0.0.1:{cluster.port}/spanbench")
    assert postgres.is_running(home)
    with psycopg.connect(info.database_url) as conn:
        row = conn.execute("SELECT current_user, current_database()").fetchone()
    assert row == ("postgres", "spanbench")
    settings = info.server_settings
    assert (settings["fsync"], settings["synchronous_commit"], settings["full_page_writes"]) == (
        "on", "on", "on",
    )
    assert settings["max_connections"] == "200"
    assert settings["shared_buffers"] == "256MB"
    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["port"] == str(cluster.port)
    assert postgres.load(home) == cluster

    if os.geteuid() == 0:
        account = pwd.getpwnam(cluster.user or "")
        assert cluster.user in ("postgres", "nobody")
        assert cluster.data_dir.stat().st_uid == account.pw_uid
        assert pg_runtime.traversable(cluster.data_dir, pg_runtime.RunAs.lookup(account.pw_name))
        assert _uid_of(_postmaster_pid(cluster)) == account.pw_uid

    assert postgres.stop(home)
    assert not postgres.is_running(home)
    assert _processes_using(cluster.data_dir) == []
    assert not postgres.stop(home)


def test_second_up_reuses_and_applies_durability(home: Path) -> None:
    first = postgres.ensure_started(home, relaxed=True)
    assert first.server_settings["fsync"] == "off"
    second = postgres.ensure_started(home, relaxed=False)
    assert second.reused
    assert second.cluster.port == first.cluster.port
    assert _postmaster_pid(second.cluster) == _postmaster_pid(first.cluster)
    assert second.server_settings["fsync"] == "on"
    assert second.server_settings["synchronous_commit"] == "on"


def test_up_after_kill_9_of_the_postmaster(home: Path) -> None:
    first = postgres.ensure_started(home, relaxed=True)
    killed = _postmaster_pid(first.cluster)
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while postgres.is_running(home):
        assert time.monotonic() < deadline, "postmaster survived SIGKILL"
        time.sleep(0.02)
    second = postgres.ensure_started(home, relaxed=True)
    assert not second.reused
    assert _postmaster_pid(second.cluster) != killed
    with psycopg.connect(second.database_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_remove_deletes_the_cluster_files(home: Path) -> None:
    info = postgres.ensure_started(home, relaxed=True)
    postgres.remove(home)
    assert not info.cluster.data_dir.exists()
    assert postgres.load(home) is None
