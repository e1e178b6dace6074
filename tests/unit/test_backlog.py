"""The backlog bound: refuses past the limit, always admits into an idle sink."""

from __future__ import annotations

from extract.receive.backlog import Backlog


def test_idle_sink_admits_even_a_large_request() -> None:
    backlog = Backlog(100)
    assert backlog.reserve(500)
    assert backlog.total == 500


def test_refuses_past_the_limit_until_released() -> None:
    backlog = Backlog(100)
    assert backlog.reserve(60)
    assert not backlog.reserve(60)
    assert backlog.total == 60
    backlog.release(60)
    assert backlog.reserve(60)


def test_spooled_bytes_count_until_converted() -> None:
    backlog = Backlog(100)
    backlog.add_spooled(90)
    assert not backlog.reserve(20)
    backlog.remove_spooled(90)
    assert backlog.reserve(20)


def test_growing_a_held_reservation() -> None:
    backlog = Backlog(100)
    assert backlog.reserve(50)
    assert backlog.reserve(100, already_held=50)  # alone in the sink: grows freely
    assert not backlog.reserve(10)
