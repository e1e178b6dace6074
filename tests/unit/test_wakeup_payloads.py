"""stack.engine.wakeup: a NOTIFY that carries its message hands it over; others name a queue."""

from __future__ import annotations

import asyncio
import json

from stack.engine.wakeup import NotifiedMessage, Wake, Wakeup


def _payload(queue: str, msg_id: int, message: object = None, delay: int = 0) -> str:
    body: dict[str, object] = {"queue_name": queue, "msg_id": msg_id, "delay_seconds": delay}
    if message is not None:
        body["message"] = message
        body["headers"] = {"traceparent": "x"}
    return json.dumps(body)


def _collect(payloads: list[str], wanted: object = None) -> Wake | None:
    wakeup = Wakeup("postgresql://unused", ["c"], wanted)  # type: ignore[arg-type]
    for payload in payloads:
        wakeup._note(payload)
    return asyncio.run(wakeup.wait(0.01))


def test_carried_messages_are_handed_over_and_the_rest_name_their_queue() -> None:
    wake = _collect([
        _payload("worker_a_queue", 1, {"step_uuid": "s"}),
        _payload("worker_b_queue", 2),                       # too large to carry: read it
        _payload("worker_c_queue", 3, {"step_uuid": "t"}, delay=5),  # not visible yet
        "not json",
    ])
    assert wake is not None
    assert wake.messages == [NotifiedMessage("worker_a_queue", 1, {"step_uuid": "s"},
                                             {"traceparent": "x"})]
    assert wake.queues == {"worker_b_queue", "worker_c_queue"}
    assert wake.everything


def test_unwanted_queues_do_not_wake() -> None:
    only_workers = _collect([_payload("orchestration_step_results", 1, {"x": 1})],
                            lambda queue: queue.startswith("worker_"))
    assert only_workers is None
