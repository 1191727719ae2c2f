"""The speed harness's own parts: start-up timing, build-output parsing, the reference recipe."""

from __future__ import annotations

import json
import random
import shlex
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pbs.errors import PbsError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from harness import builds, reference, startup
from harness.provenance import Provenance

BUILT_BY = Provenance(date="2026-11-22T08:00:00+00:00", revision="d314196")


def test_startup_takes_a_sample_per_round_interleaved_in_a_new_order_each_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[tuple[Path, str]] = []
    monkeypatch.setattr(startup, "_time_one",
                        lambda python, code: runs.append((python, code)) or 0.010)
    pythons = {"a": Path("/a"), "b": Path("/b"), "c": Path("/c")}

    times = startup.measure_startup(pythons, rounds=4, rng=random.Random(3))

    assert {(t.interpreter, t.command) for t in times} == {
        (name, command) for name in pythons for command in startup.COMMANDS
    }
    assert all(t.samples_ms == [10.0] * 4 for t in times)
    per_round = len(pythons) * len(startup.COMMANDS)
    assert len(runs) == (startup.WARMUP_RUNS + 4) * per_round
    orders = [[python for python, code in runs[start:start + per_round] if code == "pass"]
              for start in range(0, len(runs), per_round)]
    assert all(sorted(order) == sorted(pythons.values()) for order in orders)
    assert all(before != after for before, after in zip(orders, orders[1:]))


def test_startup_of_a_real_interpreter_is_timed() -> None:
    python = Path(sys.executable)
    (time,) = [t for t in startup.measure_startup({"a": python}, 3, random.Random(1))
               if t.command == "pass"]
    assert len(time.samples_ms) == 3
    assert 0 < time.median_ms.low <= time.median_ms.estimate <= time.median_ms.high < 10_000


def test_the_cpython_line_of_pbs_build_is_understood() -> None:
    built = "dependencies: 22 (0 built, 22 cached); CPython 3.14.7: built in 1532.4 s"
    cached = "dependencies: 22 (0 built, 22 cached); CPython 3.11.2: cached (log: /x.log)"
    assert builds.CPYTHON_LINE.search(built).groups() == ("3.14.7", "built in 1532.4 s")
    assert builds.CPYTHON_LINE.search(cached).groups() == ("3.11.2", "cached")


def test_a_build_run_finds_its_archives_by_kind() -> None:
    run = builds.BuildRun(
        python="3.14.7", options="pgo+lto", cache="warm", cpython_step="cached", seconds=1.0,
        archives={"/d/cpython-3.14.7-full.tar.zst": 3, "/d/cpython-3.14.7-install_only.tar.gz": 2,
                  "/d/cpython-3.14.7-install_only_stripped.tar.gz": 1},
        built_by=BUILT_BY,
    )
    assert run.archive("install_only.tar.gz") == Path("/d/cpython-3.14.7-install_only.tar.gz")
    assert run.to_json()["archives"] == run.archives


def test_the_reference_interpreter_lives_in_its_prefix(tmp_path: Path) -> None:
    python = reference.ReferencePython(version="3.14.7", prefix=tmp_path)
    assert python.executable == tmp_path / "bin" / "python3.14"
    # Whatever is installed here, the answer names only packages of the recipe.
    assert set(reference.missing_host_packages()) <= set(reference.HOST_PACKAGES)


def test_published_archives_are_reused_only_when_finished_and_with_the_revision_that_built_them(
    tmp_path: Path,
) -> None:
    names = ["cpython-3.11.2+20261121-x86_64-unknown-linux-gnu-pgo+lto-full.tar.zst",
             "cpython-3.11.2+20261121-x86_64-unknown-linux-gnu-install_only.tar.gz"]
    for name in names:
        (tmp_path / name).write_bytes(b"x" * 10)
    assert builds.published(tmp_path, "pgo+lto") is None
    (tmp_path / "SHA256SUMS").write_text("")
    with pytest.raises(PbsError, match="no BUILT-BY.json"):
        builds.published(tmp_path, "pgo+lto")
    (tmp_path / builds.BUILT_BY).write_text(json.dumps(BUILT_BY.to_json()))
    run = builds.published(tmp_path, "pgo+lto")
    assert run is not None
    assert (run.python, run.cache, run.seconds, run.built_by) == ("3.11.2", "reused", None,
                                                                  BUILT_BY)
    assert run.archive("install_only.tar.gz").name == names[1]
    assert builds.published(tmp_path, "noopt") is None


def test_the_run_records_the_revision_of_the_pbs_checkout() -> None:
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    now = Provenance.now()
    assert now.revision.removesuffix("+dirty") == head
    assert now.date.endswith("+00:00")


