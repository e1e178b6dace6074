"""What every report is made from: one run's statistics, target checks, baseline comparison,
e2e breakdowns and trace completeness. Rows are the analysis helpers' dataclasses
(extract.analyse.analysis, extract.analyse.baseline_compare, extract.analyse.breakdown);
reports only read their fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from extract.store.run_json import SUITE_FAILED, SUITE_RAN, SUITE_SKIPPED, SuiteRecord
from spanbench.vocabulary import SUITES, Suite, is_measurement, with_dataset_size

E2E_SUITE = Suite.E2E_LATENCY
SCHEMA_VERSION = 4
"""CI JSON schema version. 1: the seed's fields plus p50/p95/p99 (ms), n, schema_version.
2: each suite's `status` (ran, skipped, failed) and `reason`; the run's summary counts the
suites skipped and failed. 3: each suite's `measures` and each result's `subject`: what a
suite timing spanbench's own code measures (null: the deployment). 4: `results` holds target
checks only; every benchmark's statistics are in `measurements`, which have no status."""


@dataclass(frozen=True)
class RunMeta:
    run_id: str
    started_at: datetime
    commit: str
    environment: str
    host: str | None = None
    """run.json's host name (None when unknown): history calibrates thresholds per host."""


@dataclass(frozen=True)
class Prerequisite:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ReportInput:
    meta: RunMeta
    stats: Sequence[Any]
    """PhaseStats rows."""
    checks: Sequence[Any] = ()
    """TargetCheck rows."""
    comparisons: Sequence[Any] = ()
    """Comparison rows against `baseline_name`."""
    baseline_name: str | None = None
    breakdown: Sequence[Any] = ()
    """BreakdownRow rows (e2e_latency)."""
    completeness: Sequence[Any] = ()
    lifecycle: Sequence[Any] = ()
    prerequisites: Sequence[Prerequisite] = field(default_factory=tuple)
    charts: Any = None
    """extract.reports.html_data.ChartData: what report.html draws beyond the rows above."""
    outcomes: Mapping[str, SuiteRecord] = field(default_factory=dict)
    """What became of each suite asked for (run.json's `suites`); empty for older runs."""
    derived_breakdown: Sequence[Any] = ()
    """BreakdownRow rows over the derived spans (empty: the run has none)."""
    derived_check: Sequence[Any] = ()
    """DerivedCheckRow rows: derived against traced phases of the same steps."""
    derived_worker: Sequence[Any] = ()
    """DerivedWorkerRow rows: worker_execution's claim, execute, submit from derived spans."""
    completion: Sequence[str] = ()
    """e2e_latency: how completion was seen and the windows it lies in (one line per source,
    extract.reports.completion); empty for runs that did not record it."""
    unmapped: Sequence[Any] = ()
    """extract.analyse.unmapped.UnmappedName rows: the deployment's span names in no phase
    that the phase map does not know."""
    tracing_tax: Any = None
    """extract.analyse.tracing_tax.TracingTax of the e2e_latency workflows measured both ways;
    None when the run has none."""

    def tracing_tax_line(self) -> str | None:
        """The tracing tax in one sentence, with its interval and verdict; None without one."""
        return None if self.tracing_tax is None else self.tracing_tax.describe()

    def suites(self) -> list[str]:
        """Suites with statistics and suites skipped or failed, in the seed's order (unknown
        names last)."""
        present = {row.suite for row in self.stats} | {
            suite for suite, outcome in self.outcomes.items() if outcome.status != SUITE_RAN}
        order = [suite for suite in SUITES if suite in present]
        return order + sorted(present - set(order))

    def status_of(self, suite: str) -> SuiteRecord:
        """The suite's outcome; `ran` when the run did not record one."""
        return self.outcomes.get(suite, SuiteRecord(SUITE_RAN))

    def suites_with(self, status: str) -> list[str]:
        return [suite for suite in self.suites() if self.status_of(suite).status == status]

    def measures_of(self, suite: str) -> dict[str, str]:
        """Scenario → what it measures, for a suite that times spanbench's own code rather
        than the deployment (its driver's SUBJECT); empty for the others."""
        return dict(self.status_of(suite).measures or {})

    def stats_of(self, suite: str) -> list[Any]:
        return [row for row in self.stats if row.suite == suite]

    def measured_of(self, suite: str) -> list[Any]:
        """The suite's rows of its own measurements (spanbench.vocabulary.is_measurement)."""
        return [row for row in self.stats_of(suite) if is_measurement(suite, row.phase)]

    def set_off_of(self, suite: str) -> list[Any]:
        """The suite's rows of phases it set off in other components but does not measure."""
        return [row for row in self.stats_of(suite) if not is_measurement(suite, row.phase)]

    def checks_of(self, suite: str) -> list[Any]:
        return [check for check in self.checks if check.target.suite == suite]

    def comparisons_of(self, suite: str) -> list[Any]:
        return [row for row in self.comparisons if row.suite == suite]


