"""A live view of running build steps: what runs, for how long, what finished."""

from __future__ import annotations

import threading
import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from pbs.graph import Step, StepResult, StepRunner


class LiveSteps:
    """Shows running steps on a terminal; elsewhere prints one line per start and finish."""

    def __init__(self, console: Console, runner: StepRunner) -> None:
        self._console = console
        self._runner = runner
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

    def started(self, step: Step) -> None:
        with self._lock:
            self._running[step.name] = time.monotonic()
        if not self._console.is_terminal and not self._runner.is_cached(step):
            self._console.print(f"building {step.name} (log: {self._runner.log(step)})")

    def finished(self, result: StepResult) -> None:
        with self._lock:
            self._running.pop(result.step.name, None)
        if not result.cached:
            self._console.print(f"built {result.step.name} in {result.seconds:.1f} s")

    def _render(self) -> Table:
        table = Table(show_header=False, box=None)
        now = time.monotonic()
        with self._lock:
            for name, since in self._running.items():
                table.add_row("[cyan]building[/]", name, f"{now - since:.0f} s")
        return table
