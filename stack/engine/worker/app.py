"""The worker's HTTP face: health, readiness and counters (the work itself is StepWorker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stack.engine.database import probe
from stack.engine.worker.consumer import StepWorker
from stack.settings import ServiceSettings


async def health(request: Request) -> Response:
    worker: StepWorker = request.app.state.worker
    healthy, duration_ms, error = await probe(worker.pool)
    listening = worker.wakeup.connected.is_set()
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "timestamp": datetime.now(UTC).isoformat(),
        "worker_id": worker.worker_id,
        "database": {"healthy": healthy, "duration_ms": duration_ms, "message": error},
        "listening": listening,
        "queues": worker.queues,
        "steps_executed": worker.steps_executed,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


def create_app(settings: ServiceSettings, worker_id: str, concurrency: int) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        worker = StepWorker(settings, worker_id, concurrency)
        app.state.worker = worker
        await worker.start()
        try:
            yield
        finally:
            await worker.stop()

    return Starlette(routes=[Route("/health", health, methods=["GET"])], lifespan=lifespan)
