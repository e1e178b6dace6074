"""stack.local.migrate against real PostgreSQL: PGMQ, versioned files, idempotence, drift."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from pgmq.install import get_embedded_sql_version

from stack.local import migrate
from stack.local.migrate import MigrationError


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "sql"
    directory.mkdir()
    (directory / "001_things.sql").write_text(
        "CREATE TABLE tasker.things (id integer PRIMARY KEY, label text NOT NULL);\n"
        "INSERT INTO tasker.things VALUES (1, 'one');\n"
    )
    (directory / "002_count.sql").write_text(
        "CREATE FUNCTION tasker.thing_count() RETURNS bigint\n"
        "LANGUAGE sql AS $$ SELECT count(*) FROM tasker.things $$;\n"
    )
    return directory


def _ledger(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT version, name FROM tasker.schema_migrations ORDER BY version"
        ).fetchall()
    return [(int(version), str(name)) for version, name in rows]


def test_migrate_applies_then_skips(make_database: Callable[[], str], sql_dir: Path) -> None:
    url = make_database()
    first = migrate.migrate(url, sql_dir)
    assert first.applied == (1, 2)
    assert first.current_version == 2
    if first.pgmq_mode == "sql":
        assert first.pgmq_version == get_embedded_sql_version()
    else:
        assert first.pgmq_mode == "extension"
    assert _ledger(url) == [(1, "things"), (2, "count")]

    second = migrate.migrate(url, sql_dir)
    assert second.applied == ()
    assert second.current_version == 2
    assert second.pgmq_version == first.pgmq_version

    (sql_dir / "003_more.sql").write_text("INSERT INTO tasker.things VALUES (2, 'two');")
    third = migrate.migrate(url, sql_dir)
    assert third.applied == (3,)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT tasker.thing_count()").fetchone() == (2,)


def test_changed_applied_file_is_an_error(
    make_database: Callable[[], str], sql_dir: Path
) -> None:
    url = make_database()
    migrate.migrate(url, sql_dir)
    (sql_dir / "001_things.sql").write_text("CREATE TABLE tasker.things (id integer);")
    with pytest.raises(MigrationError, match=r"001_things\.sql changed"):
        migrate.migrate(url, sql_dir)


def test_missing_applied_file_is_an_error(
    make_database: Callable[[], str], sql_dir: Path
) -> None:
    url = make_database()
    migrate.migrate(url, sql_dir)
    (sql_dir / "002_count.sql").unlink()
    with pytest.raises(MigrationError, match=r"schema version 2 \(count\)"):
        migrate.migrate(url, sql_dir)


def test_failing_file_is_named_and_rolled_back(
    make_database: Callable[[], str], sql_dir: Path
) -> None:
    url = make_database()
    (sql_dir / "003_broken.sql").write_text(
        "CREATE TABLE tasker.half (id integer);\nSELEC oops;\n"
    )
    with pytest.raises(MigrationError, match=r"003_broken\.sql failed"):
        migrate.migrate(url, sql_dir)
    assert _ledger(url) == [(1, "things"), (2, "count")]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('tasker.half')").fetchone() == (None,)


def test_concurrent_migrators_serialise(
    make_database: Callable[[], str], sql_dir: Path
) -> None:
    url = make_database()
    with ThreadPoolExecutor(max_workers=3) as pool:
        reports = list(pool.map(lambda _: migrate.migrate(url, sql_dir), range(3)))
    assert sorted(report.applied for report in reports) == [(), (), (1, 2)]
    assert {report.current_version for report in reports} == {2}


def test_pgmq_round_trip(make_database: Callable[[], str], sql_dir: Path) -> None:
    url = make_database()
    migrate.migrate(url, sql_dir)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pgmq.create('spanbench_roundtrip')")
        sent = conn.execute(
            "SELECT * FROM pgmq.send('spanbench_roundtrip', %s::jsonb)",
            (json.dumps({"hello": "pgmq"}),),
        ).fetchone()
        assert sent is not None
        read = conn.execute(
            "SELECT msg_id, message FROM pgmq.read('spanbench_roundtrip', 30, 1)"
        ).fetchall()
        assert read == [(sent[0], {"hello": "pgmq"})]
        assert conn.execute(
            "SELECT pgmq.delete('spanbench_roundtrip', %s::bigint)", (sent[0],)
        ).fetchone() == (True,)


def test_fresh_db_is_migrated_with_the_stack_schema(fresh_db: str) -> None:
    expected = [m.version for m in migrate.discover(migrate.default_sql_dir())]
    assert [version for version, _ in _ledger(fresh_db)] == expected
    report = migrate.migrate(fresh_db)
    assert report.applied == ()
    assert report.current_version == max(expected, default=0)
    assert report.pgmq_mode in ("sql", "extension")


def test_fresh_dbs_are_distinct(fresh_db: str, make_database: Callable[[], str]) -> None:
    other = make_database()
    assert other != fresh_db
    with psycopg.connect(other) as conn:
        assert conn.execute("SELECT to_regclass('tasker.schema_migrations')").fetchone() == (None,)


def test_task_identity_migration_keeps_tasks_that_shared_a_hash(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    """A home migrated before 006 may hold tasks sharing an identity_hash (repeated
    idempotency keys): 006 gives those their own hash, then makes the hash unique."""
    before_006 = tmp_path / "sql"
    before_006.mkdir()
    from_006: list[int] = []
    for migration in migrate.discover(migrate.default_sql_dir()):
        if migration.version < 6:
            (before_006 / migration.filename).write_text(migration.sql)
        else:
            from_006.append(migration.version)
    url = make_database()
    migrate.migrate(url, before_006)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO tasker.task_namespaces (name) VALUES ('ns')")
        conn.execute("INSERT INTO tasker.named_tasks (task_namespace_uuid, name) "
                     "SELECT task_namespace_uuid, 't' FROM tasker.task_namespaces")
        conn.execute("INSERT INTO tasker.tasks (named_task_uuid, identity_hash, correlation_id) "
                     "SELECT named_task_uuid, h, gen_random_uuid() FROM tasker.named_tasks, "
                     "unnest(ARRAY['same', 'same', 'own']) AS h")
    assert migrate.migrate(url).applied == tuple(from_006)
    with psycopg.connect(url) as conn:
        hashes = sorted(row[0] for row in conn.execute("SELECT identity_hash FROM tasker.tasks"))
        assert len(hashes) == 3 and len(set(hashes)) == 3 and "own" in hashes
        assert all(h.startswith("pre-006-") for h in hashes if h != "own")
        assert conn.execute("SELECT DISTINCT identity_strategy::text FROM tasker.named_tasks"
                            ).fetchall() == [("strict",)]
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO tasker.tasks (named_task_uuid, identity_hash, "
                         "correlation_id) SELECT named_task_uuid, 'own', gen_random_uuid() "
                         "FROM tasker.named_tasks")
