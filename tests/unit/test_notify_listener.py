"""The listener's pieces that need no database: payload keys, the clock premise, failures."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from instrument.workload.notify_listener import ListenerError, ListenerProcess, _key


def test_key_prefers_the_nonce_then_the_message_id() -> None:
    assert _key('{"nonce": "ab", "msg_id": 3}') == "ab"
    assert _key('{"msg_id": 3, "queue_name": "q"}') == "3"
    assert _key('{"queue_name": "q"}') is None
    assert _key("not json") is None
    assert _key("[1, 2]") is None


def test_perf_counter_is_one_clock_across_processes() -> None:
    before = time.perf_counter_ns()
    out = subprocess.run([sys.executable, "-c", "import time; print(time.perf_counter_ns())"],
                         capture_output=True, text=True, check=True).stdout
    after = time.perf_counter_ns()
    assert before <= int(out) <= after


def test_a_listener_that_cannot_connect_says_why() -> None:
    with pytest.raises(ListenerError, match=r"exited with 1: \S*OperationalError"):
        ListenerProcess.start("postgresql://spanbench@127.0.0.1:1/none", "c", timeout_s=15)
