"""A progress bar on stderr for long runs, or nothing at all.

The bar is for a person watching a terminal: it goes to stderr (stdout stays clean for the
report), only when stderr is a TTY, never for machine-readable output, and it disappears
when the run ends so the report starts on a clean screen. rich is imported only when a bar
is actually shown.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

# Output formats that a program reads: no bar, even on a terminal.
MACHINE_FORMATS = frozenset({"json", "csv", "ocsf", "asff"})


class ProgressLike(Protocol):
    """What the fan-out needs from a progress display."""

    def advance(self, n: int = 1) -> None: ...


class NoProgress:
    """A progress display that shows nothing."""

    def advance(self, n: int = 1) -> None:
        return None


class _RichProgress:
    def __init__(self, progress: Progress, task_id: TaskID) -> None:
        self._progress = progress
        self._task_id = task_id

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task_id, n)


@contextmanager
def progress_for(total: int, enabled: bool, label: str) -> Iterator[ProgressLike]:
    """A bar counting to `total` on stderr when `enabled`, else a no-op display."""
    if not enabled or total <= 0:
        yield NoProgress()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        yield _RichProgress(progress, progress.add_task(label, total=total))


def should_show_progress(output_format: str, stream: TextIO | None = None) -> bool:
    """True only when stderr is a terminal and the output is not machine-readable."""
    if output_format.strip().lower() in MACHINE_FORMATS:
        return False
    target = stream if stream is not None else sys.stderr
    try:
        return bool(target.isatty())
    except (AttributeError, ValueError):  # no stream, or a closed one
        return False
