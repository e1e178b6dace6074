"""The fault suite's runs share one spanbench home, so the embedded cluster is created once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stack import postgres


@pytest.fixture(scope="session")
def fault_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("fault-home") / ".spanbench"
    try:
        yield home
    finally:
        postgres.remove(home / "run-stack")
