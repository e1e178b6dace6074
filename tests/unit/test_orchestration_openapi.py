"""The orchestration API's OpenAPI document matches the app's routes and tasker's contract."""

from __future__ import annotations

import json

import pytest
from starlette.routing import Route

from stack.engine.orchestration.app import create_app
from stack.engine.orchestration.openapi import OPENAPI_PATH, document
from stack.settings import ServiceSettings
from tests.contracts import ORCHESTRATION_OPENAPI

CONTRACT = ORCHESTRATION_OPENAPI
ADDED_RESPONSES = {("/v1/tasks", "post"): {"404", "409", "413", "422"},
                   ("/v1/tasks/{uuid}", "get"): {"400"}}
"""Response codes the stack returns beyond the contract's (named in info.description)."""


def _routed() -> set[tuple[str, str]]:
    app = create_app(ServiceSettings.from_env(database_url="postgresql://unused"))
    routed = set()
    for route in app.routes:
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD" and route.path != OPENAPI_PATH:
                routed.add((route.path, method.lower()))
    return routed


def test_every_documented_operation_is_routed_and_vice_versa() -> None:
    documented = {(path, method) for path, item in document()["paths"].items() for method in item}
    assert documented == _routed()


def test_every_reference_resolves() -> None:
    schemas = document()["components"]["schemas"]
    text = json.dumps(document())
    for name in {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}:
        assert name in schemas, name


@pytest.mark.skipif(not CONTRACT.exists(), reason=f"tasker's contract not at {CONTRACT}")
def test_a_subset_of_the_contract_field_for_field() -> None:
    contract = json.loads(CONTRACT.read_text())
    ours = document()
    for name, schema in ours["components"]["schemas"].items():
        assert schema == contract["components"]["schemas"][name], name
    for path, item in ours["paths"].items():
        for method, operation in item.items():
            theirs = contract["paths"][path][method]
            assert operation.get("parameters") == theirs.get("parameters"), (path, method)
            assert operation.get("requestBody") == theirs.get("requestBody"), (path, method)
            added = set(operation["responses"]) - set(theirs["responses"])
            assert added == ADDED_RESPONSES.get((path, method), set()), (path, method)
            for code, response in operation["responses"].items():
                if code in theirs["responses"]:
                    assert response == theirs["responses"][code], (path, method, code)