def test_the_builds_table_times_only_this_runs_builds_and_dates_the_reused_ones() -> None:
    import speed

    fresh = builds.BuildRun(python="3.14.7", options="pgo+lto", cache="warm",
                            cpython_step="cached", seconds=812.4, archives={}, built_by=BUILT_BY)
    reused = builds.BuildRun(python="3.11.2", options="pgo+lto", cache="reused",
                             cpython_step="reused", seconds=None, archives={}, built_by=BUILT_BY)
    rows = speed.builds_table([fresh.to_json(), reused.to_json()]).splitlines()[2:]
    assert rows == [
        f"| 3.14.7 | pgo+lto | warm | cached | 812 s | {BUILT_BY.text()} |",
        f"| 3.11.2 | pgo+lto | reused | reused | not timed (reused) | {BUILT_BY.text()} |",
    ]


def test_startup_goal_is_met_only_when_the_lower_bound_of_the_ratio_reaches_1() -> None:
    def times(pbs_pass: list[float]) -> list[startup.StartupTime]:
        samples = {("debian-3.11", "pass"): [9.0, 9.2, 9.1], ("pbs-3.11", "pass"): pbs_pass,
                   ("debian-3.11", "import json, ssl, sqlite3"): [20.0, 20.0, 20.0],
                   ("pbs-3.11", "import json, ssl, sqlite3"): [15.0, 15.0, 15.0]}
        return [startup.StartupTime(interpreter=name, command=command, samples_ms=ms)
                for (name, command), ms in samples.items()]

    verdicts = startup.verdicts(times([8.5, 8.6, 8.4]), "debian-3.11", "pbs-3.11")
    assert [(v.command, v.met) for v in verdicts] == [
        ("pass", True), ("import json, ssl, sqlite3", True)]
    # Faster by the median, but one round slower: the interval reaches below 1.
    mixed = startup.verdicts(times([8.5, 9.5, 8.4]), "debian-3.11", "pbs-3.11")[0]
    assert mixed.ratio.estimate > 1 > mixed.ratio.low
    assert not mixed.met
    assert mixed.to_json()["met"] is False


def test_archive_sizes_keep_same_named_archives_of_different_builds() -> None:
    import speed

    name = "cpython-3.14.7+20261121-x86_64-unknown-linux-gnu-install_only.tar.gz"
    runs = [{"python": "3.14.7", "options": "pgo+lto", "cache": "warm",
             "archives": {f"/w/dist-3.14/{name}": 100 * 2**20}},
            {"python": "3.14.7", "options": "noopt", "cache": "cold",
             "archives": {f"/b/dist-cold/{name}": 60 * 2**20}}]
    rows = speed.archive_sizes_table(runs).splitlines()[2:]
    assert rows == [f"| 3.14.7 pgo+lto, warm cache | {name} | 100.0 |",
                    f"| 3.14.7 noopt, cold cache | {name} | 60.0 |"]


def steady_run(seconds: dict[str, float]):
    """Three identical nbody samples per interpreter, and start-up times of 10 ms."""
    from harness import report

    measurements = report.Measurements(
        rounds=3, families={"nbody": ["nbody"]}, order=[],
        samples={label: {"nbody": [s, s, s]} for label, s in seconds.items()})
    times = [startup.StartupTime(interpreter=label, command=command, samples_ms=[10.0] * 3)
             for label in seconds for command in startup.COMMANDS]
    return measurements, times


def run_results(labels: list[str], *, builds: list[dict], reference: dict | None) -> dict:
    """What speed.py records of a run by revision abc123 on a 2-core machine, for render."""
    return {
        "run": {**Provenance(date="2026-11-28T12:00:00+00:00", revision="abc123").to_json(),
                "rounds": 3, "suite": "quick"},
        "machine": {"cpu": "AMD EPYC", "cores": 2},
        "interpreters": {label: {"python": f"/{label}/python", "version": "3.x"}
                         for label in labels},
        "builds": builds,
        "reference": reference,
    }


