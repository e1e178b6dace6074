"""Connection pools, the health probe and the pipelined transaction the services share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

POOL_TIMEOUT_S = 5.0
HEALTH_TIMEOUT_S = 2.0


def make_pool(database_url: str, max_size: int, name: str,
              server_options: str | None = None) -> AsyncConnectionPool:
    """An unopened pool of autocommit connections; `server_options` (libpq's `options`, such as
    "-c synchronous_commit=off") apply to every statement its connections run."""
    kwargs: dict[str, object] = {"autocommit": True, "row_factory": dict_row,
                                 "prepare_threshold": 0}
    if server_options is not None:
        kwargs["options"] = server_options
    return AsyncConnectionPool(
        database_url,
        min_size=1,
        max_size=max_size,
        timeout=POOL_TIMEOUT_S,
        name=name,
        open=False,
        kwargs=kwargs,
        reconnect_timeout=0,
    )


async def probe(pool: AsyncConnectionPool) -> tuple[bool, float, str | None]:
    """Run SELECT 1 through the pool: (healthy, duration in ms, error message)."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_S):
            async with pool.connection(timeout=HEALTH_TIMEOUT_S) as conn:
                await conn.execute("SELECT 1")
    except (psycopg.Error, TimeoutError, OSError) as error:
        return False, (time.perf_counter() - started) * 1000, str(error) or type(error).__name__
    return True, (time.perf_counter() - started) * 1000, None


@asynccontextmanager
async def pipelined_transaction(conn: AsyncConnection[Any],
                                after_commit: Callable[[], Awaitable[object]] | None = None
                                ) -> AsyncIterator[None]:
    """One transaction in pipeline mode on an autocommit connection whose COMMIT goes with the
    pipeline's closing sync: the block's last round trip carries it.

    (`conn.pipeline()` around `conn.transaction()` syncs at the COMMIT and again when the
    pipeline closes: a round trip more.) Statements' answers are read as usual; those not read
    in the block are read after it. `after_commit` sends statements that run once the COMMIT
    has (outside the transaction), in the same round trip. On any exception the transaction
    is rolled back."""
    try:
        async with conn.pipeline():
            await conn.execute("BEGIN", prepare=False)
            yield
            await conn.execute("COMMIT", prepare=False)
            if after_commit is not None:
                await after_commit()
    except BaseException:
        if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
            await conn.rollback()
        raise
