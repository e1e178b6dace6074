"""Queue names and the shapes of the messages the stack sends through PGMQ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ORCHESTRATION_RESULTS_QUEUE = "orchestration_step_results"
MESSAGE_READY_CHANNEL = "pgmq_message_ready"


def worker_queue(namespace: str) -> str:
    """The queue of a namespace's steps: worker_<namespace>_queue."""
    return f"worker_{namespace}_queue"


def namespace_channel(namespace: str) -> str:
    return f"{MESSAGE_READY_CHANNEL}.{namespace}"


@dataclass(frozen=True)
class StepMessage:
    """A ready step, sent to worker_<namespace>_queue."""

    task_uuid: str
    step_uuid: str
    correlation_id: str

    def to_json(self) -> dict[str, Any]:
        return {"task_uuid": self.task_uuid, "step_uuid": self.step_uuid,
                "correlation_id": self.correlation_id}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> StepMessage:
        return cls(str(body["task_uuid"]), str(body["step_uuid"]), str(body["correlation_id"]))


@dataclass(frozen=True)
class StepResultMessage:
    """A worker's outcome for a step, sent to orchestration_step_results."""

    task_uuid: str
    step_uuid: str
    correlation_id: str
    status: str
    """success or error"""
    worker_id: str
    error: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"task_uuid": self.task_uuid, "step_uuid": self.step_uuid,
                "correlation_id": self.correlation_id, "status": self.status,
                "worker_id": self.worker_id, "error": self.error}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> StepResultMessage:
        return cls(str(body["task_uuid"]), str(body["step_uuid"]), str(body["correlation_id"]),
                   str(body["status"]), str(body.get("worker_id", "")), body.get("error"))
