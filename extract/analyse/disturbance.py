"""Which suites ran while the machine was busy elsewhere, and setting their calls aside.

A suite whose machine gave DISTURBED_AT or more of its CPU to others (run.json's
suites.*.machine, spanbench.runner.machine_load) measured the machine as much as the code: its
benchmarks' changes are Unstable, never Regressed or Improved, with the reason on the row,
naming the processes that took the CPU where the run knows them (suites.*.cpu_takers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from extract.analyse.run_level import IMPROVED, REGRESSED, UNSTABLE

DISTURBED_AT = 0.005
"""Share of the machine's CPU gone elsewhere over a suite from which its calls are set aside.
Over 362 suites of 52 runs of all seven suites on a 2-core VM, half read 0%, three quarters
0.05% or less; the runs in which unchanged code came out Regressed read 2-12%. Steal comes in
episodes that last minutes, and within one a suite may read less than the others: the one
regression of unchanged code that a second run confirmed ran at 0.59%, beside suites of the
same run at 1.3-3.4%."""
SHARE_NAMES = {"cpu_steal": "steal", "cpu_niced": "niced processes",
               "cpu_foreign": "other processes"}
"""The shares judged, and what the reason calls them; the others recorded (cpu_unattributed:
spanbench.runner.machine_load) are not."""


def disturbed_suites(suites: Mapping[str, Any]) -> dict[str, str]:
    """Suite → why its calls are set aside, for each suite record (run_json.SuiteRecord) whose
    machine shares add up to DISTURBED_AT or more."""
    reasons = {}
    for suite, record in suites.items():
        shares = {name: share for name, share in (getattr(record, "machine", None) or {}).items()
                  if name in SHARE_NAMES}
        if sum(shares.values()) >= DISTURBED_AT:
            parts = ", ".join(f"{SHARE_NAMES[name]} {share:.1%}" for name, share in shares.items())
            takers = getattr(record, "cpu_takers", None)
            if takers:
                parts += "; most to " + ", ".join(
                    f"pid {taker.get('pid')} `{taker.get('command') or '?'}` {taker['share']:.1%}"
                    for taker in takers)
            reasons[suite] = f"the machine's CPU went elsewhere during the suite ({parts})"
    return reasons


def disturbed_in(runs: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """`disturbed_suites` over several runs' suite records: a suite disturbed in any of them."""
    reasons: dict[str, str] = {}
    for suites in runs:
        reasons.update(disturbed_suites(suites))
    return reasons


def set_aside(comparisons: Sequence[Any], disturbed: Mapping[str, str]) -> list[Any]:
    """The comparisons with every Regressed or Improved row of a disturbed suite Unstable, and
    every row of one carrying the reason (its `disturbed`)."""
    rows = []
    for row in comparisons:
        reason = disturbed.get(row.suite)
        if reason:
            status = UNSTABLE if row.status in (REGRESSED, IMPROVED) else row.status
            row = dataclasses.replace(row, status=status, disturbed=reason)
        rows.append(row)
    return rows
