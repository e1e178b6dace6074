"""The orchestration HTTP API: a subset of tasker-core's, field for field."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from opentelemetry.trace import SpanKind
from psycopg import AsyncConnection
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from instrument.propagation import extract_http_headers
from spanbench import __version__
from stack.engine.auth import TokenAuth
from stack.engine.database import probe
from stack.engine.orchestration.creation import DuplicateTask, create_task
from stack.engine.orchestration.identity import MissingIdempotencyKey
from stack.engine.orchestration.openapi import OPENAPI_PATH, openapi_endpoint
from stack.engine.orchestration.requests import (
    InvalidRequest,
    decode_body,
    parse_task_request,
    read_body,
)
from stack.engine.orchestration.service import Orchestrator
from stack.engine.orchestration.views import step_response, step_rows, task_response, template_list
from stack.engine.templates import BUILTIN_TEMPLATES, TemplateNotFound, find_template
from stack.settings import ServiceSettings


def _error(status: int, kind: str, message: str) -> JSONResponse:
    """An ApiError body: {"BadRequest": {"message": ...}} and the like."""
    return JSONResponse({kind: {"message": message}}, status_code=status)


async def _http_error(request: Request, error: Exception) -> Response:
    """Starlette's own 404/405 answers (unknown path, wrong method) as ApiError bodies."""
    assert isinstance(error, HTTPException)
    kind = "NotFound" if error.status_code == 404 else "BadRequest"
    message = f"{request.method} {request.url.path}: {error.detail}"
    response = _error(error.status_code, kind, message)
    response.headers.update(error.headers or {})  # a 405's Allow
    return response


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _unavailable(error: Exception) -> JSONResponse:
    return _error(503, "ServiceUnavailable", f"database unavailable: {error}")


async def _read_task(request: Request,
                     read: Callable[[AsyncConnection, UUID], Awaitable[Any]]) -> Any:
    """Parse the path's task uuid and run `read` on a pooled connection; an error response
    (400 for a malformed uuid, 503 without the database) is returned instead of raising."""
    raw = request.path_params["uuid"]
    try:
        task_uuid = UUID(raw)
    except ValueError:
        return _error(400, "BadRequest", f"uuid: {raw!r} is not a UUID")
    try:
        async with request.app.state.orchestrator.pool.connection() as conn:
            return await read(conn, task_uuid)
    except (psycopg.OperationalError, TimeoutError) as error:
        return _unavailable(error)


async def create_task_endpoint(request: Request) -> Response:
    orchestrator: Orchestrator = request.app.state.orchestrator
    recorder = orchestrator.telemetry.recorder
    incoming = extract_http_headers(request.headers)
    with recorder.phase("POST /v1/tasks", parent=incoming, kind=SpanKind.SERVER,
                        attributes={"http.request.method": "POST",
                                    "http.route": "/v1/tasks"}) as server:
        response = await _create(request, orchestrator, server)
        server.set_attribute("http.response.status_code", response.status_code)
    orchestrator.telemetry.flush()
    return response


async def _create(request: Request, orchestrator: Orchestrator, server: Any) -> Response:
    try:
        task_request = parse_task_request(decode_body(await read_body(request.stream())))
        template = find_template(task_request.namespace, task_request.name, task_request.version)
    except InvalidRequest as error:
        return _error(error.status, "BadRequest", str(error))
    except (TemplateNotFound, ValueError) as error:
        return _error(404, "NotFound", f"template: {error}")
    try:
        async with orchestrator.pool.connection() as conn:
            registered = await orchestrator.catalog.ensure(conn, template)
            created = await create_task(conn, registered, task_request,
                                        orchestrator.telemetry.recorder, server)
    except (psycopg.OperationalError, TimeoutError) as error:
        return _unavailable(error)
    except MissingIdempotencyKey as error:
        return _error(400, "BadRequest", str(error))
    except DuplicateTask as error:
        return _error(409, "Conflict", str(error))
    except psycopg.DataError as error:  # a value the checks in requests.py did not foresee
        return _error(400, "BadRequest", f"body: the database refused a value ({error})")
    return JSONResponse(created.response, status_code=201)


async def get_task(request: Request) -> Response:
    async def read(conn: AsyncConnection, task_uuid: UUID) -> Response:
        body = await task_response(conn, task_uuid)
        if body is None:
            return _error(404, "NotFound", f"no task {task_uuid}")
        return JSONResponse(body)

    return await _read_task(request, read)


async def get_workflow_steps(request: Request) -> Response:
    async def read(conn: AsyncConnection, task_uuid: UUID) -> Response:
        return JSONResponse([step_response(row) for row in await step_rows(conn, task_uuid)])

    return await _read_task(request, read)


async def list_templates(request: Request) -> Response:
    return JSONResponse(template_list(BUILTIN_TEMPLATES, request.query_params.get("namespace")))


async def health(request: Request) -> Response:
    healthy, _, error = await probe(request.app.state.orchestrator.pool)
    body = {"status": "healthy" if healthy else "unhealthy", "timestamp": _now()}
    if error:
        body["message"] = error
    return JSONResponse(body, status_code=200 if healthy else 503)


async def ready(request: Request) -> Response:
    orchestrator: Orchestrator = request.app.state.orchestrator
    healthy, duration_ms, error = await probe(orchestrator.pool)
    listening = orchestrator.results_wakeup.connected.is_set()
    database = {"status": "healthy" if healthy else "unhealthy",
                "duration_ms": int(duration_ms), "message": error}
    checks = {
        "web_database": database,
        "orchestration_database": database,
        "circuit_breaker": {"status": "healthy", "duration_ms": 0, "message": None},
        "orchestration_system": {"status": "healthy" if listening else "unhealthy",
                                 "duration_ms": 0,
                                 "message": None if listening else "LISTEN connection down"},
        "command_processor": {"status": "healthy", "duration_ms": 0, "message": None},
    }
    all_ok = healthy and listening
    stats = orchestrator.pool.get_stats()
    body = {
        "status": "ready" if all_ok else "not_ready",
        "timestamp": _now(),
        "checks": checks,
        "info": {
            "version": __version__,
            "environment": "spanbench",
            "operational_state": "normal" if all_ok else "degraded",
            "web_database_pool_size": stats.get("pool_size", 0),
            "orchestration_database_pool_size": stats.get("pool_size", 0),
            "circuit_breaker_state": "closed",
        },
    }
    return JSONResponse(body, status_code=200 if all_ok else 503)


def create_app(settings: ServiceSettings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        orchestrator = Orchestrator(settings)
        app.state.orchestrator = orchestrator
        await orchestrator.start()
        try:
            yield
        finally:
            await orchestrator.stop()

    return Starlette(
        routes=[
            Route("/v1/tasks", create_task_endpoint, methods=["POST"]),
            Route("/v1/tasks/{uuid}", get_task, methods=["GET"]),
            Route("/v1/tasks/{uuid}/workflow_steps", get_workflow_steps, methods=["GET"]),
            Route("/v1/templates", list_templates, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route(OPENAPI_PATH, openapi_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
        middleware=[Middleware(TokenAuth, token=settings.api_token)],
    )
