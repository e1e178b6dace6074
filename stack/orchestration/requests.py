"""TaskRequest validation: the contract's field names, a 400 naming the field at fault."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from stack.ids import uuid7


class InvalidRequest(ValueError):
    """A TaskRequest field is missing or malformed."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


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
    if value is None:
        return datetime.now(UTC)
    if not isinstance(value, str):
        raise InvalidRequest("requested_at", "must be an ISO 8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest("requested_at", f"{value!r} is not an ISO 8601 timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _uuid(field: str, value: Any) -> UUID | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(field, "must be a UUID string")
    try:
        return UUID(value)
    except ValueError:
        raise InvalidRequest(field, f"{value!r} is not a UUID") from None
