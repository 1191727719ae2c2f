"""Options the benchmark scripts share."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

# Fewer than three samples give no spread to speak of: a second sample that disagrees with the
# first cannot say which of the two is the odd one.
MIN_ROUNDS = 3


def default_work_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pbs-bench"


def add_rounds(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=_rounds, default=MIN_ROUNDS,
                        help=f"samples per interpreter and benchmark, each round in a new "
                             f"order (at least {MIN_ROUNDS}; default {MIN_ROUNDS})")


def add_builds(parser: argparse.ArgumentParser, what: str) -> None:
    """Where a benchmark builds `what` (e.g. "the pgo+lto builds"), or finds an earlier run's."""
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work-dir", type=Path, default=default_work_dir())
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help=f"pbs's cache for {what} (default: pbs's default)")
    parser.add_argument("--reuse-archives", action="store_true",
                        help=f"use the archives of {what} an earlier run built in the work dir")


def open_log(work_dir: Path, name: str) -> Path:
    """The log file `name` in `work_dir`, which is made if need be; its path is printed."""
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / name
    print(f"log: {log}", flush=True)
    return log


def _rounds(text: str) -> int:
    rounds = int(text)
    if rounds < MIN_ROUNDS:
        raise argparse.ArgumentTypeError(f"at least {MIN_ROUNDS} rounds, not {rounds}")
    return rounds
