"""How fast pbs's Pythons are against the builds people use today, in one run on one machine.

    python benchmarks/speed.py [--python MINOR ...] [--full] [--rounds N] [--jobs N]
                               [--work-dir DIR] [--cache-dir DIR] [--reuse-archives]
                               [--extra NAME=PYTHON ...]

For each selected minor version (--python 3.11 and/or 3.14; both by default):
1. `pbs build --options pgo+lto` (its wall time and archive sizes), or with --reuse-archives
   the archives an earlier run built into the work dir (reported with the pbs revision and
   date that built them);
2. for 3.14, the reference build with the docker image's recipe and the host gcc, beside step 1;
3. start-up times (`python -c pass`, `python -c "import json, ssl, sqlite3"`), pbs's
   interpreters with their standard library's bytecode compiled first;
4. pyperformance (quick subset of benchmarks/quick.toml, or every benchmark with --full),
   --rounds times, interleaved, on pbs's build and its baseline (Debian's /usr/bin/python3.11
   for 3.11, the reference for 3.14), plus any --extra interpreter, which is compared with
   the baseline of its own minor version;
5. benchmarks/results/speed.json and speed.md, or speed-MINOR.{json,md} when one minor version
   is selected: a cold run of both takes longer than a 3-hour window on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness import builds, cli, pyperformance, reference, report, startup
from harness.provenance import Provenance, machine, version_of

from pbs.cache import default_cache_root
from pbs.catalog import load_catalog
from pbs.runner import run as run_command
from pbs.sources.extract import extract_archive

HERE = Path(__file__).parent
RESULTS = HERE / "results"
DEBIAN_PYTHON = Path("/usr/bin/python3.11")
PBS_OPTIONS = "pgo+lto"
STARTUP_ROUNDS = 40


@dataclass(frozen=True, kw_only=True)
class Interpreter:
    label: str
    python: Path
    minor: str  # "3.11": which baseline it is compared with


@dataclass(frozen=True, kw_only=True)
class Goal:
    minor: str  # the version whose interpreters are compared with this goal's baseline
    baseline: str  # label of the interpreter pbs is measured against
    pbs: str
    required: float  # the family-weighted geometric mean of base/pbs ratios it asks for
    # The baseline's interpreter on this machine; None: the docker recipe's build of `minor`,
    # which the run makes.
    installed: Path | None = None

    def text(self) -> str:
        return (f"{self.pbs} ≥ {self.required:.2f}× {self.baseline} "
                "(geometric mean, families weighted as one)")


GOALS = (Goal(minor="3.11", baseline="debian-3.11", pbs="pbs-3.11", required=1.05,
              installed=DEBIAN_PYTHON),
         Goal(minor="3.14", baseline="docker-3.14", pbs="pbs-3.14", required=1.20))
# Start-up: pbs's 3.11 no slower than Debian's 3.11, for every command timed.
STARTUP_GOAL = ("debian-3.11", "pbs-3.11")


def main() -> int:
    args = parse_args()
    run = Provenance.now()
    work: Path = args.work_dir
    log = cli.open_log(work, "speed.log")
    started = time.monotonic()
    cache_dir = args.cache_dir or default_cache_root()
    rng = random.Random()
    minors: list[str] = args.python
    selected_goals = [goal for goal in GOALS if goal.minor in minors]
    reference_goal = next((goal for goal in selected_goals if goal.installed is None), None)

    # The reference needs nothing of pbs's builds, so it builds beside them: their profile
    # runs, links and test suites leave a core idle for long stretches.
    with ThreadPoolExecutor(max_workers=1) as beside:
        reference_build = beside.submit(
            reference.build_reference, str(load_catalog().python(reference_goal.minor).version),
            work / "reference", jobs=args.jobs, cache_dir=cache_dir,
            log=cli.open_log(work, "reference.log")) if reference_goal else None
        pbs_runs = {
            minor: (args.reuse_archives and builds.published(work / f"dist-{minor}", PBS_OPTIONS))
            or builds.pbs_build(minor, PBS_OPTIONS, cache_dir=cache_dir,
                                out=work / f"dist-{minor}", jobs=args.jobs, cache="warm", log=log)
            for minor in minors
        }
        docker = reference_build.result() if reference_build else None
    interpreters = [
        *(interpreter for goal in selected_goals for interpreter in (
            Interpreter(label=goal.baseline, python=goal.installed or docker.executable,
                        minor=goal.minor),
            Interpreter(label=goal.pbs, python=unpack(pbs_runs[goal.minor], work, log),
                        minor=goal.minor))),
        *(extra_interpreter(text, minors) for text in args.extra),
    ]
    pythons = {i.label: i.python for i in interpreters}

    print("measuring start-up", flush=True)
    startup_times = startup.measure_startup(pythons, STARTUP_ROUNDS, rng)
    startup_verdicts = (startup.verdicts(startup_times, *STARTUP_GOAL)
                        if set(STARTUP_GOAL) <= pythons.keys() else [])

    plan = pyperformance.load_plan(HERE / "quick.toml")
    runner = pyperformance.ensure_runner(work / "pyperformance-venv", plan.pyperformance, log)
    measurements = pyperformance.run_interleaved(
        runner, pythons, None if args.full else list(plan.quick), rounds=args.rounds, rng=rng,
        out_dir=work / "pyperformance", log=log, fast=not args.full,
    )
    baseline_of = {goal.minor: goal.baseline for goal in selected_goals}
    comparisons = {
        (baseline_of[i.minor], i.label): report.compare(measurements, baseline_of[i.minor], i.label)
        for i in interpreters if i.label != baseline_of[i.minor]
    }
    goals = [(goal, comparisons[(goal.baseline, goal.pbs)]) for goal in selected_goals]
    met = (all(comparison.meets(goal.required) for goal, comparison in goals)
           and all(verdict.met for verdict in startup_verdicts))

    results = {
        "run": {**run.to_json(), "command": sys.argv, "rounds": args.rounds,
                "suite": "full" if args.full else "quick",
                "harness_seconds": round(time.monotonic() - started, 1)},
        "machine": machine(),
        "interpreters": {i.label: {"python": str(i.python), "version": version_of(i.python)}
                         for i in interpreters},
        "goals": [{"baseline": goal.baseline, "pbs": goal.pbs, "required": goal.required,
                   "geomean": comparison.to_json()["geomean_families_weighted"],
                   "met": comparison.meets(goal.required)} for goal, comparison in goals],
        "comparisons": [c.to_json() for c in comparisons.values()],
        "startup": [t.to_json() for t in startup_times],
        "startup_goal": [v.to_json() for v in startup_verdicts],
        "builds": [b.to_json() for b in pbs_runs.values()],
        "reference": docker and {"version": docker.version, "recipe": reference.RECIPE_REVISION,
                                 "built": docker.built},
        "measurements": measurements.to_json(),
        "goals_met": met,
    }
    stem = report_stem(minors)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = render(results, goals, list(comparisons.values()), startup_times,
                      startup_verdicts)
    (RESULTS / f"{stem}.md").write_text(markdown)
    print(markdown)
    print(f"goals {'met' if met else 'NOT met'}; {RESULTS / f'{stem}.md'}")
    return 0 if met else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    every_minor = [goal.minor for goal in GOALS]
    parser.add_argument("--python", action="append", choices=every_minor, metavar="MINOR",
                        help=f"a minor version to build and measure against its baseline "
                             f"({' or '.join(every_minor)}; repeatable; default: all)")
    parser.add_argument("--full", action="store_true",
                        help="every pyperformance benchmark, with pyperformance's full sampling")
    cli.add_rounds(parser)
    cli.add_builds(parser, "the pgo+lto builds")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=PYTHON",
                        help="another interpreter to benchmark against its version's baseline")
    args = parser.parse_args()
    args.python = [minor for minor in every_minor if minor in (args.python or every_minor)]
    return args


def report_stem(minors: list[str]) -> str:
    """speed for a run of every minor version, speed-3.11 for a run of 3.11 alone."""
    return "speed" if minors == [goal.minor for goal in GOALS] else "-".join(["speed", *minors])


def unpack(run: builds.BuildRun, work: Path, log: Path) -> Path:
    """The interpreter of the build's install_only archive, unpacked afresh, with its standard
    library's bytecode compiled, as `uv python install --compile-bytecode` does. The archive
    ships none, and where Python may not write it (a read-only tree, PYTHONDONTWRITEBYTECODE in
    the run's environment) every start would time compiling modules, not starting."""
    archive = run.archive("install_only.tar.gz")
    dest = work / f"pbs-{run.python}"
    shutil.rmtree(dest, ignore_errors=True)
    extract_archive(archive, dest)
    minor = ".".join(run.python.split(".")[:2])
    python = dest / "python" / "bin" / f"python{minor}"
    stdlib = dest / "python" / "lib" / f"python{minor}"
    # Not checked: as for uv, files that are not Python 3 (lib2to3's test data) stay source.
    run_command([python, "-m", "compileall", "-q", "-j0", stdlib],
                step=f"compile the bytecode of pbs {run.python}", log=log, check=False)
    return python


def extra_interpreter(text: str, minors: list[str]) -> Interpreter:
    label, sep, path = text.partition("=")
    if not sep or not label or not path:
        raise SystemExit(f"--extra wants NAME=PYTHON, not {text!r}")
    python = Path(path)
    minor = version_of(python).rsplit(".", 1)[0]
    if minor not in minors:
        raise SystemExit(f"--extra {label}: Python {minor} has no baseline in this run "
                         f"({' or '.join(minors)})")
    return Interpreter(label=label, python=python, minor=minor)


def render(results: dict, goals: list[tuple[Goal, report.Comparison]],
           comparisons: list[report.Comparison], startup_times: list[startup.StartupTime],
           startup_verdicts: list[startup.StartupVerdict]) -> str:
    run, machine_ = results["run"], results["machine"]
    lines = [f"# pbs speed ({run['suite']} suite, {run['rounds']} rounds) on {machine_['cpu']}, "
             f"{machine_['cores']} cores", "",
             report.run_line(Provenance.from_json(run), results["interpreters"]), ""]
    lines += ["## Goals", "", "| goal | measured [95% interval] | verdict |", "|---|---|---|"]
    lines += [f"| {goal.text()} | {report.interval_text(c.geomean)} | "
              f"{report.verdict(c.geomean, goal.required, [r.name for r in c.failures])} |"
              for goal, c in goals]
    lines += [f"| {v.pbs.interpreter} start-up `-c {v.command}` no slower than "
              f"{v.baseline.interpreter} (ratio of times ≥ 1) | {v.ratio.text()} | "
              f"{report.verdict(v.ratio, 1.0, [])} |" for v in startup_verdicts]
    for comparison in comparisons:
        lines += ["", f"## {comparison.changed} against {comparison.base}", "",
                  report.markdown_table(comparison)]
    lines += ["", f"## Start-up (milliseconds: median of {STARTUP_ROUNDS} interleaved rounds "
              "[95% interval])", "",
              "| interpreter | " + " | ".join(startup.COMMANDS) + " |",
              "|---|" + "---|" * len(startup.COMMANDS)]
    for label in results["interpreters"]:
        row = [t for t in startup_times if t.interpreter == label]
        lines.append(f"| {label} | " + " | ".join(t.median_ms.text(1) for t in row) + " |")
    lines += ["", "## Builds", "", builds_table(results["builds"]), ""]
    if results["reference"]:
        lines += [f"Reference: CPython {results['reference']['version']} by the docker recipe "
                  f"r{results['reference']['recipe']}, built {results['reference']['built']}.",
                  ""]
    lines += ["## Archive sizes", "", archive_sizes_table(results["builds"])]
    return "\n".join(lines) + "\n"


def builds_table(build_runs: list[dict]) -> str:
    """This run's builds with their wall times; reused archives with the revision and date of
    the run that built them, and no time (this run did not measure one)."""
    lines = ["| python | options | cache | CPython step | wall time | built by |",
             "|---|---|---|---|---|---|"]
    for run in build_runs:
        seconds = "not timed (reused)" if run["seconds"] is None else f"{run['seconds']:.0f} s"
        built_by = Provenance.from_json(run["built_by"])
        lines.append(f"| {run['python']} | {run['options']} | {run['cache']} | "
                     f"{run['cpython_step']} | {seconds} | {built_by.text()} |")
    return "\n".join(lines)


def archive_sizes_table(build_runs: list[dict]) -> str:
    """One row per build and archive: install_only archives of different build options share
    a file name, so the build is named beside each."""
    lines = ["| build | archive | MiB |", "|---|---|---|"]
    for run in build_runs:
        build = f"{run['python']} {run['options']}, {run['cache']} cache"
        lines += [f"| {build} | {Path(name).name} | {size / 2**20:.1f} |"
                  for name, size in sorted(run["archives"].items())]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
