"""The analysis, as DuckDB SQL files: one concern per file, each opening with `-- name: <name>`.

The registry is checked when it is loaded: a file without a name line, a name that is not its
file's stem, or a name the code asks for without a file stops the program. Queries take DuckDB
named parameters ($run_id ...), never string formatting; a person can run the same files in the
DuckDB CLI over a `spans` view.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

NAME_LINE = re.compile(r"^-- name: ([a-z][a-z0-9_]*)\s*$")

NAMES: tuple[str, ...] = (
    "phase_summary", "worker_phases", "phase_stats", "baseline_samples", "baseline_repetitions",
    "e2e_workflows", "e2e_breakdown", "e2e_workflow_breakdown", "e2e_completeness", "e2e_lifecycle",
    "trend", "calibration",
    "e2e_throughput", "e2e_completion",
    "html_histograms", "html_waterfalls",
    "derive_workflows", "derive_check", "worker_derived", "unmapped_spans",
)
"""Every query the code runs."""


class QueryRegistryError(RuntimeError):
    """A query file and the names the code uses disagree."""


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    source: str


def _read(entry: Traversable) -> Query:
    text = entry.read_text(encoding="utf-8")
    first = text.splitlines()[0] if text else ""
    match = NAME_LINE.match(first)
    if match is None:
        raise QueryRegistryError(f"queries/{entry.name} does not open with '-- name: <name>'")
    name = match.group(1)
    if f"{name}.sql" != entry.name:
        raise QueryRegistryError(f"queries/{entry.name} is named {name!r}: rename one of them")
    return Query(name, text, f"queries/{entry.name}")


def load(names: Iterable[str] = NAMES, folder: Traversable | None = None) -> Mapping[str, Query]:
    """Every query file, checked against the names the code uses."""
    directory = folder if folder is not None else files(__name__)
    found = {query.name: query for query in
             (_read(entry) for entry in directory.iterdir() if entry.name.endswith(".sql"))}
    missing = sorted(set(names) - set(found))
    if missing:
        raise QueryRegistryError(f"no query file for {', '.join(missing)} in queries/")
    return found
