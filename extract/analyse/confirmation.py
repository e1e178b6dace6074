"""A regression is called only when it reproduces: the runs made to confirm one, and their verdict.

Unchanged code moves further from run to run than the bar's model allows (run_level): in 20
A/A runs of all seven suites on a quiet 2-core VM, 5 had one benchmark beyond its bar, each a
different one, by 4-7 spreads. Such moves rarely come twice in a row: `spanbench run --baseline`
runs the suites holding a Regressed benchmark again (`--confirm N`, each run on a stack of its
own, recorded in the run's run.json as `confirmation`), judges each of those runs alone against
the same baseline, on the history as it was before the run, and keeps a row Regressed only when
every one of them is Regressed too. Any other row keeps its status; a Regressed row that does
not reproduce becomes Unstable. Improved is not confirmed: it does not fail a run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from extract.analyse.run_level import REGRESSED, UNSTABLE

RECORD_BASELINE, RECORD_RUNS = "baseline", "runs"
"""run.json's `confirmation`: the baseline the runs confirmed against, and their ids."""


def suspect_suites(comparisons: Sequence[Any]) -> list[str]:
    """The suites holding a Regressed row, in the comparison's order."""
    return list(dict.fromkeys(row.suite for row in comparisons if row.status == REGRESSED))


def record(baseline: str, run_ids: Sequence[str]) -> dict[str, Any]:
    """run.json's `confirmation` for runs `run_ids` made to confirm against `baseline`."""
    return {RECORD_BASELINE: baseline, RECORD_RUNS: list(run_ids)}


def confirming_runs(recorded: Mapping[str, Any] | None, baseline: str | None) -> list[str]:
    """The runs recorded as confirming a run's comparison with `baseline` (none for another
    baseline: they confirmed nothing against it)."""
    if not recorded or baseline is None or recorded.get(RECORD_BASELINE) != baseline:
        return []
    return [str(run_id) for run_id in recorded.get(RECORD_RUNS, ())]


def confirm(comparisons: Sequence[Any], confirmations: Sequence[Sequence[Any]]
            ) -> list[Any]:
    """The comparisons with each Regressed row kept only where every confirmation (a run's
    comparison rows) has it Regressed too, else Unstable; a confirmed or refuted row's
    `confirmation` says what the runs measured."""
    again = [{row.key: row for row in rows} for rows in confirmations]
    result = []
    for row in comparisons:
        if row.status != REGRESSED or not again:
            result.append(row)
            continue
        seen = [rows.get(row.key) for rows in again]
        held = all(other is not None and other.status == REGRESSED for other in seen)
        moves = ", ".join("absent" if other is None else
                          f"{other.change:+.1%}" + (f" ({other.status})"
                                                    if other.status != REGRESSED else "")
                          for other in seen)
        runs = f"{len(seen)} more run{'s' if len(seen) > 1 else ''}"
        result.append(dataclasses.replace(
            row, status=REGRESSED if held else UNSTABLE,
            confirmation=f"{'confirmed' if held else 'not confirmed'} by {runs}: {moves}"))
    return result
