"""Running pyperformance: its own venv, one run on one interpreter, interleaved runs on several.

pyperformance drives the interpreters under test from outside: it makes a venv with each one,
installs each benchmark's requirements there, and runs the benchmarks in worker processes of
that venv. Its own (runner) venv only orchestrates and is never measured.
"""

from __future__ import annotations

import random
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pbs.errors import CommandFailed, PbsError
from pbs.runner import log_tail, run

from .order import round_orders
from .report import Measurements, suite_means


@dataclass(frozen=True, kw_only=True)
class BenchPlan:
    """What benchmarks/quick.toml states: the pinned pyperformance, and the quick subset."""

    pyperformance: str  # the pinned version
    quick: list[str]


def load_plan(path: Path) -> BenchPlan:
    data = tomllib.loads(path.read_text())
    return BenchPlan(pyperformance=data["pyperformance"], quick=list(data["quick"]))


def ensure_runner(venv_dir: Path, version: str, log: Path) -> Path:
    """The `pyperformance` command of `venv_dir`, after installing `version` there if needed.

    The venv is made with the Python running the harness: any Python 3 can orchestrate, and
    this one is at hand. pyperformance then picks its benchmarks by this Python's version (a
    benchmark needing a newer one is left out), the same way for every interpreter compared.
    """
    runner = venv_dir / "bin" / "pyperformance"
    if runner.exists():
        installed = run([runner, "--version"], step="pyperformance --version", log=log, check=False)
        if installed.output.split() == ["pyperformance", version]:
            return runner
    if not (venv_dir / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", venv_dir], step="create the pyperformance venv", log=log)
    run(
        [venv_dir / "bin" / "python", "-m", "pip", "install", f"pyperformance=={version}"],
        step=f"install pyperformance {version}",
        log=log,
    )
    return runner


def default_benchmarks(runner: Path, log: Path) -> list[str]:
    """The names in pyperformance's default suite (what `pyperformance run` runs without -b)."""
    listing = run([runner, "list"], step="pyperformance list", log=log).output
    return [line.removeprefix("- ") for line in listing.splitlines() if line.startswith("- ")]


def run_benchmarks(
    runner: Path,
    python: Path,
    label: str,
    benchmarks: list[str],
    out_json: Path,
    work_dir: Path,
    log: Path,
    fast: bool,
) -> Path:
    """Run `benchmarks` on `python` in one pyperformance invocation, writing pyperf JSON.

    pyperformance has no option for where `run` keeps its venvs: they go in `venv/` under its
    working directory, one per interpreter (and requirement set), reused when present. So each
    label gets its own working directory under `work_dir`, and reruns skip the venv setup.

    A benchmark that fails is left out of `out_json` (pyperformance writes what succeeded, then
    exits 1), and the comparison reports it as a failure; only a run where nothing succeeded
    raises.
    """
    cwd = work_dir / label
    cwd.mkdir(parents=True, exist_ok=True)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    # pyperformance refuses to overwrite its output file.
    out_json.unlink(missing_ok=True)
    command = [
        runner, "run",
        "--python", python.absolute(),  # pyperformance requires an absolute path
        "-b", ",".join(benchmarks),
        "-o", out_json.absolute(),
    ]  # fmt: skip
    if fast:
        command.append("--fast")
    run(command, step=f"pyperformance on {label}", log=log, cwd=cwd, check=False)
    if not out_json.exists():
        raise CommandFailed(
            f"pyperformance ran none of {','.join(benchmarks)} on {label}; log: {log}\n"
            + log_tail(log)
        )
    return out_json


def run_interleaved(
    runner: Path,
    pythons: Mapping[str, Path],
    benchmarks: list[str] | None,
    *,
    rounds: int,
    rng: random.Random,
    out_dir: Path,
    log: Path,
    fast: bool,
    progress: Callable[[str], None] = print,
) -> Measurements:
    """Run every benchmark on every interpreter, once per round, interleaved; return one sample
    per round of each result. `benchmarks=None` runs pyperformance's default suite.

    `out_dir` is also the working directory: `<label>/venv/` holds the benchmark venvs (reused
    by later runs), `<label>/round-<n>/` the one-benchmark results of each round.

    Why interleave rather than run the whole list on one interpreter, then on the next: on a
    shared 2-core machine the background load drifts over minutes, and alternating benchmark by
    benchmark spreads a busy spell over both sides of the comparison instead of charging it to
    whichever interpreter happened to be running. Each round runs the benchmarks in a new order,
    and each benchmark's interpreters in an order other than the round before. The cost is one
    more pyperformance start per benchmark and interpreter, measured at about 0.4 s (its
    per-benchmark requirement checks happen either way), against 10-15 s for a benchmark under
    --fast: a few percent.
    """
    if benchmarks is None:
        benchmarks = default_benchmarks(runner, log)
    labels = list(pythons)
    interpreter_orders = {name: round_orders(labels, rounds, rng) for name in benchmarks}
    means: dict[tuple[str, str, int], dict[str, float] | None] = {}
    order = []
    for number, round_benchmarks in enumerate(round_orders(benchmarks, rounds, rng)):
        ran = []
        for index, name in enumerate(round_benchmarks):
            for label in interpreter_orders[name][number]:
                progress(f"round {number + 1}/{rounds} [{index + 1}/{len(benchmarks)}] "
                         f"{name} on {label}")
                part = out_dir / label / f"round-{number + 1}" / f"{name}.json"
                try:
                    run_benchmarks(runner, pythons[label], label, [name], part, out_dir, log,
                                   fast)
                    means[(label, name, number)] = suite_means(part)
                except CommandFailed:
                    progress(f"{name} failed on {label}; reported as a failure; log: {log}")
                    means[(label, name, number)] = None
                ran.append(f"{name} on {label}")
        order.append(ran)
    for label in labels:
        if not any(means[(label, name, n)] for name in benchmarks for n in range(rounds)):
            raise PbsError(f"no benchmark ran on {label} ({pythons[label]}); log: {log}")
    # A benchmark that failed everywhere produced no result names: it stands for itself.
    families = {
        name: sorted({result for (_, n, _), found in means.items() if n == name and found
                      for result in found}) or [name]
        for name in benchmarks
    }
    samples = {
        label: {result: [(means[(label, name, n)] or {}).get(result) for n in range(rounds)]
                for name in benchmarks for result in families[name]}
        for label in labels
    }
    return Measurements(rounds=rounds, samples=samples, families=families, order=order)
