"""The session's shared fixtures and the markers that say what a test needs.

Fixtures used by more than one module live in the plugin modules below (pytest reads
`pytest_plugins` only in this root conftest); test modules use them without importing them.
Markers come from where a test lives, from the fixtures it uses (its whole fixture closure)
and from explicit marks; each mark then brings what it implies: a full run starts the stack,
and the stack needs PostgreSQL. The markers are described in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import hypothesis_profiles

pytest_plugins = [
    "tests.postgres_db",  # pg_url, make_database, migrated_template, fresh_db, module_db
    "tests.tasker_core_db",  # tasker_core_template, tasker_core_db (tasker-core's migrations)
    "tests.otlp_capture",  # otlp_capture
    "tests.driver_harness",  # driver_env
]

TESTS = Path(__file__).parent

MARKS_BY_FOLDER: dict[Path, tuple[str, ...]] = {
    TESTS / "integration": ("integration",),
    TESTS / "faults": ("faults", "full_run"),
}
MARKS_BY_FIXTURE: dict[str, tuple[str, ...]] = {
    "pg_url": ("postgres",),  # every database fixture of tests/postgres_db.py requests it
    "driver_env": ("stack",),
}
IMPLIED: dict[str, tuple[str, ...]] = {
    "full_run": ("stack",),
    "stack": ("postgres",),
}


def needed_marks(path: Path, fixtures: set[str], explicit: set[str]) -> set[str]:
    """Every marker a test at `path` using `fixtures` and marked `explicit` should carry."""
    marks = set(explicit)
    for folder, names in MARKS_BY_FOLDER.items():
        if folder in path.parents:
            marks.update(names)
    for fixture, names in MARKS_BY_FIXTURE.items():
        if fixture in fixtures:
            marks.update(names)
    pending = list(marks)
    while pending:
        for implied in IMPLIED.get(pending.pop(), ()):
            if implied not in marks:
                marks.add(implied)
                pending.append(implied)
    return marks


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        explicit = {mark.name for mark in item.iter_markers()}
        fixtures = set(getattr(item, "fixturenames", ()))
        for name in sorted(needed_marks(Path(str(item.path)), fixtures, explicit) - explicit):
            item.add_marker(name)


# Hypothesis budgets (tests/hypothesis_profiles.py): "ci" by default, HYPOTHESIS_PROFILE=long
# for longer local hunts.
hypothesis_profiles.load()
