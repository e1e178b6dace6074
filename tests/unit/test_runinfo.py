"""Run ids sort by time and are valid directory names; run.json is written whole."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from spanbench.runner import runinfo


def test_run_ids_sort_by_time_and_are_safe_names() -> None:
    early = runinfo.new_run_id(datetime(2026, 1, 1, tzinfo=UTC))
    late = runinfo.new_run_id(datetime(2026, 1, 2, tzinfo=UTC))
    assert early < late
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", early)
    assert runinfo.new_run_id() != runinfo.new_run_id()


def test_run_json_is_replaced_atomically(tmp_path: Path) -> None:
    runinfo.write(tmp_path / "r", {"a": 1})
    path = runinfo.write(tmp_path / "r", {"a": 2, "host": runinfo.host()})
    assert json.loads(path.read_text())["a"] == 2
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["run.json"]


def test_git_commit_outside_a_repository_is_unknown(tmp_path: Path) -> None:
    assert runinfo.git_commit(tmp_path) == "unknown"
