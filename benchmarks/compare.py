"""What one build change buys: pyperformance on several interpreters, each against the first.

    python benchmarks/compare.py BASE=PYTHON NAME=PYTHON [NAME=PYTHON ...]
                                 [--benchmarks a,b,c] [--work-dir DIR] [--output NAME]

Interpreters run benchmark by benchmark in turn (as in speed.py), with the quick subset of
benchmarks/quick.toml unless --benchmarks names others. Results go to
benchmarks/results/<output>.json and .md (default output name: changes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from harness import pyperformance, report

HERE = Path(__file__).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("interpreters", nargs="+", metavar="NAME=PYTHON")
    parser.add_argument("--benchmarks", help="comma-separated pyperformance benchmark names")
    parser.add_argument("--work-dir", type=Path,
                        default=Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                        / "pbs-bench")
    parser.add_argument("--output", default="changes")
    args = parser.parse_args()
    pythons = dict(parse_interpreter(text) for text in args.interpreters)
    if len(pythons) < 2:
        parser.error("name a baseline and at least one interpreter to compare with it")
    plan = pyperformance.load_plan(HERE / "quick.toml")
    selected = args.benchmarks.split(",") if args.benchmarks else list(plan.quick)
    log = args.work_dir / f"{args.output}.log"
    runner = pyperformance.ensure_runner(args.work_dir / "pyperformance-venv", plan.pyperformance,
                                         log)
    suites = pyperformance.run_interleaved(runner, pythons, selected,
                                           out_dir=args.work_dir / args.output, log=log, fast=True)
    base, *others = pythons
    comparisons = {name: report.compare(suites[base], suites[name]) for name in others}
    results = {"baseline": base, "interpreters": {k: str(v) for k, v in pythons.items()},
               "comparisons": {name: c.to_json() for name, c in comparisons.items()}}
    out = HERE / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.output}.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = "\n".join(f"## {name} against {base}\n\n{report.markdown_table(c, base, name)}"
                         for name, c in comparisons.items())
    (out / f"{args.output}.md").write_text(markdown)
    print(markdown)
    return 0


def parse_interpreter(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not Path(path).is_file():
        raise SystemExit(f"expected NAME=PYTHON naming an existing interpreter, not {text!r}")
    return name, Path(path)


if __name__ == "__main__":
    sys.exit(main())
