"""Cold and warm build times of `pbs deps`, per library and in total.

Runs `pbs deps` twice in a fresh cache (sources are copied in from the regular cache first, so
download time is not counted) and writes benchmarks/results/deps_build_time.json, with the pbs
revision and date of the run.

    python benchmarks/deps_build_time.py [-j N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.provenance import Provenance

from pbs.cache import default_cache_root

RESULTS = Path(__file__).parent / "results" / "deps_build_time.json"
ROW = re.compile(r"^│ (\S+)\s+│ (\S+)\s+│ (built|cached)\s+│\s+([\d.]+) │")


def run_deps(cache: Path, jobs: int) -> tuple[float, dict[str, float]]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pbs", "deps", "-j", str(jobs)],
        env={**os.environ, "PBS_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.monotonic() - started
    steps = {m[1]: float(m[4]) for line in result.stdout.splitlines() if (m := ROW.match(line))}
    return wall, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    run = Provenance.now()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        warm_sources = default_cache_root() / "sources"
        if warm_sources.is_dir():
            shutil.copytree(warm_sources, cache / "sources")
        cold_wall, cold_steps = run_deps(cache, args.jobs)
        warm_wall, _ = run_deps(cache, args.jobs)
    report = {
        "run": run.to_json(),
        "jobs": args.jobs,
        "cores": os.cpu_count(),
        "cold_total_seconds": round(cold_wall, 1),
        "warm_total_seconds": round(warm_wall, 1),
        "cold_step_seconds": cold_steps,
        "sum_of_step_seconds": round(sum(cold_steps.values()), 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
