"""A test-only hook: pause a run before chosen iterations so a test can inject a fault there.

Active only when SPANBENCH_FAULT_DIR and SPANBENCH_FAULT_PAUSE_AT are set (see
instrument.settings); the pause happens between iterations, never inside a timed region.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from instrument import settings

_logger = logging.getLogger(__name__)

POLL_S = 0.02


@dataclass(frozen=True)
class PausePoints:
    """Where to pause (`suite/scenario#index`) and the directory of the handshake files."""

    directory: Path
    points: frozenset[str]

    @classmethod
    def from_env(cls) -> PausePoints | None:
        directory = settings.fault_dir()
        points = settings.fault_pause_points()
        if directory is None or not points:
            return None
        return cls(Path(directory), points)

    def before(self, suite: str, scenario: str, index: int,
               max_wait_s: float = settings.FAULT_PAUSE_MAX_S) -> None:
        """If this iteration is a pause point: announce it and wait for the resume file."""
        if f"{suite}/{scenario}#{index}" not in self.points:
            return
        stem = self.directory / f"{suite}.{scenario}.{index}"
        resume = stem.with_name(stem.name + ".resume")
        announce = stem.with_name(stem.name + ".paused")
        temporary = stem.with_name(f".{stem.name}.paused.tmp")
        temporary.write_text(json.dumps({"pid": os.getpid(), "suite": suite,
                                         "scenario": scenario, "index": index}))
        temporary.replace(announce)
        _logger.info("fault hook: paused before %s/%s#%d until %s exists", suite, scenario,
                     index, resume)
        deadline = time.monotonic() + max_wait_s
        while not resume.exists():
            if time.monotonic() > deadline:
                _logger.warning("fault hook: no %s after %.0f s; going on", resume, max_wait_s)
                return
            time.sleep(POLL_S)
