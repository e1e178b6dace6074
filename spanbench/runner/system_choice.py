"""Which adapter measures the deployment: `--system`, else what DATABASE_URL's database is.

The choice is made before anything is started or written, from the database's catalogue
(instrument.systems.detect): a tasker-core database is never measured as spanbench's stack,
nor spanbench's as tasker-core, and spanbench never starts its own stack against a tasker-core
database. The adapter carries what the inspection found (the functions the database lacks or
declares otherwise), so each driver's `unsupported(system)` alone says which suites it cannot
run (spanbench.runner.suites).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import psycopg

from instrument.drivers import e2e_latency, task_initialization, worker_execution
from instrument.systems import detect, spanbench_stack, tasker_core
from instrument.systems.base import Endpoints, System, TemplateRef
from instrument.systems.spanbench_stack import SpanbenchStack
from instrument.systems.tasker_core import TaskerCore, TemplateOptionError, template_overrides
from spanbench import settings
from spanbench.runner import suites as registry

SYSTEMS = (spanbench_stack.NAME, tasker_core.NAME)
SUITE_TEMPLATE_SCENARIOS: Mapping[str, tuple[str, ...]] = {
    driver.SUITE: tuple(driver.SCENARIOS)
    for driver in (task_initialization, worker_execution, e2e_latency)
}
"""Per suite, its scenarios that run on a template."""
TEMPLATE_SCENARIOS = tuple(sorted({scenario for scenarios in SUITE_TEMPLATE_SCENARIOS.values()
                                   for scenario in scenarios}))
"""The scenarios that run on a template (what --template may name)."""
NOWHERE = Endpoints("", "")


class SystemChoiceError(ValueError):
    """--system or --template cannot be honoured; the message says what to do."""


@dataclass(frozen=True)
class SystemChoice:
    """The adapter a run measures the deployment through, and how it was chosen."""

    name: str = spanbench_stack.NAME
    templates: Mapping[str, TemplateRef] = field(default_factory=dict)
    """--template overrides (tasker-core only)."""
    inspection: detect.Inspection | None = None
    """What DATABASE_URL's database was found to be; None: it was not looked at."""
    reason: str = "the default"

    def describe(self) -> str:
        """One line for the console: the system and why."""
        return f"system: {self.name} ({self.reason})"

    def function_problems(self) -> list[str]:
        """tasker-core's functions the database lacks or declares otherwise, described."""
        return list(self.unavailable_functions().values())

    def unavailable_functions(self) -> dict[str, str]:
        """Per tasker-core function the database lacks or declares otherwise, what is wrong."""
        if self.name != tasker_core.NAME or self.inspection is None:
            return {}
        return {name: check.describe() for name, check in self.inspection.functions.items()
                if not check.ok}


def choose(explicit: str | None, template_options: Sequence[str] = (),
           database_url: str | None = None,
           orchestration_url: str | None = None) -> SystemChoice:
    """The system to measure: `explicit` (--system), else the one DATABASE_URL's database
    belongs to, else spanbench's stack. Raises SystemChoiceError when the choice would measure
    one system as another, start spanbench's stack against tasker-core, or has a bad --template.
    """
    if explicit is not None and explicit not in SYSTEMS:
        raise SystemChoiceError(f"--system {explicit!r}: choose {' or '.join(SYSTEMS)}")
    try:
        overrides = template_overrides(template_options)
    except TemplateOptionError as error:
        raise SystemChoiceError(str(error)) from None
    unknown = sorted(set(overrides) - set(TEMPLATE_SCENARIOS))
    if unknown:
        raise SystemChoiceError(f"--template: no scenario named {', '.join(unknown)} runs on a "
                                f"template; choose from {', '.join(TEMPLATE_SCENARIOS)}")
    inspection = _inspect(database_url)
    detected = inspection.detection.system if inspection is not None else None
    evidence = inspection.detection.evidence if inspection is not None else "not reachable"
    name = explicit or detected or spanbench_stack.NAME
    if detected is not None and name != detected:
        raise SystemChoiceError(
            f"{settings.DATABASE_URL}'s database is {detected}'s ({evidence}): measure it "
            f"with --system {detected}, or point {settings.DATABASE_URL} at a {name} database")
    if overrides and name != tasker_core.NAME:
        raise SystemChoiceError(f"--template chooses templates of {tasker_core.NAME}; the "
                                f"system measured is {name}")
    if name == tasker_core.NAME and not (database_url or orchestration_url):
        raise SystemChoiceError(
            f"{tasker_core.NAME} is measured where it runs: set {settings.DATABASE_URL} (the "
            f"database suites) and {settings.TASKER_TEST_ORCHESTRATION_URL} (the API suites) to "
            "the deployment; spanbench starts its own stack only when neither is set")
    if explicit is not None:
        reason = "--system"
    elif detected is not None:
        reason = f"detected: {evidence}"
    elif database_url is not None:
        reason = f"the default; {settings.DATABASE_URL}'s database: {evidence}"
    else:
        reason = f"the default; {settings.DATABASE_URL} is not set"
    return SystemChoice(name, overrides, inspection, reason)


def _inspect(database_url: str | None) -> detect.Inspection | None:
    if database_url is None:
        return None
    try:
        return detect.inspect(database_url)
    except psycopg.Error:  # the prerequisites report an unreachable database
        return None


def adapter(choice: SystemChoice, endpoints: Endpoints) -> System:
    """The chosen system's adapter for the deployment at `endpoints`."""
    if choice.name == tasker_core.NAME:
        return TaskerCore(endpoints, templates=dict(choice.templates),
                          unavailable=choice.unavailable_functions())
    return SpanbenchStack(endpoints)


def template_map(choice: SystemChoice) -> dict[str, str]:
    """Each template scenario's template on the chosen system (`namespace/name:version`), as
    run.json records it; scenarios it has none for are left out."""
    system = adapter(choice, NOWHERE)  # which template a scenario runs is not about where
    refs = {scenario: system.template(scenario) for scenario in TEMPLATE_SCENARIOS}
    return {scenario: f"{ref.namespace}/{ref.name}:{ref.version}"
            for scenario, ref in refs.items() if ref is not None}


def scenarios_without_template(choice: SystemChoice, suites: Sequence[str]) -> dict[str, list[str]]:
    """Per suite of `suites` the chosen system can run, its scenarios it has no template for
    (the driver skips them)."""
    system = adapter(choice, NOWHERE)
    missing = {suite: [scenario for scenario in SUITE_TEMPLATE_SCENARIOS.get(suite, ())
                       if system.template(scenario) is None]
               for suite in suites if registry.unsupported(suite, system) is None}
    return {suite: scenarios for suite, scenarios in missing.items() if scenarios}

