"""The benchmark harness: the quick plan, reading pyperf files, and interleaved runs.

The pyperf files here are written in the format pyperformance 1.14 writes (checked against real
runs): suite-wide metadata on top, each benchmark's name in its own metadata (or on top when a
file holds one benchmark), a first calibration run holding only warmups, values in seconds.
pyperformance itself is stood in for by a small script, so no benchmark suite runs here.
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pbs.errors import CommandFailed, PbsError

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from harness import pyperformance, report, stats

MACHINE = {"hostname": "vm", "cpu_count": 2, "perf_version": "2.10.0", "unit": "second"}


def pyperf_benchmark(name: str, runs: list[list[float]]) -> dict:
    """A benchmark as pyperf stores it, preceded by a calibration run that has no values."""
    calibration = {"warmups": [[1, 9.0], [2, 9.0]], "metadata": {"calibrate_loops": 2}}
    return {
        "metadata": {"name": name, "loops": 2},
        "runs": [calibration, *({"warmups": [[2, 9.0]], "values": run} for run in runs)],
    }


def write_suite(path: Path, benchmarks: dict[str, list[list[float]]], **metadata: object) -> Path:
    suite = {
        "version": "1.0",
        "metadata": {**MACHINE, **metadata},
        "benchmarks": [pyperf_benchmark(name, runs) for name, runs in benchmarks.items()],
    }
    text = json.dumps(suite)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_quick_plan_pins_pyperformance_and_names_enough_distinct_benchmarks() -> None:
    plan = pyperformance.load_plan(REPO / "benchmarks" / "quick.toml")
    assert plan.pyperformance == "1.14.0"
    assert len(plan.quick) >= 20
    assert len(set(plan.quick)) == len(plan.quick)


def test_a_one_benchmark_file_may_name_it_in_the_suite_metadata(tmp_path: Path) -> None:
    # What pyperformance writes when it ran a single benchmark.
    path = write_suite(tmp_path / "one.json", {"nbody": [[0.2, 0.4]]}, name="nbody")
    suite = json.loads(path.read_text())
    del suite["benchmarks"][0]["metadata"]
    path.write_text(json.dumps(suite))
    assert report.suite_means(path) == {"nbody": pytest.approx(0.3)}


def test_a_suite_not_in_seconds_or_in_another_format_is_refused(tmp_path: Path) -> None:
    memory = write_suite(tmp_path / "memory.json", {"nbody": [[1e6]]}, unit="byte")
    with pytest.raises(ValueError, match="byte"):
        report.suite_means(memory)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"version": "0.9", "metadata": {}, "benchmarks": []}))
    with pytest.raises(ValueError, match="0.9"):
        report.suite_means(old)


# Stands in for `pyperformance run`: records each call, writes a pyperf file for the benchmark
# it was given, with values 2 s on an interpreter whose path contains "base" and 1 s elsewhere.
# "multi" reports four results, as xml_etree does; "broken" fails as a benchmark does (nothing
# written, exit 1), and "flaky" fails so on "changed" in round 2 only.
FAKE_PYPERFORMANCE = """\
import json, os, sys
from pathlib import Path

args = sys.argv[1:]
option = lambda name: args[args.index(name) + 1]
python, names, out = option("--python"), option("-b").split(","), Path(option("-o"))
call = [Path.cwd().name, python, names, "--fast" in args, out.exists(), out.parent.name]
with open(os.environ["FAKE_CALLS"], "a") as calls:
    calls.write(json.dumps(call) + "\\n")
value = 2.0 if "base" in python else 1.0
failing = {"broken"} | ({"flaky"} if "changed" in python and out.parent.name == "round-2" else set())
results = [result for name in names if name not in failing
           for result in ([f"multi_{x}" for x in "abcd"] if name == "multi" else [name])]
benchmarks = [{"metadata": {"name": name}, "runs": [{"values": [value, value]}]}
              for name in results]
if benchmarks:
    suite = {"version": "1.0", "metadata": {"python": python}, "benchmarks": benchmarks}
    out.write_text(json.dumps(suite))
if failing & set(names):
    print("ERROR: Benchmark broken failed")
    sys.exit(1)
