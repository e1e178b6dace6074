"""A test-only hook: stall one step mid-execution, so a fault test can kill its worker or let
the driver's per-workflow timeout fire. Armed by a file in SPANBENCH_FAULT_DIR (see
spanbench.settings); without that variable it costs nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

from stack.engine.worker.steps import ClaimedStep

logger = logging.getLogger(__name__)

ARMED = "stall-next-step.json"
TAKEN = "stall-taken.json"


async def stall_if_armed(fault_dir: Path | None, worker_id: str, step: ClaimedStep) -> None:
    """Take the armed stall (one worker wins the rename) and sleep its `ms`."""
    if fault_dir is None:
        return
    claimed = fault_dir / f".stall-claimed.{os.getpid()}"
    try:
        os.rename(fault_dir / ARMED, claimed)
    except FileNotFoundError:
        return
    milliseconds = float(json.loads(claimed.read_text())["ms"])
    record = {"ms": milliseconds, "worker_id": worker_id, "pid": os.getpid(),
              "step_uuid": step.message.step_uuid, "step_name": step.step_name,
              "task_uuid": step.message.task_uuid}
    temporary = fault_dir / f".{TAKEN}.tmp"
    temporary.write_text(json.dumps(record))
    temporary.replace(fault_dir / TAKEN)
    claimed.unlink()
    logger.warning("fault hook: stalling step %s (%s) for %.0f ms", step.step_name,
                   step.message.step_uuid, milliseconds)
    await asyncio.sleep(milliseconds / 1000)
