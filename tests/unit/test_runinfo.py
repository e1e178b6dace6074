"""What a run records about where it ran."""

from __future__ import annotations

from pathlib import Path

from spanbench.runner import runinfo


def test_git_commit_outside_a_repository_is_unknown(tmp_path: Path) -> None:
    assert runinfo.git_commit(tmp_path) == "unknown"
