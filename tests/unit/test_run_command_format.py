"""Durations print in the unit that keeps them readable."""

import pytest

from spanbench.units import format_ms


@pytest.mark.parametrize(("ms", "text"), [
    (1414.2, "1.41 s"), (17.748, "17.75 ms"), (0.4402, "440.2 µs"), (0.00025, "250 ns"),
])
def test_format_ms(ms: float, text: str) -> None:
    assert format_ms(ms) == text
