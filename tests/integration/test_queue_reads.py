"""stack.engine.queue_reads: a read hides what it returns; only the read pool relaxes commits."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from stack.engine.database import make_pool
from stack.engine.queue_reads import make_read_pool, read_messages

QUEUE = "worker_reads_test_queue"


SETTING_SQL = "SELECT setting, source FROM pg_settings WHERE name = 'synchronous_commit'"


async def _synchronous_commit(pool: AsyncConnectionPool) -> tuple[str, str]:
    """The session's synchronous_commit and where it came from ("client": the connection's
    options; the test cluster itself may run with it off)."""
    async with pool.connection() as conn:
        cur = await conn.execute(SETTING_SQL)
        row = await cur.fetchone()
    assert row is not None
    return str(row["setting"]), str(row["source"])


Setting = tuple[str, str]


async def _read_twice(url: str
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Setting, Setting]:
    reads, pool = make_read_pool(url, "test"), make_pool(url, max_size=2, name="test")
    await reads.open()
    await pool.open()
    try:
        first = await read_messages(reads, QUEUE, 30, 10)
        second = await read_messages(reads, QUEUE, 30, 10)
        return first, second, await _synchronous_commit(reads), await _synchronous_commit(pool)
    finally:
        await reads.close()
        await pool.close()


def test_a_read_hides_its_messages_and_only_reads_relax_commits(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("SELECT pgmq.create(%s)", (QUEUE,))
        conn.execute("SELECT pgmq.send(%s, %s::jsonb)", (QUEUE, '{"n": 1}'))
        conn.execute("SELECT pgmq.send(%s, %s::jsonb)", (QUEUE, '{"n": 2}'))
    first, second, on_reads, on_pool = asyncio.run(_read_twice(fresh_db))
    assert sorted(message["message"]["n"] for message in first) == [1, 2]
    assert [message["read_ct"] for message in first] == [1, 1]
    assert second == []
    assert on_reads == ("off", "client")
    assert on_pool[1] != "client"  # claims and results commit as the cluster says
