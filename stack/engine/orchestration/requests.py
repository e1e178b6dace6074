"""TaskRequest validation: the contract's field names, a 400 naming the field at fault (422
for a `requested_at` with an offset, as tasker-core answers).

Everything the database would refuse is refused here first, so a hostile body gets a 4xx
naming the field, never a 500: NUL characters and lone surrogates (PostgreSQL text and
jsonb cannot hold them), NaN and infinities (not JSON), nesting deeper than MAX_DEPTH,
text longer than its column, priorities outside int32, bodies over MAX_BODY_BYTES.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID

from stack.engine.ids import uuid7

MAX_BODY_BYTES: Final = 1024 * 1024
"""Largest TaskRequest body accepted (413 beyond)."""
MAX_DEPTH: Final = 64
"""Deepest nesting of arrays and objects accepted in a body."""
TEXT_COLUMN_LIMIT: Final = 128
"""initiator, source_system and reason are varchar(128) in tasker.tasks."""
_INT32: Final = (-(2**31), 2**31 - 1)


class InvalidRequest(ValueError):
    """A TaskRequest field is missing or malformed; `status` is the HTTP status to answer."""

    def __init__(self, field: str, problem: str, status: int = 400) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.status = status


async def read_body(chunks: AsyncIterable[bytes], limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with a 413 as soon as it passes `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise InvalidRequest("body", f"larger than {limit} bytes", status=413)
        parts.append(chunk)
    return b"".join(parts)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def decode_body(raw: bytes) -> Any:
    """The JSON document of a body, with every string and number checked (see module doc)."""
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidRequest("body", f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:
        raise InvalidRequest("body", f"not valid JSON ({error})") from None
    _check_values(document)
    return document


def _check_values(document: Any) -> None:
    """Walk the document without recursion; raise InvalidRequest naming the first bad value."""
    stack: list[tuple[str, Any, int]] = [("body", document, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(path, value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise InvalidRequest(path, "number out of range (not finite)")
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise InvalidRequest(path, f"nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_text(path, key)
                    stack.append((_child_path(path, key), item, depth + 1))
            else:
                stack.extend((f"{path}[{i}]", item, depth + 1) for i, item in enumerate(value))


def _child_path(path: str, key: str) -> str:
    """`context.x` for plain keys, `context["a b"]` for others; top-level keys stand alone."""
    if key.isidentifier():
        return key if path == "body" else f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _check_text(path: str, text: str) -> None:
    if "\x00" in text:
        raise InvalidRequest(path, "must not contain NUL (\\u0000) characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(path, "must be valid Unicode (a lone surrogate escape)") from None


@dataclass(frozen=True)
class TaskRequest:
    name: str
    namespace: str
    version: str
    context: dict[str, Any]
    initiator: str
    source_system: str
    reason: str
    tags: list[str]
    requested_at: datetime
    correlation_id: UUID
    parent_correlation_id: UUID | None
    priority: int
    idempotency_key: str | None


_REQUIRED_TEXT = ("name", "namespace", "version", "initiator", "source_system", "reason")


def parse_task_request(body: Any) -> TaskRequest:
    """Validate a decoded JSON body. tags, requested_at and correlation_id may be omitted:
    they default to [], now and a fresh UUID v7 (the contract marks correlation_id as
    auto-generated)."""
    if not isinstance(body, dict):
        raise InvalidRequest("body", "a TaskRequest must be a JSON object")
    for field in _REQUIRED_TEXT:
        value = body.get(field)
        if value is None:
            raise InvalidRequest(field, "required field missing")
        if not isinstance(value, str) or not value.strip():
            raise InvalidRequest(field, "must be a non-empty string")
    for field in ("initiator", "source_system", "reason"):
        if len(body[field]) > TEXT_COLUMN_LIMIT:
            raise InvalidRequest(field, f"longer than {TEXT_COLUMN_LIMIT} characters")
    if "context" not in body:
        raise InvalidRequest("context", "required field missing")
    if not isinstance(body["context"], dict):
        raise InvalidRequest("context", "must be a JSON object")
    tags = body.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise InvalidRequest("tags", "must be an array of strings")
    priority = body.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
        raise InvalidRequest("priority", "must be an integer or null")
    if priority is not None and not _INT32[0] <= priority <= _INT32[1]:
        raise InvalidRequest("priority", "must fit in 32 bits (int32)")
    idempotency_key = body.get("idempotency_key")
    if idempotency_key is not None and not isinstance(idempotency_key, str):
        raise InvalidRequest("idempotency_key", "must be a string or null")
    return TaskRequest(
        name=body["name"],
        namespace=body["namespace"],
        version=body["version"],
        context=body["context"],
        initiator=body["initiator"],
        source_system=body["source_system"],
        reason=body["reason"],
        tags=tags,
        requested_at=_timestamp(body.get("requested_at")),
        correlation_id=_uuid("correlation_id", body.get("correlation_id")) or uuid7(),
        parent_correlation_id=_uuid("parent_correlation_id", body.get("parent_correlation_id")),
        priority=priority or 0,
        idempotency_key=idempotency_key,
    )


def _timestamp(value: Any) -> datetime:
    """requested_at as tasker-core reads it, a naive UTC timestamp (chrono's NaiveDateTime):
    one with an offset (`+00:00`, `Z`) is refused with 422, as tasker-core refuses it."""
    if value is None:
        return datetime.now(UTC)
    if not isinstance(value, str):
        raise InvalidRequest("requested_at", "must be an ISO 8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest("requested_at", f"{value!r} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is not None:
        raise InvalidRequest(
            "requested_at",
            f"{value!r} has a UTC offset; send naive UTC without one "
            "(e.g. 2026-01-01T00:00:00.123456) or omit the field",
            status=422,
        )
    return parsed.replace(tzinfo=UTC)


def _uuid(field: str, value: Any) -> UUID | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(field, "must be a UUID string")
    try:
        return UUID(value)
    except ValueError:
        raise InvalidRequest(field, f"{value!r} is not a UUID") from None
