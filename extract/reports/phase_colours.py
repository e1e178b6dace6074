"""One phase → colour mapping for every chart of the HTML report, the same in every run.

Phases of the reference stack get fixed, mutually distinct colours (they share the e2e charts);
the handler and SQL phases, which only meet each other, reuse colours of that palette. A phase
the table does not know gets a colour from a hash of its name: stable, never random.
"""

from __future__ import annotations

import colorsys
import hashlib

WAIT = "wait"
"""The e2e breakdown's name for wall time no phase span covers."""

KNOWN: dict[str, str] = {
    "e2e.workflow": "#5b6770",
    "api.create_task": "#1f77b4",
    "POST /v1/tasks": "#9ecae9",
    "task.initialize": "#9467bd",
    "discovery": "#e377c2",
    "publish": "#ff7f0e",
    "notify": "#ffbb78",
    "claim": "#2ca02c",
    "execute": "#d62728",
    "submit": "#17becf",
    "result.process": "#bcbd22",
    "task.finalize": "#8c564b",
    "worker.total": "#393b79",
    "enqueue.total": "#637939",
    WAIT: "#d4d4d4",
    "handler.direct": "#1f77b4",
    "handler.framework": "#ff7f0e",
    "handler.foreign": "#2ca02c",
    "sql.get_next_ready_tasks": "#1f77b4",
    "sql.get_step_readiness_status": "#ff7f0e",
    "sql.get_task_execution_context": "#2ca02c",
    "sql.get_step_transitive_dependencies": "#d62728",
    "sql.transition_task_state_atomic": "#9467bd",
    "sql.calculate_dependency_levels": "#8c564b",
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
