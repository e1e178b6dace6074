"""`spanbench run`'s load flags are checked before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from spanbench.cli.app import app


@pytest.mark.parametrize(("args", "message"), [
    (["task_initialization", "--concurrency", "8"], "load e2e_latency only"),
    (["e2e_latency", "--rate", "5", "--arrival", "bursty"], "arrival must be one of"),
])
def test_a_bad_load_exits_2_naming_the_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               args: list[str], message: str) -> None:
    monkeypatch.setenv("SPANBENCH_HOME", str(tmp_path / ".spanbench"))
    result = CliRunner().invoke(app, ["run", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / ".spanbench").exists()  # nothing was started
