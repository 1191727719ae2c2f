"""How fast pbs's Pythons are against the builds people use today, in one run on one machine.

    python benchmarks/speed.py [--full] [--jobs N] [--work-dir DIR] [--cache-dir DIR]
                               [--reuse-archives] [--extra NAME=PYTHON ...]

1. `pbs build --options pgo+lto` of 3.11 and 3.14 (their wall times and archive sizes), or
   with --reuse-archives the archives an earlier run published into the work dir;
2. the cold and warm build times of benchmarks/build_time.py, if it has written its results;
3. the reference build of 3.14 with the docker image's recipe and the host gcc;
4. start-up times (`python -c pass`, `python -c "import json, ssl, sqlite3"`);
5. pyperformance (quick subset of benchmarks/quick.toml, or every benchmark with --full) on
   Debian's /usr/bin/python3.11, pbs 3.11, the reference 3.14 and pbs 3.14, plus any --extra
   interpreter, which is compared with the baseline of its own minor version;
6. benchmarks/results/speed.json and speed.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness import builds, pyperformance, reference, report, startup

from pbs.cache import default_cache_root
from pbs.sources.extract import extract_archive

HERE = Path(__file__).parent
RESULTS = HERE / "results"
BUILD_TIMES = RESULTS / "build_time.json"
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
    minor: str
    baseline: str  # label of the interpreter pbs is measured against
    pbs: str
    required: float  # geometric mean of base/pbs time ratios the goal asks for


def main() -> int:
    args = parse_args()
    work: Path = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    log = work / "speed.log"
    started = time.monotonic()
    cache_dir = args.cache_dir or default_cache_root()
    print(f"log: {log}", flush=True)

    pbs_runs = {
        minor: (args.reuse_archives and builds.published(work / f"dist-{minor}", PBS_OPTIONS))
        or builds.pbs_build(minor, PBS_OPTIONS, cache_dir=cache_dir, out=work / f"dist-{minor}",
                            jobs=args.jobs, cache="warm", log=log)
        for minor in ("3.11", "3.14")
    }
    for run in pbs_runs.values():
        print(f"pbs build {run.python} {run.options}: {run.seconds} s ({run.cpython_step})",
              flush=True)
    build_runs = [run.to_json() for run in pbs_runs.values()]
    if BUILD_TIMES.is_file():
        build_runs += json.loads(BUILD_TIMES.read_text())["builds"]

    docker = reference.build_reference(pbs_runs["3.14"].python, work / "reference",
                                       jobs=args.jobs, cache_dir=cache_dir, log=log)
    interpreters = [
        Interpreter(label="debian-3.11", python=DEBIAN_PYTHON, minor="3.11"),
        Interpreter(label="pbs-3.11", python=unpack(pbs_runs["3.11"], work), minor="3.11"),
        Interpreter(label="docker-3.14", python=docker.executable, minor="3.14"),
        Interpreter(label="pbs-3.14", python=unpack(pbs_runs["3.14"], work), minor="3.14"),
        *(extra_interpreter(text) for text in args.extra),
    ]
    goals = [Goal(minor="3.11", baseline="debian-3.11", pbs="pbs-3.11", required=1.05),
             Goal(minor="3.14", baseline="docker-3.14", pbs="pbs-3.14", required=1.20)]
    # Start-up: pbs's 3.11 no slower than Debian's 3.11, for every command timed.
    startup_goal = ("debian-3.11", "pbs-3.11")

    print("measuring start-up", flush=True)
    startup_times = startup.measure_startup({i.label: i.python for i in interpreters},
                                            STARTUP_ROUNDS)

    plan = pyperformance.load_plan(HERE / "quick.toml")
    runner = pyperformance.ensure_runner(work / "pyperformance-venv", plan.pyperformance, log)
    selected = None if args.full else list(plan.quick)
    suites = pyperformance.run_interleaved(
        runner, {i.label: i.python for i in interpreters}, selected,
        out_dir=work / "pyperformance", log=log, fast=not args.full,
    )

    comparisons = []
    baselines = {goal.minor: goal.baseline for goal in goals}
    for interpreter in interpreters:
        base = baselines[interpreter.minor]
        if interpreter.label == base:
            continue
        comparisons.append((base, interpreter.label,
                            report.compare(suites[base], suites[interpreter.label])))

    results = {
        "machine": machine(),
        "suite": "full" if args.full else "quick",
        "interpreters": {i.label: {"python": str(i.python), "version": version_of(i.python)}
                         for i in interpreters},
        "goals": [{"baseline": g.baseline, "pbs": g.pbs, "required": g.required,
                   "geomean": next(c.geomean for b, p, c in comparisons
                                   if (b, p) == (g.baseline, g.pbs))} for g in goals],
        "comparisons": [{"baseline": b, "changed": p, **c.to_json()} for b, p, c in comparisons],
        "startup": [vars(t) for t in startup_times],
        "startup_goal": startup_verdicts(startup_times, *startup_goal),
        "builds": build_runs,
        "harness_seconds": round(time.monotonic() - started, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "speed.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = render(results, comparisons)
    (RESULTS / "speed.md").write_text(markdown)
    print(markdown)
    met = (all((goal["geomean"] or 0) >= goal["required"] for goal in results["goals"])
           and all(verdict["met"] for verdict in results["startup_goal"]))
    print(f"goals {'met' if met else 'NOT met'}; {RESULTS / 'speed.md'}")
    return 0 if met else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="every pyperformance benchmark, with pyperformance's full sampling")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work-dir", type=Path,
                        default=Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                        / "pbs-bench")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="pbs's cache for the pgo+lto builds (default: pbs's default)")
    parser.add_argument("--reuse-archives", action="store_true",
                        help="use the pgo+lto archives an earlier run left in the work dir")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=PYTHON",
                        help="another interpreter to benchmark against its version's baseline")
    return parser.parse_args()


def unpack(run: builds.BuildRun, work: Path) -> Path:
    """The interpreter of the build's install_only archive, unpacked afresh."""
    archive = run.archive("install_only.tar.gz")
    dest = work / f"pbs-{run.python}"
    subprocess.run(["rm", "-rf", str(dest)], check=True)
    extract_archive(archive, dest)
    minor = ".".join(run.python.split(".")[:2])
    return dest / "python" / "bin" / f"python{minor}"


