"""The fault suite's runs share one spanbench home, so the embedded cluster is created once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.local import postgres
from tests.faults.harness import FAULT_LINE


@pytest.fixture(scope="session")
def fault_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("fault-home") / ".spanbench"
    try:
        yield home
    finally:
        postgres.remove(home / "run-stack")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The cases' lines as one table at the end of the session: fault → what was lost."""
    lines = [value for outcome in ("passed", "failed")
             for report in terminalreporter.stats.get(outcome, [])
             for name, value in getattr(report, "user_properties", ()) if name == FAULT_LINE]
    if lines:
        terminalreporter.section("fault suite")
        for line in lines:
            terminalreporter.write_line(str(line))
