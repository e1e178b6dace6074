"""Durations: spanbench measures and queries return nanoseconds; what a person reads is in ms.

Every part may import this module; it imports nothing of ours.
"""

from __future__ import annotations

import math
from typing import Final

NS_PER_MS: Final = 1_000_000


def ms(ns: float | None) -> float | None:
    """ns → ms; None for a value not computed (None, or NaN when n = 0)."""
    return None if ns is None or math.isnan(ns) else ns / NS_PER_MS


def format_ms(value: float | None) -> str:
    """A duration in ms, in the unit that keeps it readable: `2.50 ms`, `12.0 µs`, `1.20 s`."""
    if value is None:
        return "n/a"
    if value < 0:  # a t-interval's lower bound on few, spread samples
        return f"-{format_ms(-value)}"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 1:
        return f"{value:.2f} ms"
    if value >= 0.001:
        return f"{value * 1000:.1f} µs"
    return f"{value * 1e6:.0f} ns"


def format_ns(ns: float | None) -> str:
    """A duration in ns shown as format_ms shows it; `n/a` for None or NaN."""
    return format_ms(ms(ns))


def format_fixed_ms(ns: float | None) -> str:
    """A duration in ns as ms with three decimals (`0.125 ms`), the seed's log precision;
    `n/a` for None or NaN."""
    value = ms(ns)
    return "n/a" if value is None else f"{value:.3f} ms"


def format_compact_ms(ns: float | None) -> str:
    """A duration in ns as ms in three significant digits, unspaced (`2.5ms`, `150ms`)."""
    if ns is None:
        return "n/a"
    value = ns / NS_PER_MS
    return f"{value:.3g}ms" if value < 100 else f"{value:.0f}ms"


def format_target_ms(value: float) -> str:
    """A target in ms as the seed writes it: 50 ms, 0.001 ms → 1 µs."""
    if value >= 1:
        return f"{value:g} ms"
    if value >= 0.001:
        return f"{value * 1000:g} µs"
    return f"{value * 1e6:g} ns"
