"""Progress display for work that may be slow: shown only once it has taken over a second."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

SHOW_AFTER_SECONDS = 1.0


class Activity:
    """A running piece of work; `advance` reports bytes done. Silent without a display."""

    def __init__(self, progress: Progress | None = None, task: int = 0) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, amount)


@contextmanager
def activity(console: Console, description: str, total: int | None = None) -> Iterator[Activity]:
    """Show `description` with a spinner (and bytes, if `total` is known) after one second.

    Nothing is shown when the console is not a terminal (logs, CI): a live display there
    would only leave blank lines.
    """
    if not console.is_terminal:
        yield Activity()
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task(description, total=total)
    timer = threading.Timer(SHOW_AFTER_SECONDS, progress.start)
    timer.daemon = True
    timer.start()
    try:
        yield Activity(progress, task)
    finally:
        timer.cancel()
        # Timer.cancel does not wait for a start already under way; join makes stop() final.
        if timer.is_alive():
            timer.join()
        progress.stop()
