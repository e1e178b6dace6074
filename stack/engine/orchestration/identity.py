"""Task identity as tasker-core computes it (TAS-154): the hash that makes a repeated request a
duplicate. tasks.identity_hash is unique, so a second task with the same hash is refused (409).

- strict (the default): the named task and the context, keys in any order, are the identity;
- caller_provided: the request's `idempotency_key` is required and is the identity;
- always_unique: every request is a new identity.

An `idempotency_key`, when the request has one, is the identity whatever the strategy.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final
from uuid import UUID

from stack.engine.ids import uuid7
from stack.engine.templates import IdentityStrategy

DUPLICATE_MESSAGE: Final = "A task with this identity already exists"
"""tasker-core's message for a duplicate identity (its TaskService)."""
IDENTITY_INDEX: Final = "idx_tasks_identity_hash"
"""The unique index on tasks.identity_hash (006_task_identity.sql; tasker-core's name)."""


class MissingIdempotencyKey(ValueError):
    """A caller_provided template was requested without an idempotency_key."""


def identity_hash(strategy: IdentityStrategy, named_task_uuid: UUID, context: Any,
                  idempotency_key: str | None) -> str:
    """The task's identity_hash (64 hex characters, or a UUID v7 for always_unique)."""
    if idempotency_key is not None:
        return _digest(str(named_task_uuid), "idempotency_key", idempotency_key)
    if strategy == "strict":
        canonical = json.dumps(context, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False)
        return _digest(str(named_task_uuid), "context", canonical)
    if strategy == "caller_provided":
        raise MissingIdempotencyKey(
            "idempotency_key: required when the named task uses the caller_provided identity "
            "strategy")
    return str(uuid7())


def _digest(*parts: str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        encoded = part.encode("utf-8")
        hasher.update(len(encoded).to_bytes(8, "big"))
        hasher.update(encoded)
    return hasher.hexdigest()
