"""Reading a PGMQ queue without waiting for the read's own commit to reach the disk.

pgmq.read writes: it moves each message's visibility timeout and counts the read. A crash
that loses that write only makes the messages visible again, as a crash within the timeout
does anyway, so the read's transaction alone commits with synchronous_commit off and the
server's next durable commit (the claim, the result's processing) flushes it. Everything else
keeps the cluster's durability (fsync and synchronous_commit on by default).
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

READ_SQL = "SELECT * FROM pgmq.read(%s, %s, %s)"
ASYNC_COMMIT_SQL = "SET LOCAL synchronous_commit TO off"


async def read_messages(conn: AsyncConnection, queue: str, visibility_timeout_s: int,
                        limit: int) -> list[dict[str, Any]]:
    """Up to `limit` visible messages of `queue`, hidden for the timeout; one round trip."""
    async with conn.pipeline(), conn.transaction():
        await conn.execute(ASYNC_COMMIT_SQL)
        cur = await conn.execute(READ_SQL, (queue, visibility_timeout_s, limit))
    return await cur.fetchall()
