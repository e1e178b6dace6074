"""One phase → colour mapping for every chart of the HTML report, the same in every run.

Phases of the reference stack get fixed, mutually distinct colours (they share the e2e charts);
the handler and SQL phases, which only meet each other, reuse colours of that palette. A phase
the table does not know gets a colour from a hash of its name: stable, never random.
"""

from __future__ import annotations

import colorsys
import hashlib

from spanbench.vocabulary import WAIT_PHASE, Phase, sql_phase

WAIT = WAIT_PHASE
"""The e2e breakdown's name for wall time no phase span covers."""

KNOWN: dict[str, str] = {
    Phase.E2E_WORKFLOW: "#5b6770",
    Phase.API_CREATE_TASK: "#1f77b4",
    "POST /v1/tasks": "#9ecae9",
    Phase.TASK_INITIALIZE: "#9467bd",
    Phase.DISCOVERY: "#e377c2",
    Phase.PUBLISH: "#ff7f0e",
    Phase.NOTIFY: "#ffbb78",
    Phase.CLAIM: "#2ca02c",
    Phase.EXECUTE: "#d62728",
    Phase.SUBMIT: "#17becf",
    Phase.RESULT_PROCESS: "#bcbd22",
    Phase.TASK_FINALIZE: "#8c564b",
    Phase.WORKER_TOTAL: "#393b79",
    Phase.ENQUEUE_TOTAL: "#637939",
    WAIT: "#d4d4d4",
    Phase.HANDLER_DIRECT: "#1f77b4",
    Phase.HANDLER_FRAMEWORK: "#ff7f0e",
    Phase.HANDLER_FOREIGN: "#2ca02c",
    sql_phase("get_next_ready_tasks"): "#1f77b4",
    sql_phase("get_step_readiness_status"): "#ff7f0e",
    sql_phase("get_task_execution_context"): "#2ca02c",
    sql_phase("get_step_transitive_dependencies"): "#d62728",
    sql_phase("transition_task_state_atomic"): "#9467bd",
    sql_phase("calculate_dependency_levels"): "#8c564b",
}

ORDER: tuple[str, ...] = tuple(KNOWN)
"""Where a phase stands in legends and stacked bars: the stack's order, then the others."""


def phase_colour(phase: str) -> str:
    """The phase's colour as #rrggbb."""
    known = KNOWN.get(phase)
    if known is not None:
        return known
    digest = hashlib.sha256(phase.encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    red, green, blue = colorsys.hls_to_rgb(hue, 0.45, 0.55)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def phase_order(phases: set[str] | list[str]) -> list[str]:
    """The phases in legend order: known ones as ORDER has them, then the rest by name."""
    known = [phase for phase in ORDER if phase in phases]
    return known + sorted(set(phases) - set(known))


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on `background` (#rrggbb)."""
    red, green, blue = (int(background[i:i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#111111" if luminance > 0.5 else "#ffffff"
