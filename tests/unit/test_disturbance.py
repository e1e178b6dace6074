"""A suite run while the machine was busy elsewhere calls no change, and says why."""

from __future__ import annotations

from extract.analyse.baseline_compare import Comparison
from extract.analyse.disturbance import DISTURBED_AT, disturbed_suites, set_aside
from extract.reports.baseline_table import baseline_markdown, disturbed_line
from extract.store.run_json import SUITE_RAN, SuiteRecord


def _row(suite: str, status: str, change: float = 0.6) -> Comparison:
    return Comparison(suite, "s", None, "phase", 1.0e6, 1.0e6 * (1 + change), change, status,
                      50, 50, 0.4, 0.1, "40.0% = 4 × spread 10.0% over 20 runs", 1)


def test_a_suite_is_disturbed_from_its_shares_added_up() -> None:
    below = DISTURBED_AT * 0.9
    suites = {"quiet": SuiteRecord(SUITE_RAN, machine={"cpu_steal": below / 2,
                                                       "cpu_niced": below / 2}),
              "busy": SuiteRecord(SUITE_RAN, machine={"cpu_steal": DISTURBED_AT * 0.6,
                                                      "cpu_niced": DISTURBED_AT * 0.6}),
              "unknown": SuiteRecord(SUITE_RAN)}
    # what no process accounts for is recorded, never judged
    suites["unattributed"] = SuiteRecord(SUITE_RAN, machine={"cpu_steal": 0.0,
                                                            "cpu_foreign": 0.0,
                                                            "cpu_unattributed": 0.1})
    reasons = disturbed_suites(suites)
    assert list(reasons) == ["busy"]
    share = f"{DISTURBED_AT * 0.6:.1%}"
    assert f"steal {share}" in reasons["busy"] and f"niced processes {share}" in reasons["busy"]


def test_a_disturbed_suite_names_the_processes_that_took_its_cpu() -> None:
    takers = [{"pid": 4242, "command": "python -m pytest", "share": 0.021},
              {"pid": 77, "command": "", "share": 0.004}]
    suites = {"busy": SuiteRecord(SUITE_RAN, machine={"cpu_steal": 0.0, "cpu_foreign": 0.03},
                                  cpu_takers=takers),
              "quiet": SuiteRecord(SUITE_RAN, machine={"cpu_steal": 0.0, "cpu_foreign": 0.0},
                                   cpu_takers=takers[1:])}
    reasons = disturbed_suites(suites)
    assert list(reasons) == ["busy"]
    assert reasons["busy"] == ("the machine's CPU went elsewhere during the suite (steal 0.0%, "
                               "other processes 3.0%; most to pid 4242 `python -m pytest` 2.1%, "
                               "pid 77 `?` 0.4%)")


def test_set_aside_turns_calls_of_a_disturbed_suite_unstable() -> None:
    rows = [_row("busy", "Regressed"), _row("busy", "Improved", -0.6),
            _row("busy", "Stable", 0.01), _row("quiet", "Regressed")]
    marked = set_aside(rows, {"busy": "the machine's CPU went elsewhere (steal 3.0%)"})
    assert [row.status for row in marked] == ["Unstable", "Unstable", "Stable", "Regressed"]
    assert [bool(row.disturbed) for row in marked] == [True, True, True, False]
    line = disturbed_line(marked)
    assert line is not None and "busy: the machine's CPU went elsewhere (steal 3.0%)" in line
    assert line in baseline_markdown(marked, "main", "now")
    assert disturbed_line(rows) is None
