"""Whether tasker-core's Python worker (PyPI `tasker-py`, module `tasker_core`) is installed,
and why its Rust→Python boundary cannot be measured on a run (None: it can).

Found without importing it: importing the extension starts tasker-core's logging and metrics.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

from spanbench import settings

DISTRIBUTION = "tasker-py"
MODULE = "tasker_core"
SYSTEM = "tasker-core"
"""The system whose worker tasker-py is (instrument.systems.tasker_core's NAME)."""
INSTALL = "pip install 'spanbench[tasker]'"


def installed_version() -> str | None:
    """tasker-py's version when its module can be imported here; None when it cannot."""
    if find_spec(MODULE) is None:
        return None
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return None


def configured() -> Path | None:
    """The worker's TOML configuration the user named (SPANBENCH_TASKER_PY_CONFIG)."""
    return settings.path(settings.TASKER_PY_CONFIG)


def unavailable(system: str | None, database_url: str, installed: str | None,
                config: Path | None) -> str | None:
    """Why tasker-py's boundary cannot be measured against `system` (its name; None: no
    system yet) with `database_url` (empty: none), tasker-py `installed` (its version) and
    the worker configuration `config`; None: it can."""
    if system != SYSTEM:
        measured = "no system" if system is None else f"the system measured is {system}"
        return (f"needs a {SYSTEM} deployment ({measured}): set DATABASE_URL to a {SYSTEM} "
                f"database, or run with --system {SYSTEM}")
    if installed is None:
        return f"{DISTRIBUTION}, {SYSTEM}'s Python worker, is not installed: {INSTALL}"
    if not database_url:
        return "needs the deployment's database, copied into a scratch one: set DATABASE_URL"
    if config is None:
        return (f"needs the worker's configuration: set {settings.TASKER_PY_CONFIG} to the "
                f"TOML file a {DISTRIBUTION} worker of this deployment reads")
    if not config.is_file():
        return f"{settings.TASKER_PY_CONFIG}={config} is not a file: point it at the TOML file"
    return None
