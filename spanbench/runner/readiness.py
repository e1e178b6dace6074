"""Which of the suites asked for can run: each driver's `NEEDS` against the checks of the
deployment's parts, then the driver's own `unsupported(system)` probe.

A suite needing a part the run does not name is skipped with what to set (⚠️); one whose
needs are all named but one is broken (unreachable, incomplete) cannot run (❌); a suite the
system cannot run (`unsupported`) is skipped with the driver's reason.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from instrument.drivers.base import Need
from spanbench import settings
from spanbench.runner.prerequisites import Check, SuiteReadiness

NEED_WORDS: Mapping[Need, str] = {Need.DATABASE: "a database",
                                  Need.ORCHESTRATION: "an orchestration API",
                                  Need.WORKERS: "workers"}
NEED_VARIABLES: Mapping[Need, str] = {Need.DATABASE: settings.DATABASE_URL,
                                      Need.ORCHESTRATION: settings.TASKER_TEST_ORCHESTRATION_URL,
                                      Need.WORKERS: settings.TASKER_TEST_ORCHESTRATION_URL}
"""What names each part (a deployment's workers come with its orchestration)."""


def assess(needs: Mapping[str, Collection[Need]], checks: Sequence[Check],
           unsupported: Callable[[str], str | None]) -> list[SuiteReadiness]:
    """Each suite of `needs` (in its order): runnable, skipped or broken, with the reason.

    `unsupported(suite)` is asked only of suites whose needs are all met."""
    return [_one(suite, suite_needs, checks, unsupported) for suite, suite_needs in needs.items()]


def _one(suite: str, needs: Collection[Need], checks: Sequence[Check],
         unsupported: Callable[[str], str | None]) -> SuiteReadiness:
    unmet = [check for check in checks if check.need in needs and not check.ok]
    unnamed = [check for check in unmet if check.unnamed]
    if unnamed:
        missing = [need for need in Need if any(check.need is need for check in unnamed)]
        variables = dict.fromkeys(NEED_VARIABLES[need] for need in missing)
        return SuiteReadiness(
            suite, False, f"needs {_words(missing)}, which this run does not name",
            f"set {' and '.join(variables)} (or name no deployment at all to measure "
            "spanbench's own stack)")
    if unmet:
        first = unmet[0]
        return SuiteReadiness(suite, False, f"{first.name}: {first.detail}", first.fix,
                              broken=True)
    why = unsupported(suite)
    if why:
        return SuiteReadiness(suite, False, why)
    return SuiteReadiness(suite, True)


def _words(needs: Sequence[Need]) -> str:
    words = [NEED_WORDS[need] for need in needs]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