def test_the_speed_report_states_its_run_goals_with_intervals_and_its_own_builds() -> None:
    import speed
    from harness import report

    labels = ["debian-3.11", "pbs-3.11", "docker-3.14", "pbs-3.14"]
    measurements, times = steady_run(
        {"debian-3.11": 0.11, "pbs-3.11": 0.10, "docker-3.14": 0.12, "pbs-3.14": 0.10})
    comparisons = [report.compare(measurements, "debian-3.11", "pbs-3.11"),
                   report.compare(measurements, "docker-3.14", "pbs-3.14")]
    reused = builds.BuildRun(python="3.11.2", options="pgo+lto", cache="reused",
                             cpython_step="reused", seconds=None, archives={}, built_by=BUILT_BY)
    results = run_results(labels, builds=[reused.to_json()],
                          reference={"version": "3.14.7", "recipe": "1",
                                     "built": "2026-11-20T10:00:00+00:00"})

    text = speed.render(results, list(zip(speed.GOALS, comparisons)), comparisons, times,
                        startup.verdicts(times, *speed.STARTUP_GOAL))

    lines = text.splitlines()
    assert lines[0] == "# pbs speed (quick suite, 3 rounds) on AMD EPYC, 2 cores"
    assert lines[2].startswith("Measured by this run (revision abc123, 2026-11-28T12:00:00+00:00)")
    assert ("| pbs-3.11 ≥ 1.05× debian-3.11 (geometric mean, families weighted as one) | "
            "1.100 [1.100, 1.100] | met: lower bound 1.100 ≥ 1.05 |") in lines
    assert ("| pbs-3.14 ≥ 1.20× docker-3.14 (geometric mean, families weighted as one) | "
            "1.200 [1.200, 1.200] | met: lower bound 1.200 ≥ 1.20 |") in lines
    assert ("| pbs-3.11 start-up `-c pass` no slower than debian-3.11 (ratio of times ≥ 1) | "
            "1.000 [1.000, 1.000] | met: lower bound 1.000 ≥ 1.00 |") in lines
    assert "| debian-3.11 | 10.0 [10.0, 10.0] | 10.0 [10.0, 10.0] |" in lines
    assert f"| 3.11.2 | pgo+lto | reused | reused | not timed (reused) | {BUILT_BY.text()} |" in lines
    assert ("Reference: CPython 3.14.7 by the docker recipe r1, built 2026-11-20T10:00:00+00:00."
            in lines)


def test_one_minor_version_is_measured_alone_into_its_own_report(monkeypatch) -> None:
    import speed

    monkeypatch.setattr(sys, "argv", ["speed.py", "--python", "3.11"])
    assert speed.parse_args().python == ["3.11"]
    assert speed.report_stem(["3.11"]) == "speed-3.11"
    monkeypatch.setattr(sys, "argv", ["speed.py", "--python", "3.14", "--python", "3.11"])
    assert speed.parse_args().python == ["3.11", "3.14"]
    assert speed.report_stem(["3.11", "3.14"]) == "speed"


def test_an_unknown_minor_version_is_refused_in_one_line() -> None:
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "speed.py"),
                             "--python", "3.9"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "argument --python: invalid choice: '3.9'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_report_without_the_reference_build_names_none() -> None:
    import speed
    from harness import report

    seconds = {"debian-3.11": 0.11, "pbs-3.11": 0.10}
    measurements, times = steady_run(seconds)
    comparison = report.compare(measurements, "debian-3.11", "pbs-3.11")
    results = run_results(list(seconds), builds=[], reference=None)

    text = speed.render(results, [(speed.GOALS[0], comparison)], [comparison], times,
                        startup.verdicts(times, *speed.STARTUP_GOAL))

    assert "1.100 [1.100, 1.100] | met: lower bound 1.100 ≥ 1.05 |" in text
    assert "docker" not in text and "Reference:" not in text


def test_the_unpacked_interpreter_starts_with_its_standard_librarys_bytecode_compiled(
    tmp_path: Path,
) -> None:
    import speed

    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    tree = tmp_path / "tree" / "python"
    (tree / "bin").mkdir(parents=True)
    (tree / "lib" / f"python{minor}").mkdir(parents=True)
    (tree / "lib" / f"python{minor}" / "greeting.py").write_text("WORDS = 'hello'\n")
    launcher = tree / "bin" / f"python{minor}"
    launcher.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} \"$@\"\n")
    launcher.chmod(0o755)
    archive = tmp_path / f"cpython-{minor}.0-install_only.tar.gz"
    with tarfile.open(archive, "w:gz") as opened:
        opened.add(tree, arcname="python")
    run = builds.BuildRun(python=f"{minor}.0", options="pgo+lto", cache="warm",
                          cpython_step="cached", seconds=1.0, archives={str(archive): 1},
                          built_by=BUILT_BY)

    python = speed.unpack(run, tmp_path / "work", tmp_path / "speed.log")

    assert python == tmp_path / "work" / f"pbs-{minor}.0" / "python" / "bin" / f"python{minor}"
    cache_tag = sys.implementation.cache_tag
    assert (python.parents[1] / "lib" / f"python{minor}" / "__pycache__" /
            f"greeting.{cache_tag}.pyc").is_file()
