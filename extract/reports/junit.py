"""JUnit XML for CI test reporters: one test case per target."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from extract.reports.model import ReportInput, check_label, check_name
from extract.store.run_json import SUITE_FAILED, SUITE_SKIPPED
from spanbench.units import format_ms, format_target_ms


def _not_run(root: ET.Element, report: ReportInput, suite: str) -> None:
    """A suite skipped (<skipped>) or failed (<error>): one test case saying why."""
    outcome = report.status_of(suite)
    failed = outcome.status == SUITE_FAILED
    element = ET.SubElement(root, "testsuite", name=suite, tests="1",
                            failures="0", errors=str(int(failed)), skipped=str(int(not failed)),
                            timestamp=report.meta.started_at.strftime("%Y-%m-%dT%H:%M:%S"))
    case = ET.SubElement(element, "testcase", classname=suite, name=f"{suite} ({outcome.status})")
    if failed:
        ET.SubElement(case, "error", message=outcome.reason,
                      type="SuiteFailed").text = outcome.reason
    else:
        ET.SubElement(case, "skipped", message=outcome.reason)


def junit_xml(report: ReportInput) -> str:
    """<testsuites> with a <testsuite> per suite; fail → <failure>, warning → property and
    system-out, no data → <skipped>; a suite skipped → <skipped>, failed → <error>."""
    not_run = [suite for suite in report.suites()
               if report.status_of(suite).status in (SUITE_SKIPPED, SUITE_FAILED)]
    root = ET.Element("testsuites", name="spanbench",
                      tests=str(len(report.checks) + len(not_run)))
    for suite in report.suites():
        if suite in not_run:
            _not_run(root, report, suite)
        checks = report.checks_of(suite)
        if not checks:
            continue
        element = ET.SubElement(root, "testsuite", name=suite, tests=str(len(checks)),
                                failures=str(sum(c.status == "fail" for c in checks)),
                                skipped=str(sum(c.status == "missing" for c in checks)),
                                timestamp=report.meta.started_at.strftime("%Y-%m-%dT%H:%M:%S"))
        for check in checks:
            t = check.target
            case = ET.SubElement(element, "testcase", classname=f"{suite}.{t.phase}",
                                 name=f"{check_label(check)} ({check_name(check)})")
            if check.measured_ms is not None:
                case.set("time", f"{check.measured_ms / 1000:.6f}")
            line = (f"{check_name(check)} {format_ms(check.measured_ms)} against "
                    f"< {format_target_ms(t.threshold_ms)}: {check.message}")
            if check.status == "fail":
                ET.SubElement(case, "failure", message=line, type="TargetMissed").text = line
            elif check.status == "warning":
                properties = ET.SubElement(case, "properties")
                ET.SubElement(properties, "property", name="status", value="warning")
                ET.SubElement(case, "system-out").text = f"WARNING {line}"
            elif check.status == "missing":
                ET.SubElement(case, "skipped", message=line)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
