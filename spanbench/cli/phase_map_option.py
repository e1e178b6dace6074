"""`--phase-map FILE`, shared by the commands that attribute a run's spans to phases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spanbench import phase_map
from spanbench.phase_map import PhaseMap

PhaseMapOption = Annotated[Path | None, typer.Option(
    "--phase-map", metavar="FILE",
    help="A phase map (TOML: which of the deployment's span names are which phase) to use "
         "instead of the built-in map of the run's system.")]


def read_phase_map(path: Path | None) -> PhaseMap | None:
    """The map the option names; None without one. PhaseMapError (a ValueError) when the
    file cannot be read or is not a phase map."""
    return phase_map.load(path) if path is not None else None
