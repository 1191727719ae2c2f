"""The benchmark harness: the quick plan, pyperf-file comparison, and interleaved runs.

The pyperf files here are written in the format pyperformance 1.14 writes (checked against real
runs): suite-wide metadata on top, each benchmark's name in its own metadata (or on top when a
file holds one benchmark), a first calibration run holding only warmups, values in seconds.
pyperformance itself is stood in for by a small script, so no benchmark suite runs here.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path

import pytest

from pbs.errors import CommandFailed, PbsError

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from harness import pyperformance, report

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


def test_compare_takes_means_over_all_runs_and_the_geometric_mean_of_ratios(
    tmp_path: Path,
) -> None:
    base = write_suite(
        tmp_path / "base.json",
        {"nbody": [[0.10, 0.12], [0.11, 0.11]], "float": [[0.04, 0.04]], "gone": [[1.0]]},
    )
    changed = write_suite(
        tmp_path / "changed.json.gz",
        {"nbody": [[0.05, 0.06], [0.055, 0.055]], "float": [[0.08, 0.08]], "new": [[1.0]]},
    )

    comparison = report.compare(base, changed)

    by_name = {row.name: row for row in comparison.rows}
    assert list(by_name) == ["float", "nbody"]
    assert by_name["nbody"].base_mean == pytest.approx(0.11)
    assert by_name["nbody"].changed_mean == pytest.approx(0.055)
    assert by_name["nbody"].ratio == pytest.approx(2.0)
    assert by_name["float"].ratio == pytest.approx(0.5)
    # Twice as fast and twice as slow cancel out.
    assert comparison.geomean == pytest.approx(1.0)
    assert comparison.only_in_base == ["gone"]
    assert comparison.only_in_changed == ["new"]
    assert comparison.to_json() == {
        "benchmarks": [
            {
                "name": row.name,
                "base_mean_seconds": row.base_mean,
                "changed_mean_seconds": row.changed_mean,
                "ratio": row.ratio,
            }
            for row in comparison.rows
        ],
        "geomean": comparison.geomean,
        "only_in_base": ["gone"],
        "only_in_changed": ["new"],
    }


def test_geomean_of_unequal_ratios(tmp_path: Path) -> None:
    base = write_suite(tmp_path / "a.json", {"x": [[3.0]], "y": [[1.0]], "z": [[1.0]]})
    changed = write_suite(tmp_path / "b.json", {"x": [[1.0]], "y": [[1.0]], "z": [[2.0]]})
    assert report.compare(base, changed).geomean == pytest.approx(math.cbrt(3 * 1 * 0.5))


def test_markdown_table_has_a_row_per_benchmark_in_ms_a_geomean_row_and_the_missing(
    tmp_path: Path,
) -> None:
    base = write_suite(
        tmp_path / "base.json", {"nbody": [[0.1]], "logging_silent": [[1e-7]], "gone": [[1.0]]}
    )
    changed = write_suite(
        tmp_path / "changed.json", {"nbody": [[0.08]], "logging_silent": [[2e-7]]}
    )

    table = report.markdown_table(report.compare(base, changed), "debian-3.11", "pbs-3.11")

    lines = table.splitlines()
    assert lines[0] == "| benchmark | debian-3.11 (ms) | pbs-3.11 (ms) | ratio |"
    assert lines[2] == "| logging_silent | 0.0001000 | 0.0002000 | 0.500 |"
    assert lines[3] == "| nbody | 100.0 | 80.00 | 1.250 |"
    assert lines[4] == f"| **geometric mean** | | | **{math.sqrt(0.5 * 1.25):.3f}** |"
    assert "Missing for pbs-3.11 (failed or not run): gone." in lines
    assert not any(line.startswith("Missing for debian-3.11") for line in lines)


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


def test_merge_keeps_every_benchmark_and_each_files_metadata(tmp_path: Path) -> None:
    first = write_suite(tmp_path / "a.json", {"nbody": [[0.1]]}, python_version="3.14.7")
    second = write_suite(
        tmp_path / "b.json", {"logging_simple": [[2e-6]], "logging_silent": [[1e-7]]},
        python_version="3.14.7+",
    )  # fmt: skip

    merged = pyperformance.merge_suites([first, second], tmp_path / "out" / "merged.json")

    assert report.suite_means(merged) == {
        "nbody": pytest.approx(0.1),
        "logging_simple": pytest.approx(2e-6),
        "logging_silent": pytest.approx(1e-7),
    }
    suite = json.loads(merged.read_text())
    versions = [bench["metadata"]["python_version"] for bench in suite["benchmarks"]]
    assert versions == ["3.14.7", "3.14.7+", "3.14.7+"]
    assert all(bench["metadata"]["hostname"] == "vm" for bench in suite["benchmarks"])


# Stands in for `pyperformance run`: records each call, writes a pyperf file for the benchmarks
# it was given except "broken" (which fails as a benchmark does: the rest written, exit 1),
# with values 2 s on an interpreter whose path contains "base" and 1 s elsewhere.
FAKE_PYPERFORMANCE = """\
import json, os, sys
from pathlib import Path

