"""A client of tasker-core's orchestration API (the subset the drivers use), carrying trace
context and baggage in every request."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
from opentelemetry.context import Context

from instrument.propagation import inject_http_headers
from instrument.settings import orchestration_auth_headers

FINAL_EXECUTION_STATUSES = frozenset({"all_complete", "blocked_by_failures"})
DEFAULT_VERSION = "1.0.0"
REQUEST_ID_KEY = "spanbench_request_id"
"""The context key carrying a fresh uuid4 hex in every request. tasker-core's default identity
strategy (strict) hashes the template and the context and answers 409 to a repeat; this key
makes every request a new identity, as tasker-core's own benchmarks do. Handlers ignore it."""


class TaskerError(RuntimeError):
    """The orchestration answered with an error status."""

    def __init__(self, method: str, path: str, response: httpx.Response) -> None:
        super().__init__(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
        self.status_code = response.status_code


def naive_utc_now() -> str:
    """Now in UTC as tasker-core's `NaiveDateTime` takes it: microseconds and no offset
    (`2026-01-01T00:00:00.123456`); a timestamp with an offset is refused with 422."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def task_request(name: str, namespace: str, context: Mapping[str, Any],
                 version: str = DEFAULT_VERSION, **fields: Any) -> dict[str, Any]:
    """A TaskRequest body with every field the contract requires, which tasker-core accepts
    every time: `requested_at` in naive UTC and the context plus REQUEST_ID_KEY (a new
    identity per call). The correlation id is a new uuid4, as tasker-core's own client makes
    it. `fields` override or add top-level fields."""
    body: dict[str, Any] = {
        "name": name, "namespace": namespace, "version": version,
        "context": {**context, REQUEST_ID_KEY: uuid4().hex},
        "initiator": "spanbench", "source_system": "spanbench", "reason": "benchmark",
        "tags": ["spanbench"], "requested_at": naive_utc_now(), "correlation_id": str(uuid4()),
    }
    body.update(fields)
    return body


class TaskerClient:
    """Synchronous, keep-alive client of one orchestration service.

    It authenticates as tasker-core's client does: `headers` when given, else from
    TASKER_ORCHESTRATION_AUTH_TOKEN, TASKER_AUTH_TOKEN or TASKER_API_KEY (instrument.settings).
    """

    def __init__(self, base_url: str, timeout_s: float = 30.0,
                 transport: httpx.BaseTransport | None = None,
                 headers: dict[str, str] | None = None) -> None:
        auth = orchestration_auth_headers() if headers is None else headers
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s, transport=transport,
                                  headers=auth)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TaskerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, method: str, path: str, propagate: Context | None,
                 json: Any = None, timeout_s: float | None = None) -> Any:
        headers = inject_http_headers(propagate) if propagate is not None else {}
        timeout = httpx.USE_CLIENT_DEFAULT if timeout_s is None else timeout_s
        response = self._http.request(method, path, json=json, headers=headers, timeout=timeout)
        if response.status_code >= 400:
            raise TaskerError(method, path, response)
        return response.json()

    def create_task(self, body: Mapping[str, Any], propagate: Context | None = None,
                    timeout_s: float | None = None) -> dict[str, Any]:
        """POST /v1/tasks; the TaskResponse. `propagate` is the context whose traceparent and
        baggage the request carries (a client phase's `context`)."""
        return dict(self._request("POST", "/v1/tasks", propagate, json=dict(body),
                                  timeout_s=timeout_s))

    def get_task(self, task_uuid: str, propagate: Context | None = None,
                 timeout_s: float | None = None) -> dict[str, Any]:
        return dict(self._request("GET", f"/v1/tasks/{task_uuid}", propagate,
                                  timeout_s=timeout_s))

    def workflow_steps(self, task_uuid: str) -> list[dict[str, Any]]:
        return list(self._request("GET", f"/v1/tasks/{task_uuid}/workflow_steps", None))

    def templates(self) -> dict[str, Any]:
        return dict(self._request("GET", "/v1/templates", None))

    def healthy(self, timeout_s: float = 2.0) -> bool:
        try:
            return self._http.get("/health", timeout=timeout_s).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_until_final(self, task_uuid: str, expires_at: float,
                         poll_interval_s: float) -> dict[str, Any]:
        """Poll GET /v1/tasks/{uuid} until complete or blocked; TimeoutError at `expires_at`
        (a time.monotonic() value)."""
        while True:
            remaining = expires_at - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"task {task_uuid} not final before the deadline")
            task = self.get_task(task_uuid, timeout_s=remaining)
            if task["execution_status"] in FINAL_EXECUTION_STATUSES:
                return task
            time.sleep(min(poll_interval_s, max(expires_at - time.monotonic(), 0)))
