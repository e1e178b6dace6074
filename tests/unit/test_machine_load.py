"""The machine's CPU gone elsewhere during a suite: /proc/stat read, shares between readings."""

from __future__ import annotations

from pathlib import Path

import pytest

from spanbench.runner.machine_load import (
    MIN_TICKS,
    READING_SLACK_TICKS,
    TAKER_AT,
    TAKERS_KEPT,
    CpuTaker,
    CpuTimes,
    ProcessTicks,
    machine_share,
    read_cpu_times,
    takers_of,
)


def _stat(tmp_path: Path, first_line: str) -> Path:
    path = tmp_path / "stat"
    path.write_text(first_line + "\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1\n")
    return path


def test_the_aggregate_line_gives_steal_niced_processes_and_the_total(tmp_path: Path) -> None:
    times = read_cpu_times(_stat(tmp_path, "cpu  100 20 30 800 10 4 5 35 7 0"))
    # guest (7) is already counted in user: the total is the first eight fields; processes
    # are user, nice and system, without interrupts (irq 4, softirq 5)
    assert times == CpuTimes(steal=35, niced=20, processes=150, total=1004)


@pytest.mark.parametrize("text", ["", "intr 1 2 3", "cpu 1 2 3"])
def test_no_aggregate_line_is_unknown(tmp_path: Path, text: str) -> None:
    assert read_cpu_times(_stat(tmp_path, text)) is None
    assert read_cpu_times(tmp_path / "absent") is None


def test_shares_are_of_the_ticks_between_the_readings() -> None:
    before, after = CpuTimes(100, 50, 900, 10_000), CpuTimes(133, 113, 1900, 12_000)
    # 33 ticks of steal and 63 niced, each less the reading's slack of 3, of 2000
    assert machine_share(before, after, own_niced=False) == {"cpu_steal": 0.015,
                                                             "cpu_niced": 0.03}
    assert machine_share(before, after, own_niced=True) == {"cpu_steal": 0.015}


def test_with_the_runs_own_cpu_known_the_others_are_foreign_and_the_rest_unattributed() -> None:
    before, after = CpuTimes(100, 50, 900, 10_000), CpuTimes(133, 110, 1900, 12_000)
    # 1000 ticks went to processes: 837 to the run's, 63 to others (less the slack of 3, of
    # 2000: 3%), and 100 by no process's account (less 3: 4.85%)
    assert machine_share(before, after, own_niced=False, processes=ProcessTicks(837, 63)) == {
        "cpu_steal": 0.015, "cpu_foreign": 0.03, "cpu_unattributed": 0.0485}
    # the per-process accounts may add up to more than /proc/stat's: never a negative share
    assert machine_share(before, after, own_niced=True, processes=ProcessTicks(1010, 0)) == {
        "cpu_steal": 0.015, "cpu_foreign": 0.0, "cpu_unattributed": 0.0}


def test_an_unknown_or_short_interval_has_no_share() -> None:
    reading = CpuTimes(1, 2, 3, 300)
    assert machine_share(None, reading, own_niced=False) is None
    assert machine_share(reading, None, own_niced=False) is None
    assert machine_share(reading, reading, own_niced=False) is None
    # one tick of steal in a window of 49 would read as 2%: too coarse to judge
    assert machine_share(reading, CpuTimes(2, 2, 3, 300 + MIN_TICKS - 1),
                         own_niced=False) is None
    assert machine_share(reading, CpuTimes(5, 2, 3, 300 + MIN_TICKS), own_niced=False) == {
        "cpu_steal": 0.02, "cpu_niced": 0.0}


def test_a_few_stray_ticks_are_the_readings_own_error() -> None:
    """A suite of about a second spans some 200 ticks: 3 stray ones would read as 1.5%."""
    before = CpuTimes(0, 0, 0, 0)
    quiet = machine_share(before, CpuTimes(READING_SLACK_TICKS, 0, 100, 200), own_niced=False,
                          processes=ProcessTicks(100 - 2 * READING_SLACK_TICKS,
                                                 READING_SLACK_TICKS))
    assert quiet == {"cpu_steal": 0.0, "cpu_foreign": 0.0, "cpu_unattributed": 0.0}
    busy = machine_share(before, CpuTimes(0, 0, 120, 200), own_niced=False,
                         processes=ProcessTicks(100, 20))
    assert busy == {"cpu_steal": 0.0, "cpu_foreign": (20 - READING_SLACK_TICKS) / 200,
                    "cpu_unattributed": 0.0}



def test_this_machine_reads_when_it_is_linux() -> None:
    if not Path("/proc/stat").is_file():
        pytest.skip("no /proc/stat here")
    times = read_cpu_times()
    assert times is not None and 0 <= times.steal <= times.total and times.total > 0


def test_the_takers_are_the_first_few_that_took_enough_each_with_its_share() -> None:
    elapsed = 10_000
    found = [(40, 700), (50, 45), (1, 30), (60, 20), (70, 9)]
    takers = takers_of(found, elapsed)
    assert TAKERS_KEPT == 3 and TAKER_AT * elapsed == 10
    assert [(t.pid, t.share) for t in takers] == [(40, 0.07), (50, 0.0045), (1, 0.003)]
    assert all(isinstance(t, CpuTaker) for t in takers)
    assert [t.pid for t in takers_of([(40, 700), (70, 9)], elapsed)] == [40]  # 9 < 10
    assert takers_of([], elapsed) == ()
