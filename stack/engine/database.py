"""Connection pools and the health probe the services share."""

from __future__ import annotations

import asyncio
import time

import psycopg
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
