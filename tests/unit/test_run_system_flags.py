"""`spanbench run --system/--template` are checked before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from spanbench.cli.app import app


@pytest.mark.parametrize(("args", "message"), [
    (["--system", "temporal"], "--system 'temporal': choose spanbench or tasker-core"),
    (["--system", "tasker-core"], "spanbench starts its own stack only when neither is set"),
    (["--template", "linear_4"], "expected SCENARIO=namespace/name:version"),
    (["--template", "linear_4=a/b:1.0.0"], "--template chooses templates of tasker-core"),
])
def test_a_bad_system_or_template_exits_2_naming_the_problem(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str) -> None:
    monkeypatch.setenv("SPANBENCH_HOME", str(tmp_path / ".spanbench"))
    for name in ("DATABASE_URL", "TASKER_TEST_ORCHESTRATION_URL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["run", "event_propagation", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / ".spanbench").exists()  # nothing was started
