"""A live view of running build steps: what runs, for how long, what finished."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table


class LiveSteps:
    """Shows running steps on a terminal; elsewhere prints one line per start and finish."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._running: dict[str, float] = {}
        self._lock = threading.Lock()
        self._live = Live(console=console, get_renderable=self._render, transient=True)

    def __enter__(self) -> LiveSteps:
        if self._console.is_terminal:
            self._live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._live.stop()

    def started(self, name: str, log: Path, cached: bool) -> None:
        with self._lock:
            self._running[name] = time.monotonic()
        if not self._console.is_terminal and not cached:
            self._console.print(f"started {name} (log: {log})")

    def finished(self, name: str, cached: bool, seconds: float) -> None:
        with self._lock:
            self._running.pop(name, None)
        if not cached:
            self._console.print(f"finished {name} in {seconds:.1f} s")

    def _render(self) -> Table:
        table = Table(show_header=False, box=None)
        now = time.monotonic()
        with self._lock:
            for name, since in self._running.items():
                table.add_row("[cyan]running[/]", name, f"{now - since:.0f} s")
        return table
