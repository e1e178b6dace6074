"""The orchestration API's optional credential, as the contract's securitySchemes name it.

`bearer_auth` (`Authorization: Bearer <token>`) or `api_key_auth` (`X-API-Key: <token>`) on
the routes the contract secures (/v1/…, /config); health, readiness and documents stay open.
Answers 401 with an ApiError `AuthenticationError` body and `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

import json
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from spanbench.security import bearer_token, token_matches

SECURED_PREFIXES: Final = ("/v1/", "/config")
API_KEY_HEADER: Final = b"x-api-key"


def presented_credentials(headers: list[tuple[bytes, bytes]]) -> list[str]:
    """The bearer token and the API key a request carries (those present)."""
    found = []
    for name, value in headers:
        if name == b"authorization":
            token = bearer_token(value.decode("latin-1"))
            if token is not None:
                found.append(token)
        elif name == API_KEY_HEADER:
            found.append(value.decode("latin-1").strip())
    return found


class TokenAuth:
    """ASGI middleware: secured routes want `token`; `token=None` lets everything through."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    def _secured(self, scope: Scope) -> bool:
        path = scope.get("path", "")
        return scope["type"] == "http" and (
            path.startswith(SECURED_PREFIXES[0]) or path == SECURED_PREFIXES[1]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token is None or not self._secured(scope):
            await self.app(scope, receive, send)
            return
        presented = presented_credentials(scope.get("headers", []))
        if any(token_matches(credential, self.token) for credential in presented):
            await self.app(scope, receive, send)
            return
        reason = ("wrong credential" if presented else "no credential") + (
            ": send 'Authorization: Bearer <token>' or 'X-API-Key: <token>' "
            "(spanbench's client reads TASKER_ORCHESTRATION_AUTH_TOKEN, TASKER_AUTH_TOKEN "
            "or TASKER_API_KEY)"
        )
        body = json.dumps({"AuthenticationError": {"reason": reason}}).encode()
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b'Bearer realm="tasker orchestration"')]})
        await send({"type": "http.response.body", "body": body})
