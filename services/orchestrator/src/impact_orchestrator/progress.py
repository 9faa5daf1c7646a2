"""A progress bar per stage for embedded runs (rich), in terminals and notebooks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

StatusCallback = Callable[[dict[str, Any]], None]


def wanted() -> bool:
    """A bar is shown on an interactive terminal or in Jupyter, not in logs or pipes."""
    from rich.console import Console

    console = Console(stderr=True)
    return console.is_terminal or console.is_jupyter


@contextmanager
def stage_progress(enabled: bool) -> Iterator[StatusCallback | None]:
    """A ``run_status`` callback driving one bar per stage (``None`` when not enabled)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn())
    tasks: dict[str, Any] = {}
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:

        def on_status(status: dict[str, Any]) -> None:
            stage = str(status.get("stage", "run"))
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=status.get("total") or None)
            bar.update(
                tasks[stage],
                completed=status.get("completed", 0),
                total=status.get("total") or None,
            )

        yield on_status
