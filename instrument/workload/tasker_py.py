"""Whether tasker-core's Python worker (PyPI `tasker-py`, module `tasker_core`) is installed.

Found without importing it: importing the extension starts tasker-core's logging and metrics.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec

DISTRIBUTION = "tasker-py"
MODULE = "tasker_core"


def installed_version() -> str | None:
    """tasker-py's version when its module can be imported here; None when it cannot."""
    if find_spec(MODULE) is None:
        return None
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return None
