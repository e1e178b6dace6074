"""A throwaway PostgreSQL cluster under <home>/pg: initdb, start, reuse, stop.

The cluster listens on 127.0.0.1 only (no unix socket) and asks for a password made at
initdb (scram-sha-256), so other local users cannot connect; it is described by
<home>/pg/cluster.json (mode 0600: it holds the password) so later commands find it again.
A cluster made before passwords (no password recorded) keeps trusting loopback.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import psycopg

from stack.local import processes
from stack.local.pg_runtime import (
    ClusterError,
    RunAs,
    cluster_root,
    find_bin_dir,
    give_to,
    prepare_dir,
    run_program,
    server_account,
)

__all__ = [
    "Cluster",
    "ClusterError",
    "ClusterInfo",
    "ensure_started",
    "is_running",
    "load",
    "remove",
    "server_settings",
    "stop",
]

SUPERUSER = "postgres"
DATABASE = "spanbench"
CONF_FILE = "spanbench.conf"
START_TIMEOUT_S = 30.0

BASE_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "200",
    "shared_buffers": "256MB",
}
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
RELAXED = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
REPORTED_SETTINGS = (
    "server_version",
    "port",
    "listen_addresses",
    "max_connections",
    "shared_buffers",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_level",
    "work_mem",
    "effective_cache_size",
)


@dataclass(frozen=True)
class Cluster:
    """Where a throwaway cluster lives and how to reach it."""

    data_dir: Path
    port: int
    user: str | None
    bin_dir: Path
    log_file: Path
    relaxed: bool = False
    password: str | None = None

    def _url(self, database: str) -> str:
        login = SUPERUSER if self.password is None else f"{SUPERUSER}:{self.password}"
        return f"postgresql://{login}@127.0.0.1:{self.port}/{database}"

    @property
    def database_url(self) -> str:
        return self._url(DATABASE)

    @property
    def admin_url(self) -> str:
        return self._url("postgres")

    def to_json(self) -> dict[str, object]:
        return {key: str(value) if isinstance(value, Path) else value
                for key, value in asdict(self).items()}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Cluster:
        return cls(
            data_dir=Path(str(raw["data_dir"])),
            port=int(str(raw["port"])),
            user=None if raw.get("user") is None else str(raw["user"]),
            bin_dir=Path(str(raw["bin_dir"])),
            log_file=Path(str(raw["log_file"])),
            relaxed=bool(raw.get("relaxed", False)),
            password=None if raw.get("password") is None else str(raw["password"]),
        )


@dataclass(frozen=True)
class ClusterInfo:
    """A started cluster, the URL of its spanbench database and the settings read back."""

    cluster: Cluster
    database_url: str
    server_settings: dict[str, str]
    reused: bool


def _state_file(home: Path) -> Path:
    return home.absolute() / "pg" / "cluster.json"


def load(home: Path) -> Cluster | None:
    """The cluster recorded under `home`, or None."""
    path = _state_file(home)
    if not path.is_file():
        return None
    try:
        return Cluster.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError) as error:
        raise ClusterError(f"{path} is unreadable ({error!r}): delete it and retry") from error


def _save(home: Path, cluster: Cluster) -> None:
    path = _state_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(path, json.dumps(cluster.to_json(), indent=2) + "\n")


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (it holds a password)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
    with os.fdopen(fd, "w") as file:
        file.write(text)


def _account(cluster: Cluster) -> RunAs | None:
    return None if cluster.user is None else RunAs.lookup(cluster.user)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the postmaster binds: connections of a stopped server in TIME_WAIT must not make
        # its own port look taken, or a restart would move to another port behind clients' backs.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _log_tail(log_file: Path, lines: int = 15) -> str:
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"


def is_running(home: Path) -> bool:
    """Whether the cluster recorded under `home` has a live postmaster."""
    cluster = load(home)
    return cluster is not None and _status(cluster)


def postmaster_pid(cluster: Cluster) -> int | None:
    """The pid in the cluster's postmaster.pid; None when there is none."""
    try:
        first_line = (cluster.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        return int(first_line)
    except (OSError, ValueError):
        return None


def _status(cluster: Cluster) -> bool:
    """Whether the postmaster named in postmaster.pid is alive (a zombie counts as dead)."""
    pid = postmaster_pid(cluster)
    return pid is not None and processes.alive(pid)


def _clear_stale_pid_file(cluster: Cluster) -> None:
    """Remove postmaster.pid of a dead postmaster: a zombie would make postgres refuse to start."""
    pid = postmaster_pid(cluster)
    if pid is not None and not processes.alive(pid):
        (cluster.data_dir / "postmaster.pid").unlink(missing_ok=True)


def _initdb(cluster: Cluster, account: RunAs | None) -> None:
    data_dir = cluster.data_dir
    if data_dir.exists() and not (data_dir / "PG_VERSION").is_file():
        shutil.rmtree(data_dir)  # a half-made data dir from an interrupted initdb
    args = ["-D", str(data_dir), "-U", SUPERUSER, "--encoding=UTF8", "--locale=C",
            "--no-instructions"]
    password_file = data_dir.parent / ".initdb-password"
    if cluster.password is None:
        args += ["--auth-local=trust", "--auth-host=trust"]
    else:
        _write_private(password_file, cluster.password + "\n")
        give_to(password_file, account)
        args += ["--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
                 f"--pwfile={password_file}"]
    if cluster.relaxed:
        args.append("--no-sync")
    try:
        result = run_program(cluster.bin_dir, "initdb", args, account, cwd=data_dir.parent,
                             timeout=120)
    finally:
        password_file.unlink(missing_ok=True)
    if result.returncode != 0:
        raise ClusterError(
            f"initdb into {data_dir} failed: {result.stderr.strip() or result.stdout.strip()}"
        )
    with (data_dir / "postgresql.conf").open("a") as conf:
        conf.write(f"\ninclude_if_exists = '{CONF_FILE}'\n")


def _write_conf(cluster: Cluster, account: RunAs | None) -> None:
    settings = {**BASE_SETTINGS, "port": str(cluster.port),
                **(RELAXED if cluster.relaxed else DURABLE)}
    path = cluster.data_dir / CONF_FILE
    path.write_text(
        "# written by spanbench on every start; edits are overwritten\n"
        + "".join(f"{key} = '{value}'\n" for key, value in settings.items())
    )
    path.chmod(0o600)
    give_to(path, account)


def _start(cluster: Cluster, account: RunAs | None, deadline: float) -> Cluster:
    """Start the postmaster, retrying while a killed one's leftovers clear or the port is taken."""
    while True:
        _write_conf(cluster, account)
        result = run_program(
            cluster.bin_dir, "pg_ctl",
            ["start", "-w", "-t", str(int(START_TIMEOUT_S)), "-D", str(cluster.data_dir),
             "-l", str(cluster.log_file)],
            account, cwd=cluster.data_dir.parent, timeout=START_TIMEOUT_S + 10,
        )
        if result.returncode == 0:
            return cluster
        tail = _log_tail(cluster.log_file)
        if time.monotonic() > deadline:
            raise ClusterError(
                f"PostgreSQL in {cluster.data_dir} did not start "
                f"({result.stderr.strip()}); server log {cluster.log_file}:\n{tail}"
            )
        if "could not bind" in tail or "already in use" in tail:
            cluster = replace(cluster, port=_free_port())
        time.sleep(0.2)


def _wait_accepting(cluster: Cluster, deadline: float) -> None:
    while True:
        try:
            with psycopg.connect(cluster.admin_url, connect_timeout=2):
                return
        except psycopg.OperationalError as error:
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"PostgreSQL at 127.0.0.1:{cluster.port} does not accept connections "
                    f"({error}); server log {cluster.log_file}:\n{_log_tail(cluster.log_file)}"
                ) from error
        time.sleep(0.05)


