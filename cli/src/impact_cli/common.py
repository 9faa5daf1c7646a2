"""What every command shares: the two consoles, option types, one-line errors, JSON."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from impact_contracts import ConfigError
from rich.console import Console

#: How an operator sets the services' data root (docs/deployment.md).
DATA_ROOT_HINT = (
    "the services read files only under their data root: set it with `impact up "
    "--data-root DIR` (local stack) or IMPACT_DATA_ROOT=DIR (Docker Compose mounts it), "
    "or put the data in S3 or SQL"
)

#: Piped output (logs, files) gets a report-sized width instead of rich's 80 columns.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 140
console = Console(width=_WIDTH)
errors = Console(stderr=True, width=_WIDTH)

DataRoot = Annotated[
    Path | None,
    typer.Option(
        "--data-root",
        help="Paths in the manifest must stay inside this folder (default: the manifest's folder).",
    ),
]
NoCache = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Measure everything afresh: do not reuse or fill the measure result cache.",
    ),
]


def fail(problem: ConfigError | str, file: Path | None = None) -> NoReturn:
    """Print each line of a config problem as ``error ...`` and exit 2; after a path that
    escapes the data root, a ``hint`` line says how to set it."""
    lines = [problem] if isinstance(problem, str) else getattr(problem, "errors", None)
    prefix = f"{file}: " if file is not None else ""
    lines = lines or [str(problem)]
    for line in lines:
        errors.print(f"[red]error[/] {prefix}{line}", highlight=False, soft_wrap=True)
    if any("escapes the data root" in str(line) for line in lines):
        errors.print(f"[yellow]hint[/] {DATA_ROOT_HINT}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dump(value: Any) -> str:
    return json.dumps(value, default=_json_default, indent=2, sort_keys=True)
