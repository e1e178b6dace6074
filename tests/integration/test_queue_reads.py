"""stack.engine.queue_reads: a read hides what it returns, and its relaxed commit stays its own."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from psycopg.rows import dict_row

from stack.engine.queue_reads import read_messages

QUEUE = "worker_reads_test_queue"


async def _read_twice(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)
    async with conn:
        await conn.execute("SET synchronous_commit TO on")  # the test cluster may run relaxed
        first = await read_messages(conn, QUEUE, 30, 10)
        second = await read_messages(conn, QUEUE, 30, 10)
        cur = await conn.execute("SHOW synchronous_commit")
        row = await cur.fetchone()
    assert row is not None
    return first, second, row["synchronous_commit"]


def test_a_read_hides_its_messages_and_leaves_commits_durable(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("SELECT pgmq.create(%s)", (QUEUE,))
        conn.execute("SELECT pgmq.send(%s, %s::jsonb)", (QUEUE, '{"n": 1}'))
        conn.execute("SELECT pgmq.send(%s, %s::jsonb)", (QUEUE, '{"n": 2}'))
    first, second, synchronous_commit = asyncio.run(_read_twice(fresh_db))
    assert sorted(message["message"]["n"] for message in first) == [1, 2]
    assert [message["read_ct"] for message in first] == [1, 1]
    assert second == []
    # SET LOCAL: the pooled connection's next transaction (a claim, a result) commits durably.
    assert synchronous_commit == "on"
