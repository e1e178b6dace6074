"""The orchestration remembers the result messages a read took, to skip their late NOTIFY."""

from __future__ import annotations

from stack.engine.recent_ids import RecentIds


def test_noted_ids_are_known_until_newer_ones_push_them_out() -> None:
    recent = RecentIds(kept=3)
    recent.note([1, 2])
    assert 1 in recent and 2 in recent and 3 not in recent
    recent.note([3, 1])  # 1 noted again is among the newest
    recent.note([4])
    assert 2 not in recent  # the oldest went
    assert all(msg_id in recent for msg_id in (1, 3, 4))
