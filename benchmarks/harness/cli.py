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


def _rounds(text: str) -> int:
    rounds = int(text)
    if rounds < MIN_ROUNDS:
        raise argparse.ArgumentTypeError(f"at least {MIN_ROUNDS} rounds, not {rounds}")
    return rounds