"""


@pytest.fixture
def fake_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    runner = tmp_path / "runner" / "bin" / "pyperformance"
    runner.parent.mkdir(parents=True)
    runner.write_text(f"#!{sys.executable}\n{FAKE_PYPERFORMANCE}")
    runner.chmod(0o755)
    monkeypatch.setenv("FAKE_CALLS", str(tmp_path / "calls.jsonl"))
    return runner


def calls(tmp_path: Path) -> list[list]:
    return [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]


def test_run_benchmarks_keeps_what_succeeded_and_raises_only_when_nothing_did(
    tmp_path: Path, fake_runner: Path
) -> None:
    out = tmp_path / "results" / "pbs.json"
    out.parent.mkdir()
    out.write_text("stale")
    log = tmp_path / "bench.log"
    python = Path("/opt/pbs/bin/python3.14")

    written = pyperformance.run_benchmarks(
        fake_runner, python, "pbs", ["nbody", "broken"], out, tmp_path / "work", log, fast=True
    )

    assert written == out
    assert report.suite_means(out) == {"nbody": 1.0}
    # Run from the label's directory (where pyperformance keeps its venvs), the stale output
    # removed first, since pyperformance refuses to overwrite it.
    assert calls(tmp_path) == [["pbs", str(python), ["nbody", "broken"], True, False,
                                "results"]]
    assert "ERROR: Benchmark broken failed" in log.read_text()

    with pytest.raises(CommandFailed, match="ran none of broken on pbs"):
        pyperformance.run_benchmarks(
            fake_runner, python, "pbs", ["broken"], out, tmp_path / "work", log, fast=False
        )


def test_run_interleaved_takes_a_sample_per_round_in_a_new_order_and_records_failures(
    tmp_path: Path, fake_runner: Path
) -> None:
    pythons = {"base": Path("/py/base/python"), "changed": Path("/py/changed/python")}
    benchmarks = ["nbody", "multi", "flaky", "broken", "float"]
    messages: list[str] = []

    measured = pyperformance.run_interleaved(
        fake_runner, pythons, benchmarks, rounds=3, rng=random.Random(7),
        out_dir=tmp_path / "out", log=tmp_path / "bench.log", fast=False,
        progress=messages.append,
    )  # fmt: skip

    # What ran is what the measurements say ran, one round after the other.
    ran = [(names[0], label, part) for label, _, names, _, _, part in calls(tmp_path)]
    assert ran == [(*entry.split(" on "), f"round-{number + 1}")
                   for number, entries in enumerate(measured.order) for entry in entries]
    pairs = {f"{name} on {label}" for name in benchmarks for label in pythons}
    assert all(sorted(entries) == sorted(pairs) for entries in measured.order)
    # A new benchmark order each round; each benchmark's first interpreter alternates.
    sequences = [[entry.split(" on ")[0] for entry in entries[::2]] for entries in measured.order]
    assert sequences[0] != sequences[1] and sequences[1] != sequences[2]
    for name in benchmarks:
        firsts = [next(e for e in entries if e.startswith(f"{name} on ")).split(" on ")[1]
                  for entries in measured.order]
        assert firsts[0] != firsts[1] and firsts[1] != firsts[2]

    assert measured.families == {"nbody": ["nbody"], "float": ["float"], "flaky": ["flaky"],
                                 "broken": ["broken"],
                                 "multi": ["multi_a", "multi_b", "multi_c", "multi_d"]}
    assert measured.samples["base"]["multi_c"] == [2.0, 2.0, 2.0]
    assert measured.samples["changed"]["flaky"] == [1.0, None, 1.0]
    assert measured.samples["base"]["broken"] == [None, None, None]
    assert sum("reported as a failure" in message for message in messages) == 7

    comparison = report.compare(measured, "base", "changed")
    rows = {row.name: row for row in comparison.rows}
    assert rows["multi_a"].weight == 0.25 and rows["nbody"].weight == 1
    assert rows["flaky"].ratio == stats.Interval(estimate=2.0, low=2.0, high=2.0)
    assert rows["broken"].ratio is None
    # The failures are reported, and the goal is not met while they stand, however fast.
    assert [row.name for row in comparison.failures] == ["broken", "flaky"]
    assert comparison.geomean == stats.Interval(estimate=2.0, low=2.0, high=2.0)
    assert not comparison.meets(1.05)


def test_run_interleaved_fails_when_an_interpreter_ran_nothing(
    tmp_path: Path, fake_runner: Path
) -> None:
    with pytest.raises(PbsError, match="no benchmark ran on base"):
        pyperformance.run_interleaved(
            fake_runner, {"base": Path("/py/base/python")}, ["broken"], rounds=3,
            rng=random.Random(1), out_dir=tmp_path / "out", log=tmp_path / "bench.log",
            fast=True, progress=print,
        )  # fmt: skip


def test_ensure_runner_keeps_a_venv_that_has_the_pinned_version(tmp_path: Path) -> None:
    runner = tmp_path / "venv" / "bin" / "pyperformance"
    runner.parent.mkdir(parents=True)
    runner.write_text("#!/bin/sh\necho pyperformance 1.14.0\n")
    runner.chmod(0o755)

    assert pyperformance.ensure_runner(tmp_path / "venv", "1.14.0", tmp_path / "log") == runner
    assert "pip" not in (tmp_path / "log").read_text()


@pytest.mark.parametrize(("loader_dir", "message"), [
    ("missing", "--loader: no file at"),
    ("a:b", "--loader: cannot lay"),
])
def test_compare_refuses_a_loader_it_cannot_lay_over_lib(
    tmp_path: Path, loader_dir: str, message: str
) -> None:
    """One line naming what was wrong, exit 2, before any benchmark runs."""
    loader = tmp_path / loader_dir / "ld-musl-x86_64.so.1"
    if loader_dir != "missing":
        loader.parent.mkdir()
        loader.write_bytes(b"\x7fELF")
    done = subprocess.run(
        [sys.executable, REPO / "benchmarks" / "compare.py", f"a={sys.executable}",
         f"b={sys.executable}", "--loader", loader, "--work-dir", tmp_path / "work"],
        capture_output=True, text=True)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "work").exists()
