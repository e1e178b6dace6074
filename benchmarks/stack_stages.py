"""Where a linear workflow's stages spend their time, read from the stack's own records.

Every step transition is stamped with clock_timestamp() by the statement that makes it, and a
task's final transition likewise, so the gaps between a step's transitions split a sequential
stage into its parts without tracing (which would add its own cost):

- pickup: enqueued → in_progress: the rest of the orchestration's transaction and its commit,
  the worker's wake-up, its pgmq.read and the claim's transition;
- run: in_progress → enqueued_for_orchestration: the attempt's bookkeeping, the claim's commit,
  the handler, the submit's transition;
- hand-back: enqueued_for_orchestration → complete: the submit's writes, send and commit, the
  orchestration's wake-up, its pgmq.read, the task lock and the transition;
- next: complete → the next step enqueued (or, for the last step, the task's final state):
  discovery and publishing (or the finalization check).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime

import psycopg

_WITHIN_STEP = {"pickup": ("enqueued", "in_progress"),
                "run": ("in_progress", "enqueued_for_orchestration"),
                "hand-back": ("enqueued_for_orchestration", "complete")}
"""The parts between two transitions of one step; `next` reaches into the following step."""
PARTS = (*_WITHIN_STEP, "next")

STEP_TRANSITIONS_SQL = """
SELECT ws.task_uuid::text, ns.name, st.to_state, st.created_at
FROM tasker.workflow_step_transitions st
JOIN tasker.workflow_steps ws ON ws.workflow_step_uuid = st.workflow_step_uuid
JOIN tasker.named_steps ns ON ns.named_step_uuid = ws.named_step_uuid
WHERE ws.task_uuid = ANY (%s::uuid[])
"""

FINAL_TRANSITIONS_SQL = """
SELECT task_uuid::text, created_at FROM tasker.task_transitions
WHERE task_uuid = ANY (%s::uuid[]) AND to_state IN ('complete', 'blocked_by_failures')
"""


def _ms(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() * 1000


def stage_parts(database_url: str, task_uuids: list[str], step_names: list[str]
                ) -> dict[str, float]:
    """Median milliseconds of each part of a stage over the tasks' steps (in `step_names`'
    order, each depending on the one before)."""
    stamps: dict[tuple[str, str], dict[str, datetime]] = defaultdict(dict)
    with psycopg.connect(database_url) as conn:
        for task_uuid, name, state, at in conn.execute(STEP_TRANSITIONS_SQL, (task_uuids,)):
            stamps[(task_uuid, name)][state] = at
        finals = dict(conn.execute(FINAL_TRANSITIONS_SQL, (task_uuids,)).fetchall())
    gaps: dict[str, list[float]] = defaultdict(list)
    for task_uuid in task_uuids:
        for index, name in enumerate(step_names):
            step = stamps[(task_uuid, name)]
            for part, (start, end) in _WITHIN_STEP.items():
                gaps[part].append(_ms(step[start], step[end]))
            following = (stamps[(task_uuid, step_names[index + 1])]["enqueued"]
                         if index + 1 < len(step_names) else finals[task_uuid])
            gaps["next"].append(_ms(step["complete"], following))
    return {part: statistics.median(gaps[part]) for part in PARTS}
