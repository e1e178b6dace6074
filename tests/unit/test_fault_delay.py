"""The test-only injected slowdown: SPANBENCH_FAULT_DELAY read through the settings, honoured
by the recorder."""

from __future__ import annotations

import time

import pytest

from instrument.recorder import PhaseRecorder
from instrument.settings import fault_delays
from spanbench.settings import SettingsError


def test_the_variable_names_delays_per_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPANBENCH_FAULT_DELAY",
                       "event_propagation/publish:25000, handler_overhead/handler.direct:7")
    assert fault_delays("event_propagation") == {"publish": 25_000}
    assert fault_delays("handler_overhead") == {"handler.direct": 7}
    assert fault_delays("e2e_latency") == {}
    monkeypatch.setenv("SPANBENCH_FAULT_DELAY", "publish:25000")
    with pytest.raises(SettingsError, match="is not suite/phase:ns"):
        fault_delays("event_propagation")
    monkeypatch.delenv("SPANBENCH_FAULT_DELAY")
    assert fault_delays("event_propagation") == {}


def test_a_delayed_phase_takes_at_least_its_delay() -> None:
    recorder = PhaseRecorder(None, delays={"slow": 2_000_000})
    with recorder.phase("slow") as slow:
        pass
    with recorder.phase("fast") as fast:
        pass
    assert slow.duration_ns >= 2_000_000
    assert fast.duration_ns < 2_000_000
    recorded = recorder.record("slow", 100, 200)
    assert recorded.duration_ns == 2_000_100
    assert recorder.record("fast", 100, 200).duration_ns == 100


def test_a_delayed_phase_is_a_parent_like_any_other() -> None:
    """step_enqueueing hangs its phases under enqueue.total: delayed, it must still parent."""
    recorder = PhaseRecorder(None, delays={"total": 1_000})
    with recorder.phase("total") as total:
        with recorder.phase("inner", parent=total) as inner:
            pass
        recorded = recorder.record("late", 100, 200, parent=total)
    assert inner.trace_id == total.trace_id == recorded.trace_id
    assert inner.span_context.is_valid and total.duration_ns >= 1_000


def test_an_end_set_after_the_block_keeps_the_delay() -> None:
    """e2e.workflow and enqueue.total end at a receipt seen inside their block, set after it:
    the delay must move that end too, or the injected slowdown measures nothing."""
    recorder = PhaseRecorder(None, delays={"root": 1_000_000})
    with recorder.phase("root") as root:
        receipt_ns = time.perf_counter_ns()
    root.end_ns = receipt_ns
    assert root.duration_ns >= 1_000_000
    with recorder.phase("plain") as plain:
        receipt_ns = time.perf_counter_ns()
    plain.end_ns = receipt_ns
    assert plain.duration_ns < 1_000_000