def startup_verdicts(times: list[startup.StartupTime], baseline: str,
                     pbs: str) -> list[dict[str, object]]:
    """Per start-up command: pbs's median against the baseline's, met when not slower."""
    median = {(t.interpreter, t.command): t.median_ms for t in times}
    return [{"command": command, "baseline": baseline, "pbs": pbs,
             "baseline_ms": median[(baseline, command)], "pbs_ms": median[(pbs, command)],
             "met": median[(pbs, command)] <= median[(baseline, command)]}
            for command in startup.COMMANDS]


def extra_interpreter(text: str) -> Interpreter:
    label, sep, path = text.partition("=")
    if not sep or not label or not path:
        raise SystemExit(f"--extra wants NAME=PYTHON, not {text!r}")
    python = Path(path)
    return Interpreter(label=label, python=python, minor=version_of(python).rsplit(".", 1)[0])


def version_of(python: Path) -> str:
    return subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                          check=True, capture_output=True, text=True).stdout.strip()


def machine() -> dict[str, object]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "harness_python": sys.version.split()[0]}


def render(results: dict, comparisons: list) -> str:
    machine = results["machine"]
    lines = [f"# pbs speed ({results['suite']} suite) on {machine['cpu']}, {machine['cores']} cores",
             ""]
    lines += ["## Goals", "", "| pbs | against | geometric mean | goal |", "|---|---|---|---|"]
    lines += [f"| {g['pbs']} | {g['baseline']} | {_times(g['geomean'])} | >= {g['required']}x |"
              for g in results["goals"]]
    lines += [f"| {v['pbs']} start-up `-c {v['command']}` | {v['baseline']} | "
              f"{v['pbs_ms']:.1f} ms against {v['baseline_ms']:.1f} ms | no slower "
              f"({'met' if v['met'] else 'missed'}) |" for v in results["startup_goal"]]
    for base, changed, comparison in comparisons:
        lines += ["", f"## {changed} against {base}", "",
                  report.markdown_table(comparison, base, changed)]
    runs = results["startup"][0]["runs"]
    lines += ["", f"## Start-up (milliseconds, median of {runs} runs)", "",
              "| interpreter | " + " | ".join(startup.COMMANDS) + " |",
              "|---|" + "---|" * len(startup.COMMANDS)]
    for label in results["interpreters"]:
        row = [t for t in results["startup"] if t["interpreter"] == label]
        lines.append(f"| {label} | " + " | ".join(f"{t['median_ms']:.1f}" for t in row) + " |")
    lines += ["", "## pbs builds", "", "| python | options | cache | CPython step | wall time |",
              "|---|---|---|---|---|"]
    lines += [f"| {b['python']} | {b['options']} | {b['cache']} | {b['cpython_step']} | "
              f"{b['seconds']:.0f} s |" for b in results["builds"]]
    lines += ["", "## Archive sizes", "", archive_sizes_table(results["builds"])]
    return "\n".join(lines) + "\n"


def archive_sizes_table(build_runs: list[dict]) -> str:
    """One row per build and archive: install_only archives of different build options share
    a file name, so the build is named beside each."""
    lines = ["| build | archive | MiB |", "|---|---|---|"]
    for run in build_runs:
        build = f"{run['python']} {run['options']}, {run['cache']} cache"
        lines += [f"| {build} | {Path(name).name} | {size / 2**20:.1f} |"
                  for name, size in sorted(run["archives"].items())]
    return "\n".join(lines)


def _times(ratio: float | None) -> str:
    return "n/a (no benchmark ran on both)" if ratio is None else f"{ratio:.3f}x"


if __name__ == "__main__":
    sys.exit(main())
