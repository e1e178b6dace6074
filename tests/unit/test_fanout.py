"""The fan-out template, message-ready payloads and ready_at on the monotonic clock."""

from __future__ import annotations

import json

from instrument.drivers import step_enqueueing
from instrument.workload import fanout


def test_fanout_n_is_a_root_and_n_leaves_that_wait_for_it_alone() -> None:
    steps = fanout.configuration(3)["steps"]
    assert [s["name"] for s in steps] == ["fanout_root", "fanout_leaf_1", "fanout_leaf_2",
                                          "fanout_leaf_3"]
    assert steps[0]["depends_on"] == []
    assert all(s["depends_on"] == ["fanout_root"] for s in steps[1:])
    assert {s["handler"] for s in steps} == {"noop"}


def test_a_payload_with_its_message_parses_one_without_does_not() -> None:
    payload = {"event_type": "message_ready", "msg_id": 42,
               "queue_name": "worker_chain_workflow_queue", "namespace": "chain_workflow",
               "ready_at": "2025-10-08T14:23:45.123456+00:00", "delay_seconds": 0,
               "message": {"task_uuid": "t", "step_uuid": "s", "correlation_id": "c"},
               "headers": {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}}
    message = fanout.parse_ready(json.dumps(payload))
    assert message is not None
    assert (message.msg_id, message.task_uuid, message.step_uuid) == (42, "t", "s")
    assert message.headers["traceparent"].startswith("00-")
    del payload["message"]
    assert fanout.parse_ready(json.dumps(payload)) is None
    assert fanout.parse_ready("not json") is None


def test_ready_at_is_exact_to_the_microsecond_in_any_offset() -> None:
    zero = 1_000_000_000  # the wall-clock reading at perf_counter 0
    utc = step_enqueueing.ready_at_mono_ns("2025-10-08T14:23:45.123456+00:00", zero)
    assert utc == 1_759_933_425_123_456_000 - zero
    assert step_enqueueing.ready_at_mono_ns("2025-10-08T16:23:45.123456+02:00", zero) == utc
    assert step_enqueueing.ready_at_mono_ns("2025-10-08T14:23:45.999999+00:00", zero) \
        - utc == 876_543_000
