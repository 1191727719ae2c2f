"""Where a figure comes from: when it was measured, which revision of pbs measured it, on
which machine and interpreters.

Every results file records this, and a report that shows a figure it did not measure itself
(archives reused from an earlier run) names that figure's own provenance beside it.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pbs

# The pbs checkout the harness runs from: its code built the archives and runs the harness.
CHECKOUT = Path(pbs.__file__).resolve().parent


@dataclass(frozen=True, kw_only=True)
class Provenance:
    date: str  # UTC, ISO 8601 to the second
    revision: str  # the checkout's git commit, "+dirty" with uncommitted changes to tracked files

    @classmethod
    def now(cls) -> Provenance:
        return cls(date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   revision=revision(CHECKOUT))

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Provenance:
        return cls(date=data["date"], revision=data["revision"])

    def to_json(self) -> dict[str, str]:
        return {"date": self.date, "revision": self.revision}

    def text(self) -> str:
        return f"revision {self.revision}, {self.date}"


def revision(directory: Path) -> str:
    """The git commit checked out at `directory`, or "unknown" outside a git checkout."""
    head = _git(directory, "rev-parse", "HEAD")
    if head is None:
        return "unknown (not a git checkout)"
    dirty = _git(directory, "status", "--porcelain", "--untracked-files=no")
    return head + ("+dirty" if dirty else "")


def _git(directory: Path, *args: str) -> str | None:
    done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def version_of(python: Path) -> str:
    """The interpreter's full version, e.g. 3.11.2."""
    return subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                          check=True, capture_output=True, text=True).stdout.strip()


def machine() -> dict[str, object]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "harness_python": sys.version.split()[0]}