def _ensure_database(cluster: Cluster) -> None:
    with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if found is None:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


def server_settings(url: str) -> dict[str, str]:
    """The server settings that matter for a benchmark, as `SHOW` reports them."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        return {name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
                for name in REPORTED_SETTINGS}


def _reload(cluster: Cluster, deadline: float) -> None:
    """Apply the written settings to a running server and wait until they show."""
    _write_conf(cluster, _account(cluster))
    wanted = (RELAXED if cluster.relaxed else DURABLE)["fsync"]
    with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")
    while True:
        with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
            if conn.execute("SHOW fsync").fetchone() == (wanted,):
                return
        if time.monotonic() > deadline:
            raise ClusterError(f"PostgreSQL at 127.0.0.1:{cluster.port} ignored a reload")
        time.sleep(0.02)


def _boot(home: Path, recorded: Cluster | None, relaxed: bool, deadline: float) -> Cluster:
    """Create the cluster if needed, then start it."""
    if recorded is not None and (recorded.data_dir / "PG_VERSION").is_file():
        cluster = replace(recorded, relaxed=relaxed)
    else:
        account = server_account()
        root = cluster_root(home, account)
        cluster = Cluster(
            data_dir=root / "data", port=_free_port(),
            user=account.name if account else None, bin_dir=find_bin_dir(),
            log_file=root / "log" / "postgres.log", relaxed=relaxed,
            password=secrets.token_hex(24),
        )
    account = _account(cluster)
    prepare_dir(cluster.data_dir.parent, account)
    prepare_dir(cluster.log_file.parent, account)
    if not (cluster.data_dir / "PG_VERSION").is_file():
        _initdb(cluster, account)
    if not _port_free(cluster.port):
        cluster = replace(cluster, port=_free_port())
    _clear_stale_pid_file(cluster)
    return _start(cluster, account, deadline)


def ensure_started(home: Path, relaxed: bool = False) -> ClusterInfo:
    """Start the cluster under `home` (creating it on first use), or reuse a running one.

    `relaxed` turns fsync, synchronous_commit and full_page_writes off. A running cluster
    gets the requested durability by a configuration reload.
    """
    deadline = time.monotonic() + START_TIMEOUT_S
    recorded = load(home)
    reused = recorded is not None and _status(recorded)
    if recorded is not None and reused:
        cluster = replace(recorded, relaxed=relaxed)
        _reload(cluster, deadline)
    else:
        cluster = _boot(home, recorded, relaxed, deadline)
    _save(home, cluster)
    _wait_accepting(cluster, deadline)
    _ensure_database(cluster)
    return ClusterInfo(cluster, cluster.database_url, server_settings(cluster.database_url), reused)


def stop(home: Path, timeout_s: float = 30) -> bool:
    """Stop the cluster under `home` (fast shutdown). True when a running server was stopped."""
    cluster = load(home)
    if cluster is None or not _status(cluster):
        return False
    result = run_program(
        cluster.bin_dir, "pg_ctl",
        ["stop", "-m", "fast", "-w", "-t", str(int(timeout_s)), "-D", str(cluster.data_dir)],
        _account(cluster), cwd=cluster.data_dir.parent, timeout=timeout_s + 10,
    )
    if result.returncode != 0 and _status(cluster):
        raise ClusterError(
            f"pg_ctl stop of {cluster.data_dir} failed: {result.stderr.strip()}; "
            f"server log {cluster.log_file}"
        )
    return True


def remove(home: Path) -> None:
    """Stop the cluster under `home` and delete its files (data dir included)."""
    cluster = load(home)
    if cluster is None:
        return
    stop(home)
    shutil.rmtree(cluster.data_dir.parent, ignore_errors=True)
    _state_file(home).unlink(missing_ok=True)
