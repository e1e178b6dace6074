"""The orchestration API's own OpenAPI document: the subset of tasker's contract it implements.

`openapi.json` (package data) copies the contract's paths and schemas unchanged for the
routes the stack serves, adding only the response codes the stack really returns beyond
the contract's (its info.description lists them). Served at OPENAPI_PATH.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

OPENAPI_PATH: Final = "/api-docs/openapi.json"


@cache
def document() -> dict[str, Any]:
    """The parsed document (read once)."""
    text = resources.files("stack.engine.orchestration").joinpath("openapi.json").read_text("utf-8")
    return json.loads(text)


async def openapi_endpoint(request: Request) -> Response:
    return JSONResponse(document())
