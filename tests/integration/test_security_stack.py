"""The stack's security defaults: loopback services and database, an optional API token, and
hostile template names treated as data."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import psycopg
import pytest

from instrument.workload.tasker_client import TaskerClient, TaskerError, task_request
from stack.local import postgres, supervisor
from stack.local.supervisor import ServiceSpec
from tests.listening import assert_loopback_only, is_loopback, listening_addresses
from tests.stack_harness import running_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

TOKEN = "stack-token-for-tests"
HOSTILE = ["x'; DROP TABLE tasker.tasks; --", "linear_workflow\"; DROP SCHEMA tasker CASCADE; --",
           "../../etc/passwd", "a\x00b", "linear_3' OR '1'='1", "x" * 5000]


def _sentinel(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS public.sentinel (n int)")
        conn.execute("INSERT INTO public.sentinel VALUES (42)")


def _sentinel_survives(url: str) -> None:
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT n FROM public.sentinel").fetchall() == [(42,)]
        assert conn.execute("SELECT to_regclass('tasker.tasks') IS NOT NULL").fetchone() == (True,)


@pytest.mark.postgres
def test_the_database_wants_its_password(tmp_path: Path) -> None:
    home = tmp_path / "home"
    info = postgres.ensure_started(home, relaxed=True)
    try:
        cluster = info.cluster
        assert cluster.password and f":{cluster.password}@" in info.database_url
        state_file = home / "pg" / "cluster.json"
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
        for wrong in ("", ":wrong"):
            with pytest.raises(psycopg.OperationalError, match="password"):
                psycopg.connect(info.database_url.replace(f":{cluster.password}@", f"{wrong}@"),
                                connect_timeout=5)
        with psycopg.connect(info.database_url) as conn:
            methods = {row[0] for row in conn.execute(
                "SELECT auth_method FROM pg_hba_file_rules WHERE error IS NULL")}
        assert methods == {"scram-sha-256"}
        assert not list(cluster.data_dir.parent.glob(".initdb-password"))
    finally:
        postgres.remove(home)


def test_the_database_listens_on_loopback_only(pg_url: str) -> None:
    port = urlsplit(pg_url).port
    listeners = [c for c in psutil.net_connections(kind="tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
    assert listeners and all(is_loopback(c.laddr.ip) for c in listeners), listeners
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW unix_socket_directories").fetchone() == ("",)
        rules = conn.execute("SELECT type, address FROM pg_hba_file_rules "
                             "WHERE error IS NULL").fetchall()
    hosts = [address for kind, address in rules if kind.startswith("host")]
    assert hosts and all(is_loopback(address) for address in hosts), rules


@pytest.mark.stack
def test_services_listen_on_loopback_and_the_api_wants_the_token(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sentinel(fresh_db)
    with running_stack(fresh_db, tmp_path / "logs", env={"SPANBENCH_STACK_TOKEN": TOKEN}) as stack:
        for service in (*stack.orchestrators, *stack.workers):
            assert_loopback_only(service.pid)
            assert service.url.startswith("http://127.0.0.1:")
        body = task_request("linear_3", "linear_workflow", {"even_number": 6})
        url = stack.orchestration.url
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"},
                        {"Authorization": TOKEN}):
            for method, path in (("POST", "/v1/tasks"), ("GET", "/v1/templates"),
                                 ("GET", "/v1/tasks/0195b6a4-0000-7000-8000-000000000001")):
                answer = httpx.request(method, url + path, json=body, headers=headers, timeout=10)
                assert answer.status_code == 401, (headers, path)
                assert "credential" in answer.json()["AuthenticationError"]["reason"]
                assert answer.headers["www-authenticate"].startswith("Bearer")
        for path in ("/health", "/ready"):  # open, as the contract leaves them
            assert httpx.get(url + path, timeout=10).status_code == 200
        assert httpx.get(url + "/v1/templates", headers={"X-API-Key": TOKEN},
                         timeout=10).status_code == 200

        with TaskerClient(url, headers={}) as anonymous, pytest.raises(TaskerError) as refused:
            anonymous.create_task(body)
        assert refused.value.status_code == 401
        monkeypatch.setenv("TASKER_AUTH_TOKEN", TOKEN)
        with TaskerClient(url) as client:  # the drivers' client, configured by tasker's variable
            created = client.create_task(body)
            final = client.wait_until_final(created["task_uuid"], time.monotonic() + 30, 0.02)
            assert final["execution_status"] == "all_complete"
            for name in HOSTILE:
                for fields in ({"name": name}, {"namespace": name}, {"version": name}):
                    hostile = {**body, **fields}
                    with pytest.raises(TaskerError) as error:
                        client.create_task(hostile)
                    assert error.value.status_code in (400, 404), error.value
                    assert "message" in str(error.value)
    _sentinel_survives(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM tasker.tasks").fetchone() == (1,)


def test_stack_host_is_loopback_unless_told_otherwise(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPANBENCH_STACK_HOST", raising=False)
    env = {**os.environ, "DATABASE_URL": pg_url}
    spec = [ServiceSpec("fake-1", "tests.fake_service")]
    default = supervisor.start_all(spec, env, tmp_path / "a")
    try:
        assert {ip for ip, _ in listening_addresses(default[0].pid)} == {"127.0.0.1"}
    finally:
        supervisor.stop(default)
    told = supervisor.start_all(spec, {**env, "SPANBENCH_STACK_HOST": "127.0.0.2"},
                                tmp_path / "b")
    try:
        assert {ip for ip, _ in listening_addresses(told[0].pid)} == {"127.0.0.2"}
        assert told[0].url.startswith("http://127.0.0.2:")
    finally:
        supervisor.stop(told)
    assert supervisor.service_url("0.0.0.0", 80) == "http://127.0.0.1:80"
    assert supervisor.service_url("::1", 80) == "http://[::1]:80"
