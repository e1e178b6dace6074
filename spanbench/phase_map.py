"""Phase maps: which of a deployment's span names (and attribute conditions) are which phase.

A map is a small TOML file, one `[[span]]` table per rule, read top to bottom (the first rule
that matches a span decides):

    [[span]]
    name = "finalize_task"              # the span's name; "*" matches any name
    phase = "task.finalize"             # a spanbench phase; leave it out: known, in no phase
    when = { target = "h2::*" }         # optional: attribute values, a trailing * a prefix
    evidence = "why this span is this phase"

Built-in maps, one per system, are packaged beside this module (`phase_maps/<system>.toml`);
`--phase-map FILE` passes another. A span no rule matches is unmapped: the analysis keeps
its stored `bench.phase` when it has one and lists its name in the run's findings otherwise.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final

from spanbench.vocabulary import Phase

ANY_NAME: Final = "*"
PREFIX_MARK: Final = "*"
BUILTIN_FOLDER: Final = "phase_maps"
KNOWN_PHASES: Final = frozenset(value for name, value in vars(Phase).items()
                                if name.isupper() and isinstance(value, str))


class PhaseMapError(ValueError):
    """A phase map that cannot be read: the file and the rule are named."""


@dataclass(frozen=True)
class Rule:
    """One `[[span]]` table."""

    name: str
    phase: str | None
    when: Mapping[str, str] = field(default_factory=dict)
    evidence: str = ""

    def matches(self, name: str, attributes: Mapping[str, str]) -> bool:
        if self.name not in (ANY_NAME, name):
            return False
        return all(_value_matches(attributes.get(key), pattern)
                   for key, pattern in self.when.items())


def _value_matches(value: str | None, pattern: str) -> bool:
    if value is None:
        return False
    if pattern.endswith(PREFIX_MARK):
        return value.startswith(pattern[:-len(PREFIX_MARK)])
    return value == pattern


@dataclass(frozen=True)
class PhaseMap:
    """The rules of one map, in their order, and where they came from."""

    source: str
    rules: tuple[Rule, ...]

    def rule_for(self, name: str, attributes: Mapping[str, str] | None = None) -> Rule | None:
        """The first rule matching the span, None when the map does not know it."""
        attributes = attributes or {}
        return next((rule for rule in self.rules if rule.matches(name, attributes)), None)

    def phase_of(self, name: str, attributes: Mapping[str, str] | None = None) -> str | None:
        rule = self.rule_for(name, attributes)
        return rule.phase if rule else None

    @property
    def by_name(self) -> Mapping[str, str]:
        """Span names → phases of the rules that name a span and need no attribute."""
        found: dict[str, str] = {}
        for rule in self.rules:
            if rule.name != ANY_NAME and not rule.when and rule.phase:
                found.setdefault(rule.name, rule.phase)
        return found


def _builtin_folder() -> Traversable:
    return resources.files("spanbench") / BUILTIN_FOLDER


def builtin_names() -> tuple[str, ...]:
    """The systems with a built-in map (the packaged file names without `.toml`)."""
    return tuple(sorted(entry.name.removesuffix(".toml")
                        for entry in _builtin_folder().iterdir()
                        if entry.name.endswith(".toml")))


def builtin_path(system: str) -> Traversable:
    """The packaged map file of a system kind (`spanbench`, `tasker-core`): a copy to edit."""
    resource = _builtin_folder() / f"{system}.toml"
    if not resource.is_file():
        raise PhaseMapError(f"no built-in phase map for system {system!r} "
                            f"(built-in: {', '.join(builtin_names())})")
    return resource


def builtin(system: str) -> PhaseMap:
    """The packaged map of a system kind."""
    return parse(builtin_path(system).read_text(encoding="utf-8"), f"built-in {system}")


def load(path: str | Path) -> PhaseMap:
    """A map file a user passes (`--phase-map FILE`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise PhaseMapError(f"phase map {path}: {error.strerror or error}") from error
    return parse(text, str(path))


def parse(text: str, source: str) -> PhaseMap:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PhaseMapError(f"phase map {source}: {error}") from error
    tables = document.get("span", [])
    if not isinstance(tables, list):
        raise PhaseMapError(f"phase map {source}: `span` must be an array of tables ([[span]])")
    return PhaseMap(source, tuple(_rule(table, source, index)
                                  for index, table in enumerate(tables, 1)))


def _rule(table: Any, source: str, index: int) -> Rule:
    where = f"phase map {source}, span rule {index}"
    if not isinstance(table, dict):
        raise PhaseMapError(f"{where}: expected a table")
    unknown = set(table) - {"name", "phase", "when", "evidence"}
    if unknown:
        raise PhaseMapError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                            "(expected name, phase, when, evidence)")
    name, phase = table.get("name"), table.get("phase")
    if not isinstance(name, str) or not name:
        raise PhaseMapError(f"{where}: `name` must be a span name or \"*\"")
    if phase is not None and phase not in KNOWN_PHASES:
        raise PhaseMapError(f"{where}: unknown phase {phase!r} "
                            f"(phases: {', '.join(sorted(KNOWN_PHASES))})")
    when = table.get("when", {})
    if not isinstance(when, dict) or not all(isinstance(value, str) for value in when.values()):
        raise PhaseMapError(f"{where}: `when` must map attribute keys to strings")
    evidence = table.get("evidence", "")
    if not isinstance(evidence, str):
        raise PhaseMapError(f"{where}: `evidence` must be a string")
    return Rule(name, phase, dict(when), evidence)
