"""The reference stack's processes: its services and its cluster's postmaster, the roots of
the process trees a run does not count as foreign CPU (spanbench.runner.machine_load)."""

from __future__ import annotations

from pathlib import Path

from stack.local.postgres import Cluster
from stack.local.stackfile import StackState
from stack.local.supervisor import Service


def _state(tmp_path: Path, cluster: Cluster | None) -> StackState:
    services = {name: Service(name, f"stack.engine.{name}", pid, "http://127.0.0.1:1",
                              tmp_path / f"{name}.log")
                for name, pid in (("orchestration", 4001), ("worker", 4002))}
    return StackState("postgresql://x", None if cluster is None else cluster.to_json(),
                      services, ("orchestration",), ("worker",), {}, {}, 11, "now")


def _cluster(tmp_path: Path) -> Cluster:
    return Cluster(tmp_path / "data", 5432, "postgres", tmp_path / "bin", tmp_path / "pg.log")


def test_the_roots_are_the_services_and_the_postmaster(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path)
    cluster.data_dir.mkdir()
    (cluster.data_dir / "postmaster.pid").write_text("3999\n/data\n1700000000\n5432\n")
    assert _state(tmp_path, cluster).process_roots() == (4001, 4002, 3999)


def test_without_its_own_cluster_or_postmaster_the_roots_are_unknown(tmp_path: Path) -> None:
    assert _state(tmp_path, None).process_roots() is None  # a database it did not start
    assert _state(tmp_path, _cluster(tmp_path)).process_roots() is None  # no postmaster.pid
