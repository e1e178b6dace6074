"""What several commands share: the consoles, the error exit, JSON output."""

from __future__ import annotations

import typer
from rich.console import Console

from spanbench import strict_json

console = Console()
errors = Console(stderr=True)


def fail(error: Exception | str) -> typer.Exit:
    """Print the error on stderr; the exit (code 1) for the caller to raise."""
    errors.print(f"[red]error:[/red] {error}", highlight=False)
    return typer.Exit(1)


def print_json(payload: object) -> None:
    typer.echo(strict_json.dumps(payload, indent=2))
