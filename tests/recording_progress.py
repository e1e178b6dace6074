"""A Progress that records what drivers report, for tests of progress lines."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RecordingProgress:
    started: list[tuple[str, str, int]] = field(default_factory=list)
    """(suite, line, total) in the order the lines were started."""
    advanced: Counter[tuple[str, str]] = field(default_factory=Counter)

    def start(self, suite: str, line: str, total: int) -> None:
        self.started.append((suite, line, total))

    def advance(self, suite: str, line: str) -> None:
        self.advanced[(suite, line)] += 1

    def lines(self) -> list[str]:
        return [line for _, line, _ in self.started]
