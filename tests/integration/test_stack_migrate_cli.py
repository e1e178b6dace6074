"""`spanbench stack migrate`: the one-shot schema job of deployments that run the services."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import psycopg

from tests.sink_harness import REPO


def _migrate(url: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    if url is not None:
        env["DATABASE_URL"] = url
    return subprocess.run([sys.executable, "-m", "spanbench", "stack", "migrate", "--json"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_migrate_installs_the_schema_once(make_database: Callable[[], str]) -> None:
    url = make_database()
    first = _migrate(url)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["applied"], report
    with psycopg.connect(url) as conn:
        versions = conn.execute("SELECT max(version) FROM tasker.schema_migrations").fetchone()
        assert conn.execute("SELECT count(*) FROM pgmq.meta").fetchone() is not None
    assert versions is not None and versions[0] == report["current_version"]
    again = _migrate(url)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["applied"] == []


def test_migrate_without_database_url_names_the_variable() -> None:
    result = _migrate(None)
    assert result.returncode == 1
    assert "DATABASE_URL is not set" in result.stderr
