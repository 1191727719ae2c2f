"""Start-up time: wall clock of short `python -c` runs, interleaved across interpreters.

Each round runs every interpreter once per command, in an order other than the round before,
so drift of a busy machine (frequency, other load) spreads evenly over them. The environment is
the caller's, as a user's shell would give it. Medians, not means: a stray slow run skews a
mean.
"""

from __future__ import annotations

import random
import subprocess
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from .order import round_orders
from .stats import Interval, median_interval, paired_ratios

COMMANDS = {
    "pass": "pass",
    "import json, ssl, sqlite3": "import json, ssl, sqlite3",
}
WARMUP_RUNS = 3


@dataclass(frozen=True, kw_only=True)
class StartupTime:
    interpreter: str
    command: str
    samples_ms: list[float]  # one per round

    @cached_property
    def median_ms(self) -> Interval:
        return median_interval(self.samples_ms)

    def to_json(self) -> dict[str, Any]:
        return {"interpreter": self.interpreter, "command": self.command,
                "median_ms": self.median_ms.to_json(), "samples_ms": self.samples_ms}


@dataclass(frozen=True, kw_only=True)
class StartupVerdict:
    """pbs against a baseline for one command: the per-round ratio baseline/pbs, median and
    interval; met (pbs no slower) when the interval's lower bound is at least 1."""

    command: str
    baseline: StartupTime
    pbs: StartupTime

    @cached_property
    def ratio(self) -> Interval:
        return median_interval(paired_ratios(self.baseline.samples_ms, self.pbs.samples_ms))

    @property
    def met(self) -> bool:
        return self.ratio.clears(1.0)

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "baseline": self.baseline.interpreter,
                "pbs": self.pbs.interpreter, "ratio": self.ratio.to_json(), "met": self.met}


def measure_startup(interpreters: dict[str, Path], rounds: int,
                    rng: random.Random) -> list[StartupTime]:
    """Milliseconds of `python -c CODE`, one sample per round, per interpreter and command."""
    samples: dict[tuple[str, str], list[float]] = {
        (name, command): [] for name in interpreters for command in COMMANDS
    }
    for round_number, order in enumerate(round_orders(list(interpreters), WARMUP_RUNS + rounds,
                                                      rng)):
        for command, code in COMMANDS.items():
            for name in order:
                elapsed = _time_one(interpreters[name], code)
                if round_number >= WARMUP_RUNS:
                    samples[(name, command)].append(round(elapsed * 1000, 3))
    return [StartupTime(interpreter=name, command=command, samples_ms=values)
            for (name, command), values in samples.items()]


def verdicts(times: list[StartupTime], baseline: str, pbs: str) -> list[StartupVerdict]:
    """Per command: pbs against the baseline."""
    by_key = {(t.interpreter, t.command): t for t in times}
    return [StartupVerdict(command=command, baseline=by_key[(baseline, command)],
                           pbs=by_key[(pbs, command)]) for command in COMMANDS]


def _time_one(python: Path, code: str) -> float:
    started = time.perf_counter()
    subprocess.run([python, "-c", code], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started