args = sys.argv[1:]
option = lambda name: args[args.index(name) + 1]
python, names, out = option("--python"), option("-b").split(","), Path(option("-o"))
call = [Path.cwd().name, python, names, "--fast" in args, out.exists()]
with open(os.environ["FAKE_CALLS"], "a") as calls:
    calls.write(json.dumps(call) + "\\n")
value = 2.0 if "base" in python else 1.0
benchmarks = [
    {"metadata": {"name": name}, "runs": [{"values": [value, value]}]}
    for name in names if name != "broken"
]
if benchmarks:
    suite = {"version": "1.0", "metadata": {"python": python}, "benchmarks": benchmarks}
    out.write_text(json.dumps(suite))
if "broken" in names:
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
    assert calls(tmp_path) == [["pbs", str(python), ["nbody", "broken"], True, False]]
    assert "ERROR: Benchmark broken failed" in log.read_text()

    with pytest.raises(CommandFailed, match="ran none of broken on pbs"):
        pyperformance.run_benchmarks(
            fake_runner, python, "pbs", ["broken"], out, tmp_path / "work", log, fast=False
        )


def test_run_interleaved_alternates_interpreters_and_merges_each_ones_results(
    tmp_path: Path, fake_runner: Path
) -> None:
    pythons = {"base": Path("/py/base/python"), "changed": Path("/py/changed/python")}
    messages: list[str] = []

    suites = pyperformance.run_interleaved(
        fake_runner, pythons, ["nbody", "broken", "float"], out_dir=tmp_path / "out",
        log=tmp_path / "bench.log", fast=False, progress=messages.append,
    )  # fmt: skip

    order = [(label, names) for label, _, names, _, _ in calls(tmp_path)]
    assert order == [
        ("base", ["nbody"]), ("changed", ["nbody"]),
        ("changed", ["broken"]), ("base", ["broken"]),
        ("base", ["float"]), ("changed", ["float"]),
    ]  # fmt: skip
    assert suites == {"base": tmp_path / "out" / "base.json",
                      "changed": tmp_path / "out" / "changed.json"}  # fmt: skip
    comparison = report.compare(suites["base"], suites["changed"])
    assert [(row.name, row.ratio) for row in comparison.rows] == [("float", 2.0), ("nbody", 2.0)]
    assert sum("broken failed on" in message for message in messages) == 2


def test_run_interleaved_fails_when_an_interpreter_ran_nothing(
    tmp_path: Path, fake_runner: Path
) -> None:
    with pytest.raises(PbsError, match="no benchmark ran on base"):
        pyperformance.run_interleaved(
            fake_runner, {"base": Path("/py/base/python")}, ["broken"],
            out_dir=tmp_path / "out", log=tmp_path / "bench.log", fast=True, progress=print,
        )  # fmt: skip


def test_ensure_runner_keeps_a_venv_that_has_the_pinned_version(tmp_path: Path) -> None:
    runner = tmp_path / "venv" / "bin" / "pyperformance"
    runner.parent.mkdir(parents=True)
    runner.write_text("#!/bin/sh\necho pyperformance 1.14.0\n")
    runner.chmod(0o755)

    assert pyperformance.ensure_runner(tmp_path / "venv", "1.14.0", tmp_path / "log") == runner
    assert "pip" not in (tmp_path / "log").read_text()
