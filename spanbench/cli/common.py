"""What several commands share: the consoles, the error exit, JSON output."""

from __future__ import annotations

import typer
from rich.console import Console

from spanbench import strict_json

PLAIN_WIDTH = 160
"""The least width of a report console writing to a file or a CI log (rich's default there is
80 columns, which truncates the statistics tables' cells)."""

console = Console()
errors = Console(stderr=True)


def report_console() -> Console:
    """A stdout console for tables: as wide as the terminal, or PLAIN_WIDTH off a terminal
    unless COLUMNS says wider."""
    wide = Console()
    if not wide.is_terminal:
        wide.width = max(wide.width, PLAIN_WIDTH)
    return wide


def fail(error: Exception | str) -> typer.Exit:
    """Print the error on stderr; the exit (code 1) for the caller to raise."""
    errors.print(f"[red]error:[/red] {error}", highlight=False)
    return typer.Exit(1)


def print_json(payload: object) -> None:
    typer.echo(strict_json.dumps(payload, indent=2))
