"""Hostile POST /v1/tasks bodies and path parameters against the real app and database.

Invariant: every answer is a 201 TaskResponse or a 4xx ApiError whose message is not
empty; never a 5xx, never a hang (Hypothesis deadline plus the client's timeout).
"""

from __future__ import annotations

from collections.abc import Iterator
from random import Random
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import psycopg_pool.base
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from stack.engine.orchestration.app import create_app
from stack.settings import ServiceSettings
from tests.task_request_strategies import VALID, raw_bodies, task_request_bodies

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client(module_db: str) -> Iterator[TestClient]:
    app = create_app(ServiceSettings.from_env(database_url=module_db, poll_interval_s=0.2))
    # psycopg_pool jitters each new connection's lifetime with the `random` module's shared
    # generator; the pool grows in the app's thread while Hypothesis draws an example, which
    # Hypothesis reports as a strategy using `random`. The pool gets a generator of its own.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(psycopg_pool.base, "random", Random().random)
        with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 1)) as client:
            yield client


def _error_message(answer: Any) -> str:
    """The message of an ApiError body such as {"BadRequest": {"message": ...}}."""
    assert isinstance(answer, dict) and len(answer) == 1, answer
    (detail,) = answer.values()
    return str(detail["message"])


def _assert_answered(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code == 201:
        assert response.json()["task_uuid"]
    else:
        assert 400 <= response.status_code < 500
        assert _error_message(response.json())


@settings(max_examples=max(10, settings.default.max_examples // 2))
@given(task_request_bodies())
def test_hostile_task_requests_get_a_4xx_with_a_message(client: TestClient, body: bytes) -> None:
    _assert_answered(client.post("/v1/tasks", content=body, headers=JSON))


@given(raw_bodies)
def test_arbitrary_bodies_get_a_4xx_with_a_message(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/tasks", content=body, headers=JSON)
    assert response.status_code != 201 or body.lstrip().startswith(b"{")
    _assert_answered(response)


@given(st.text(max_size=60) | st.uuids().map(str), st.sampled_from(["GET", "POST", "DELETE"]))
def test_arbitrary_task_uuids_in_paths(client: TestClient, text: str, method: str) -> None:
    segment = quote(text, safe="")
    for path in (f"/v1/tasks/{segment}", f"/v1/tasks/{segment}/workflow_steps"):
        response = client.request(method, path)
        if response.status_code != 200:
            _assert_answered(response)


def test_a_valid_request_is_still_created(client: TestClient) -> None:
    """Unique by its context: the hostile bodies above may have created VALID's identity."""
    body = {**VALID, "context": {**VALID["context"], "request": uuid4().hex}}
    response = client.post("/v1/tasks", json=body)
    assert response.status_code == 201, response.text


def test_unknown_paths_and_methods_answer_api_errors(client: TestClient) -> None:
    missing = client.get("/v1/nothing")
    assert missing.status_code == 404 and _error_message(missing.json())
    wrong = client.delete("/v1/tasks")
    assert wrong.status_code == 405 and _error_message(wrong.json())
    assert wrong.headers["allow"] == "POST"
