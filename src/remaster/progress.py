"""The one progress bar of every long job (batch, check, generation, make): on stderr, so stdout stays data."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def progress_bar(label: str = "", *, enabled: bool = True, transient: bool = False, remaining: bool = True,
                 console: Console | None = None) -> Progress:
    """A bar with `label` (bold), done/total, time left (or elapsed, for steps of uneven length) and the task's
    description. Use as a context manager; `enabled=False` draws nothing."""
    timer = TimeRemainingColumn() if remaining else TimeElapsedColumn()
    return Progress(TextColumn(f"[bold]{label}") if label else TextColumn(""), BarColumn(), MofNCompleteColumn(),
                    timer, TextColumn("{task.description}"), console=console or Console(stderr=True),
                    disable=not enabled, transient=transient)
