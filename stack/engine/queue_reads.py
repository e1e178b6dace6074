"""Reading a PGMQ queue without waiting for the read's own commit to reach the disk.

pgmq.read writes: it moves each message's visibility timeout and counts the read. A crash
that loses that write only makes the messages visible again, as a crash within the timeout
does anyway, so reads go through a one-connection pool of their own whose session runs with
synchronous_commit off, and the server's next durable commit (the claim, the result's
processing) flushes them. Every other connection keeps the cluster's durability (fsync and
synchronous_commit on by default).
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from stack.engine.database import make_pool

READ_SQL = "SELECT * FROM pgmq.read(%s, %s, %s)"
RELAXED_COMMITS = "-c synchronous_commit=off"


def make_read_pool(database_url: str, name: str) -> AsyncConnectionPool:
    """An unopened pool for one consumer loop's reads (one connection, relaxed commits)."""
    return make_pool(database_url, max_size=1, name=f"{name}-reads",
                     server_options=RELAXED_COMMITS)


async def read_messages(pool: AsyncConnectionPool, queue: str, visibility_timeout_s: int,
                        limit: int) -> list[dict[str, Any]]:
    """Up to `limit` visible messages of `queue`, hidden for the timeout: one statement."""
    async with pool.connection() as conn:
        cur = await conn.execute(READ_SQL, (queue, visibility_timeout_s, limit))
        return await cur.fetchall()
