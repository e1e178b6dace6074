"""wait_until_quiet: returns once the count stops changing for the quiet period, or times out."""

from __future__ import annotations

from spanbench.runner.settle import wait_until_quiet


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_waits_for_the_count_to_stop_growing() -> None:
    clock = FakeClock()
    arrivals = iter([0, 0, 10, 25, 25, 40] + [40] * 50)
    count, settled = wait_until_quiet(lambda: next(arrivals), quiet_s=3, timeout_s=60,
                                      poll_s=1, clock=clock, sleep=clock.sleep)
    assert (count, settled) == (40, True)
    assert clock.now == 8  # the last change was seen at t=5, then 3 quiet seconds


def test_gives_up_after_the_timeout_with_what_arrived() -> None:
    clock = FakeClock()
    ticks = iter(range(1000))
    count, settled = wait_until_quiet(lambda: next(ticks), quiet_s=3, timeout_s=10,
                                      poll_s=1, clock=clock, sleep=clock.sleep)
    assert not settled and count == 10 and clock.now == 10
