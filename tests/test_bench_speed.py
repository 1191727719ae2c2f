"""The speed harness's own parts: start-up timing, build-output parsing, the reference recipe."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from harness import builds, reference, startup


def test_startup_times_every_interpreter_and_command() -> None:
    python = Path(sys.executable)
    times = startup.measure_startup({"a": python, "b": python}, rounds=2)
    assert {(t.interpreter, t.command) for t in times} == {
        (name, command) for name in ("a", "b") for command in startup.COMMANDS
    }
    for time in times:
        assert time.runs == 2
        assert 0 < time.median_ms < 10_000
        assert 0 < time.mean_ms < 10_000


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
    )
    assert run.archive("install_only.tar.gz") == Path("/d/cpython-3.14.7-install_only.tar.gz")
    assert run.to_json()["archives"] == run.archives


def test_the_reference_interpreter_lives_in_its_prefix(tmp_path: Path) -> None:
    python = reference.ReferencePython(version="3.14.7", prefix=tmp_path)
    assert python.executable == tmp_path / "bin" / "python3.14"
    # Whatever is installed here, the answer names only packages of the recipe.
    assert set(reference.missing_host_packages()) <= set(reference.HOST_PACKAGES)


def test_published_archives_are_reused_only_when_the_build_finished(tmp_path: Path) -> None:
    names = ["cpython-3.11.2+20261121-x86_64-unknown-linux-gnu-pgo+lto-full.tar.zst",
             "cpython-3.11.2+20261121-x86_64-unknown-linux-gnu-install_only.tar.gz"]
    for name in names:
        (tmp_path / name).write_bytes(b"x" * 10)
    assert builds.published(tmp_path, "pgo+lto") is None
    (tmp_path / "SHA256SUMS").write_text("")
    run = builds.published(tmp_path, "pgo+lto")
    assert run is not None
    assert run.python == "3.11.2"
    assert run.archive("install_only.tar.gz").name == names[1]
    assert builds.published(tmp_path, "noopt") is None


def test_startup_goal_is_met_only_when_pbs_is_not_slower_on_every_command() -> None:
    import speed

    def times(pbs_pass: float) -> list[startup.StartupTime]:
        medians = {("debian-3.11", "pass"): 9.0, ("pbs-3.11", "pass"): pbs_pass,
                   ("debian-3.11", "import json, ssl, sqlite3"): 20.0,
                   ("pbs-3.11", "import json, ssl, sqlite3"): 15.0}
        return [startup.StartupTime(interpreter=name, command=command, median_ms=ms, mean_ms=ms,
                                    runs=40) for (name, command), ms in medians.items()]

    verdicts = speed.startup_verdicts(times(8.5), "debian-3.11", "pbs-3.11")
    assert [(v["command"], v["met"]) for v in verdicts] == [
        ("pass", True), ("import json, ssl, sqlite3", True)]
    slower = speed.startup_verdicts(times(9.5), "debian-3.11", "pbs-3.11")
    assert slower[0]["met"] is False and slower[0]["pbs_ms"] == 9.5


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
