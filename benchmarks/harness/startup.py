"""Start-up time: wall clock of short `python -c` runs, interleaved across interpreters.

Each round runs every interpreter once per command, so drift of a busy machine (frequency,
other load) spreads evenly over them. The environment is the caller's, as a user's shell
would give it; the median is reported because a stray slow run skews the mean.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

COMMANDS = {
    "pass": "pass",
    "import json, ssl, sqlite3": "import json, ssl, sqlite3",
}
WARMUP_RUNS = 3


@dataclass(frozen=True, kw_only=True)
class StartupTime:
    interpreter: str
    command: str
    median_ms: float
    mean_ms: float
    runs: int


def measure_startup(interpreters: dict[str, Path], rounds: int) -> list[StartupTime]:
    """Median and mean milliseconds of `python -c CODE` per interpreter and command."""
    samples: dict[tuple[str, str], list[float]] = {
        (name, command): [] for name in interpreters for command in COMMANDS
    }
    for round_number in range(WARMUP_RUNS + rounds):
        for command, code in COMMANDS.items():
            for name, python in interpreters.items():
                elapsed = _time_one(python, code)
                if round_number >= WARMUP_RUNS:
                    samples[(name, command)].append(elapsed)
    return [
        StartupTime(interpreter=name, command=command,
                    median_ms=round(statistics.median(values) * 1000, 2),
                    mean_ms=round(statistics.fmean(values) * 1000, 2), runs=len(values))
        for (name, command), values in samples.items()
    ]


def _time_one(python: Path, code: str) -> float:
    started = time.perf_counter()
    subprocess.run([python, "-c", code], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started
