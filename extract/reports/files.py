"""Where the reports go: tmp/benchmarks/<date>-<suite>.log|.json and latest/ (CLI calls it)."""

from __future__ import annotations

import os
from pathlib import Path

from extract.reports.ci_json import combined_document, suite_document
from extract.reports.github_action import github_action_entries
from extract.reports.html import html_report
from extract.reports.junit import junit_xml
from extract.reports.logs import suite_log, summary_markdown
from extract.reports.model import ReportInput
from spanbench import strict_json
from spanbench.security import check_name, contained

LATEST = "latest"
SUMMARY, RESULTS = "summary.md", "results.json"
GITHUB_ACTION, JUNIT = "github-action-benchmark.json", "junit.xml"
HTML = "report.html"


def _write(path: Path, text: str) -> Path:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path


def _link(latest: Path, target: Path) -> Path:
    """latest/<name> → ../<dated file>, replaced atomically."""
    link = latest / target.name.split("-", 3)[-1]
    temporary = latest / f".{link.name}.tmp"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(os.path.relpath(target, latest))
    os.replace(temporary, link)
    return link


def write_reports(report: ReportInput, output_dir: Path) -> list[Path]:
    """Every report file of the run; returns the paths written, latest/ included."""
    output_dir.mkdir(parents=True, exist_ok=True)
    latest = output_dir / LATEST
    latest.mkdir(exist_ok=True)
    date = f"{report.meta.started_at:%Y-%m-%d}"
    written: list[Path] = []
    for suite in report.suites():  # names come from span attributes: checked before use
        check_name(suite, "suite name")
        log = _write(contained(output_dir, f"{date}-{suite}.log"), suite_log(report, suite))
        doc = _write(contained(output_dir, f"{date}-{suite}.json"),
                     strict_json.dumps(suite_document(report, suite), indent=2) + "\n")
        written += [log, doc, _link(latest, log), _link(latest, doc)]
    written.append(_write(latest / SUMMARY, summary_markdown(report)))
    written.append(_write(latest / RESULTS, strict_json.dumps(combined_document(report), indent=2)
                          + "\n"))
    written.append(_write(latest / GITHUB_ACTION,
                          strict_json.dumps(github_action_entries(report), indent=2) + "\n"))
    written.append(_write(latest / JUNIT, junit_xml(report)))
    written.append(_write(latest / HTML, html_report(report)))
    return written
