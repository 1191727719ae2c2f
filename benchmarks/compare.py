"""What one build change buys: pyperformance on several interpreters, each against the first.

    python benchmarks/compare.py BASE=PYTHON NAME=PYTHON [NAME=PYTHON ...] [--rounds N]
                                 [--benchmarks a,b,c] [--work-dir DIR] [--output NAME]
                                 [--loader LOADER]

Interpreters run benchmark by benchmark in turn, --rounds times in a new order each round (as
in speed.py), with the quick subset of benchmarks/quick.toml unless --benchmarks names others.
Results go to benchmarks/results/<output>.json and .md (default output name: changes).
With --loader (musl's, as `pbs toolchain --target <musl target>` prints it), the whole run
happens in a private mount namespace with the loader laid over /lib (pbs.loader), so that a
dynamically linked musl interpreter runs on this glibc machine beside glibc ones.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

from pbs.errors import PbsError
from pbs.loader import LoaderOverlay
from pbs.runner import run as run_command

from harness import cli, pyperformance, report
from harness.provenance import Provenance, machine, version_of

HERE = Path(__file__).parent
# Set in the environment of the run re-executed under the loader overlay.
UNDER_OVERLAY = "PBS_BENCH_UNDER_LOADER_OVERLAY"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("interpreters", nargs="+", metavar="NAME=PYTHON")
    parser.add_argument("--benchmarks", help="comma-separated pyperformance benchmark names")
    cli.add_rounds(parser)
    parser.add_argument("--work-dir", type=Path, default=cli.default_work_dir())
    parser.add_argument("--output", default="changes")
    parser.add_argument("--loader", type=Path,
                        help="a musl loader to lay over /lib for the whole run (needs root)")
    args = parser.parse_args()
    if args.loader is not None and os.environ.get(UNDER_OVERLAY) != str(args.loader):
        if not args.loader.is_file():
            parser.error(f"--loader: no file at {args.loader}")
        try:
            prefix = LoaderOverlay(runner=run_command,
                                   loader_dir=args.loader.parent.absolute()).prefix()
        except PbsError as exc:
            parser.error(f"--loader: {exc}")
        os.execvpe(prefix[0], [*prefix, sys.executable, *sys.argv],
                   {**os.environ, UNDER_OVERLAY: str(args.loader)})
    run = Provenance.now()
    pythons = dict(parse_interpreter(text) for text in args.interpreters)
    if len(pythons) < 2:
        parser.error("name a baseline and at least one interpreter to compare with it")
    plan = pyperformance.load_plan(HERE / "quick.toml")
    selected = args.benchmarks.split(",") if args.benchmarks else list(plan.quick)
    log = args.work_dir / f"{args.output}.log"
    runner = pyperformance.ensure_runner(args.work_dir / "pyperformance-venv", plan.pyperformance,
                                         log)
    measurements = pyperformance.run_interleaved(
        runner, pythons, selected, rounds=args.rounds, rng=random.Random(),
        out_dir=args.work_dir / args.output, log=log, fast=True,
    )
    base, *others = pythons
    comparisons = [report.compare(measurements, base, name) for name in others]
    interpreters = {name: {"python": str(path), "version": version_of(path)}
                    for name, path in pythons.items()}
    results = {"run": {**run.to_json(), "command": sys.argv, "rounds": args.rounds,
                       "loader": str(args.loader) if args.loader else None},
               "machine": machine(), "baseline": base, "interpreters": interpreters,
               "comparisons": [c.to_json() for c in comparisons],
               "measurements": measurements.to_json()}
    out = HERE / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.output}.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = "\n".join(
        [f"# compare.py ({args.rounds} rounds)", "", report.run_line(run, interpreters)]
        + ([f"\nRun with musl's loader `{args.loader}` laid over /lib."] if args.loader else [])
        + [f"\n## {c.changed} against {c.base}\n\n{report.markdown_table(c)}"
           for c in comparisons]
    )
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
