"""Cold and warm wall time of `pbs build`: in a fresh cache (sources copied in, so downloads
are not timed), then again in that cache.

    python benchmarks/build_time.py [--python V] [--options O] [-j N] [--work-dir DIR]

Writes benchmarks/results/build_time.json, each build with the pbs revision and date of its run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from harness import builds, cli

RESULTS = Path(__file__).parent / "results" / "build_time.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.14")
    parser.add_argument("--options", default="noopt")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work-dir", type=Path, default=cli.default_work_dir() / "build-time")
    args = parser.parse_args()
    runs = builds.cold_and_warm(args.python, args.options, work_dir=args.work_dir,
                                jobs=args.jobs, log=args.work_dir.parent / "build-time.log")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"cores": os.cpu_count(),
                                   "builds": [run.to_json() for run in runs]}, indent=2) + "\n")
    for run in runs:
        print(f"{run.cache}: pbs build {run.python} {run.options}: {run.seconds} s "
              f"(CPython {run.cpython_step})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