def benchmark_name(row: Any) -> str:
    """scenario[+variant]/phase: the test name within a suite."""
    return f"{scenario_name(row.scenario, getattr(row, 'variant', None))}/{row.phase}"


def threshold_note(row: Any) -> str:
    """A comparison row's threshold as the reports show it: how the bar was set, then what
    the runs made to confirm a regression measured, when any were."""
    confirmation = getattr(row, "confirmation", "")
    return f"{row.note}; {confirmation}" if confirmation else row.note


def scenario_name(scenario: str, variant: str | None) -> str:
    """The scenario with its variant (a dataset size) when it has one: `name+1000`."""
    return with_dataset_size(scenario, variant) if variant else scenario


def checks_for(row: Any, checks: Sequence[Any]) -> list[Any]:
    """The target checks made on one statistics row (a check names its scenario and variant)."""
    return [check for check in checks
            if check.target.suite == row.suite and check.target.phase == row.phase
            and check_scenario(check) == row.scenario
            and getattr(check, "variant", None) == row.variant]


def unmatched(checks: Sequence[Any], rows: Sequence[Any]) -> list[Any]:
    """Checks of no statistics row: targets the run has no samples for."""
    used = {id(check) for row in rows for check in checks_for(row, checks)}
    return [check for check in checks if id(check) not in used]


SUITE_MARK = {SUITE_SKIPPED: "⚠️  SKIPPED", SUITE_FAILED: "❌ FAILED"}
"""How a suite that did not run to its end is marked in the text reports."""


def suite_status_line(report: ReportInput, suite: str) -> str | None:
    """`⚠️  SKIPPED: reason` or `❌ FAILED: reason`; None for a suite that ran."""
    outcome = report.status_of(suite)
    mark = SUITE_MARK.get(outcome.status)
    return None if mark is None else f"{mark}: {outcome.reason}"


MEASURES_HEADING = "What it measures:"
SET_OFF_HEADING = "Set off by the suite, not its measurement:"
"""Heads the rows of phases a suite's scenarios set off in other components (the workers)."""


def measures_lines(report: ReportInput, suite: str) -> list[str]:
    """`scenario: what it measures`, one per scenario the suite's driver describes."""
    return [f"{scenario}: {text}" for scenario, text in report.measures_of(suite).items()]


STATUS_MARK = {"pass": "✅ PASS", "warning": "⚠️  WARNING", "fail": "❌ FAIL",
               "missing": "⚠️  NO DATA"}
COMPARISON_MARK = {"Improved": "✅ Improved", "Stable": "✅ Stable", "Regressed": "❌ Regressed",
                   "Unstable": "⚠️ Unstable"}


def check_scenario(check: Any) -> str:
    """The scenario a check measured (its target's, or * for a target of every scenario)."""
    return getattr(check, "scenario", None) or check.target.scenario or "*"


def check_label(check: Any) -> str:
    """The target's label, with what it measured when one target covers several rows: the
    scenario (a target of every scenario) and the variant (e.g. a dataset size)."""
    scenario = getattr(check, "scenario", None) if check.target.scenario is None else None
    variant = getattr(check, "variant", None)
    where = scenario_name(scenario or "", variant)
    return f"{check.target.label} [{where}]" if where else str(check.target.label)


def check_name(check: Any) -> str:
    """suite/scenario phase metric: how a failing check is named on stderr and in JUnit."""
    t = check.target
    scenario = scenario_name(check_scenario(check), getattr(check, "variant", None))
    return f"{t.suite}/{scenario} {t.phase} {t.metric}"
