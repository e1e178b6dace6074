"""The supervisor and `spanbench stack up/status/down`, with tests/fake_service.py as services."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stack.local import postgres, processes, supervisor
from stack.local.supervisor import ServiceSpec, SupervisorError

REPO = Path(__file__).resolve().parents[2]
FAKE = "tests.fake_service"
FAKE_MODULES = ["--orchestration-module", FAKE, "--worker-module", FAKE]


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _specs() -> list[ServiceSpec]:
    return [
        ServiceSpec("orchestration-1", FAKE),
        ServiceSpec("worker-1", FAKE, ("--worker-id", "1")),
    ]


def _no_group_alive(services: list[supervisor.Service]) -> bool:
    return not any(processes.group_alive(s.pid) for s in services)


def test_supervisor_starts_and_stops_services(pg_url: str, tmp_path: Path) -> None:
    services = supervisor.start_all(_specs(), _env(DATABASE_URL=pg_url), tmp_path / "logs")
    try:
        assert [s.name for s in services] == ["orchestration-1", "worker-1"]
        for service in services:
            result = supervisor.health(service.url)
            assert result["healthy"], result
            assert result["body"] == {"status": "healthy", "pid": service.pid}
            assert service.log_file == tmp_path / "logs" / f"{service.name}.log"
    finally:
        killed = supervisor.stop(services)
    assert killed == []
    assert _no_group_alive(services)


def test_supervisor_kills_a_service_that_ignores_sigterm(pg_url: str, tmp_path: Path) -> None:
    env = _env(DATABASE_URL=pg_url, FAKE_SERVICE_MODE="stubborn")
    services = supervisor.start_all(_specs()[:1], env, tmp_path / "logs")
    assert supervisor.stop(services, timeout_s=0.3) == ["orchestration-1"]
    assert _no_group_alive(services)


def test_a_crashing_service_is_reported_with_its_log(pg_url: str, tmp_path: Path) -> None:
    env = _env(DATABASE_URL=pg_url, FAKE_SERVICE_MODE="crash")
    expected = r"(?s)worker-1.*worker-1\.log.*crashing on purpose"
    with pytest.raises(SupervisorError, match=expected) as caught:
        supervisor.start_all(_specs()[1:], env, tmp_path / "logs")
    assert "exited during start-up" in str(caught.value)


def test_an_unhealthy_service_times_out_naming_its_log(tmp_path: Path) -> None:
    env = _env(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    expected = r"not healthy after 1 s: worker-1 \(log .*worker-1\.log\)"
    with pytest.raises(SupervisorError, match=expected):
        supervisor.start_all(_specs()[1:], env, tmp_path / "logs", timeout_s=1)


def _cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spanbench", "stack", *args],
        cwd=REPO, env=_env(SPANBENCH_HOME=str(home), **env),
        capture_output=True, text=True, timeout=120,
    )


def _live_postgres_for(data_dir: str) -> list[int]:
    return [
        int(entry.name) for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and data_dir in processes.command_line(int(entry.name))
        and processes.alive(int(entry.name))
    ]


@pytest.mark.postgres
def test_stack_up_status_down_with_own_cluster(tmp_path: Path) -> None:
    home = tmp_path / "home"
    try:
        up = _cli(home, "up", "--workers", "2", "--relaxed", "--json", *FAKE_MODULES)
        assert up.returncode == 0, up.stderr
        state = json.loads(up.stdout)
        assert state["already_running"] is False
        assert state["cluster"] is not None
        assert state["database_url"].startswith("postgresql://postgres:")
        assert "@127.0.0.1:" in state["database_url"]
        assert state["orchestration_url"] == state["orchestration_urls"][0]
        assert len(state["worker_urls"]) == 2
        assert set(state["pids"]) == {"orchestration-1", "worker-1", "worker-2"}
        assert state["server_settings"]["fsync"] == "off"
        assert state["pgmq"]["mode"] in ("sql", "extension")
        assert json.loads((home / "stack.json").read_text())["pids"] == state["pids"]

        again = _cli(home, "up", "--json", *FAKE_MODULES)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["already_running"] is True
        assert json.loads(again.stdout)["pids"] == state["pids"]

        status = _cli(home, "status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        report = json.loads(status.stdout)
        assert report["healthy"] is True
        for key in ("database_url", "orchestration_url", "orchestration_urls", "worker_urls",
                    "pids"):
            assert report[key] == state[key]
        assert report["health"]["database"] == {"reachable": True, "error": None}
        services = report["health"]["services"]
        assert set(services) == set(state["pids"])
        assert all(entry["healthy"] and entry["status_code"] == 200 for entry in services.values())

        human = _cli(home, "status")
        assert human.returncode == 0
        assert "worker-2" in human.stdout
    finally:
        down = _cli(home, "down")
    assert down.returncode == 0, down.stderr
    assert "database stopped" in down.stdout
    assert not (home / "stack.json").exists()
    assert not any(processes.alive(pid) for pid in state["pids"].values())
    assert _live_postgres_for(str(state["cluster"]["data_dir"])) == []

    gone = _cli(home, "status", "--json")
    assert gone.returncode == 1
    assert "spanbench stack up" in json.loads(gone.stdout)["error"]
    assert _cli(home, "down").returncode == 0
    postgres.remove(home)


def test_status_reports_a_dead_service(fresh_db: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    up = _cli(home, "up", "--workers", "1", "--json", *FAKE_MODULES, DATABASE_URL=fresh_db)
    assert up.returncode == 0, up.stderr
    state = json.loads(up.stdout)
    try:
        assert state["cluster"] is None
        assert state["database_url"] == fresh_db
        os.kill(state["pids"]["worker-1"], 9)
        status = _cli(home, "status", "--json", DATABASE_URL=fresh_db)
        assert status.returncode == 1
        report = json.loads(status.stdout)
        assert report["healthy"] is False
        assert report["health"]["services"]["worker-1"]["healthy"] is False
        assert report["health"]["services"]["orchestration-1"]["healthy"] is True
    finally:
        down = _cli(home, "down", DATABASE_URL=fresh_db)
    assert down.returncode == 0, down.stderr
    assert "database stopped" not in down.stdout
    assert not any(processes.alive(pid) for pid in state["pids"].values())


def test_stack_up_failure_names_the_log_and_leaves_nothing(fresh_db: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    up = _cli(home, "up", "--workers", "1", *FAKE_MODULES,
              DATABASE_URL=fresh_db, FAKE_SERVICE_MODE="crash")
    assert up.returncode == 1
    # both fake services crash; whichever the supervisor notices first is named
    assert re.search(r"(orchestration|worker)-1\.log", up.stderr.replace("\n", ""))
    assert not (home / "stack.json").exists()
