"""A Progress that records what drivers report, for tests of progress lines."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RecordingProgress:
    started: list[tuple[str, str, int]] = field(default_factory=list)
    """(suite, line, total) in the order the lines were started."""
    advanced: Counter[tuple[str, str]] = field(default_factory=Counter)
    planned: dict[str, int] = field(default_factory=dict)
    """suite → the iterations its driver announced up front."""

    def plan(self, suite: str, total: int) -> None:
        self.planned[suite] = total

    def start(self, suite: str, line: str, total: int) -> None:
        self.started.append((suite, line, total))

    def advance(self, suite: str, line: str) -> None:
        self.advanced[(suite, line)] += 1

    def lines(self) -> list[str]:
        return [line for _, line, _ in self.started]

    def iterations_of(self, suite: str) -> int:
        """The iterations the suite's lines started with, in all."""
        return sum(total for started, _, total in self.started if started == suite)
