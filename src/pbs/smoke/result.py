"""What one check of a built archive concluded, and the table that reports them all."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.table import Table

Outcome = Literal["passed", "failed", "skipped"]

_STYLES: dict[str, str] = {"passed": "green", "failed": "bold red", "skipped": "yellow"}


@dataclass(frozen=True)
class CheckResult:
    name: str  # e.g. "imports", "ssl-handshake"
    outcome: Outcome
    detail: str  # failure message, skip reason, or a short summary

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


def passed(name: str, detail: str = "") -> CheckResult:
    return CheckResult(name, "passed", detail)


def failed(name: str, detail: str) -> CheckResult:
    return CheckResult(name, "failed", detail)


def skipped(name: str, reason: str) -> CheckResult:
    return CheckResult(name, "skipped", reason)


def tail(output: str, lines: int = 12) -> str:
    """The end of a command's output: where a failure explains itself."""
    return "\n".join(output.rstrip().splitlines()[-lines:])


def last_line(output: str) -> str:
    """A script's one-line summary: the last line it printed."""
    stripped = output.rstrip().splitlines()
    return stripped[-1] if stripped else ""


def render(results: Sequence[CheckResult]) -> Table:
    """One row per check; the caption counts the outcomes."""
    counts = Counter(result.outcome for result in results)
    caption = ", ".join(f"{counts[outcome]} {outcome}" for outcome in _STYLES)
    table = Table(title="archive checks", caption=caption)
    table.add_column("check")
    table.add_column("outcome")
    table.add_column("detail", overflow="fold")
    for result in results:
        style = _STYLES[result.outcome]
        table.add_row(result.name, f"[{style}]{result.outcome}[/]", result.detail)
    return table
