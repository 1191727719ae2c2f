from __future__ import annotations

import base64
import errno
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import E2E_ARCHIVES, E2EBuild, killed_leftover
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from rich.console import Console
from test_link import full_archive
from test_metadata import make_data

from pbs.catalog import Catalog, RegrtestPlan
from pbs.catalog import _regrtest_problems as regrtest_problems
from pbs.errors import PbsError
from pbs.runner import run
from pbs.smoke import CheckResult, render
from pbs.smoke import test_archive as run_checks  # not collected as a test by pytest
from pbs.smoke.building import write_wheel
from pbs.smoke.expected import modules_to_import
from pbs.smoke import relocation
from pbs.smoke.regrtest import command, parse_summary
from pbs.smoke.tree import SCRIPTS, unpack

# The closing lines of real regrtest runs of the 3.14.7 noopt build (pbs's selection).
FAILED_RUN = """\
0:00:40 load avg: 4.58 [19/19/1] test_ssl passed (40.9 sec)

== Tests result: FAILURE ==

1 test failed:
    test_readline

18 tests OK.

Total duration: 40.9 sec
Total tests: run=3,063 skipped=216
Total test files: run=19/19 failed=1
Result: FAILURE
"""
PASSED_RUN = """\
== Tests result: SUCCESS ==

All 21 tests OK.

Total duration: 43.6 sec
Total tests: run=4,477 (filtered) skipped=328
Total test files: run=21/21 (filtered)
Result: SUCCESS
"""
# 3.11.2's regrtest (pbs's selection): file counts only, and "Tests result:".
FAILED_RUN_311 = """\
0:00:45 load avg: 0.83 [18/18/1] test_ssl failed (2 errors, 2 failures) (45.3 sec)

== Tests result: FAILURE ==

17 tests OK.

1 test failed:
    test_ssl

Total duration: 45.3 sec
Tests result: FAILURE
"""


# -- regrtest ----------------------------------------------------------------------------------


def test_parse_summary_of_a_311_run() -> None:
    summary = parse_summary(FAILED_RUN_311)
    assert summary is not None
    assert summary.result == "FAILURE"
    assert summary.tests == {}
    assert summary.files == {"ok": 17, "failed": 1}
    assert summary.failed_files == ("test_ssl",)
    assert summary.describe() == "files: ok=17 failed=1"
    passed = parse_summary(FAILED_RUN_311.replace("FAILURE", "SUCCESS").replace(
        "17 tests OK.", "All 18 tests OK."))
    assert passed is not None and passed.result == "SUCCESS" and passed.files["ok"] == 18


RERUN_PASSED_RUN = """\
0:05:01 load avg: 2.41 [431/431/1] test_ftplib failed (1 failure) (12.0 sec)

== Tests result: FAILURE then SUCCESS ==

430 tests OK.

2 re-run tests:
    test_ftplib
    test_socket

Total duration: 10 min 2 sec
Total tests: run=47,884 skipped=1,650
Total test files: run=433/431 rerun=2
Result: FAILURE then SUCCESS
"""


def test_a_file_that_passes_when_run_again_alone_passes_and_is_named() -> None:
    summary = parse_summary(RERUN_PASSED_RUN)
    assert summary is not None and summary.passed
    assert summary.rerun_files == ("test_ftplib", "test_socket")
    assert summary.failed_files == ()
    failed_twice = parse_summary(RERUN_PASSED_RUN.replace("then SUCCESS", "then FAILURE"))
    assert failed_twice is not None and not failed_twice.passed


def test_parse_summary_of_a_failed_run() -> None:
    summary = parse_summary(FAILED_RUN)
    assert summary is not None
    assert summary.result == "FAILURE"
    assert summary.tests == {"run": 3063, "skipped": 216}
    assert summary.files == {"run": 19, "failed": 1}
    assert summary.failed_files == ("test_readline",)
    assert summary.describe().startswith("run=3063 passed=2847 failed=0 skipped=216")


def test_parse_summary_of_a_passed_run_with_colours() -> None:
    coloured = PASSED_RUN.replace("skipped=328", "\x1b[33mskipped=328\x1b[0m")
    summary = parse_summary(coloured)
    assert summary is not None
    assert summary.result == "SUCCESS"
    assert summary.tests == {"run": 4477, "skipped": 328}
    assert summary.failed_files == ()


def test_parse_summary_without_summary() -> None:
    assert parse_summary("Traceback (most recent call last):\n  ...\n") is None


PLAN = RegrtestPlan(
    selection=("test_ssl", "test_zstd"),
    resources=("all", "-network"),
    skip_files={"test_broken": "needs a network", "test_zstd": "no zstd when static"},
    skip_tests={"test_limited_history": "libedit bug", "test_cadata": "old OpenSSL messages",
                "test_load_version": "musl's loader answers every libc.* name",
                "test_python_api": "no pythonapi in a static interpreter",
                "test_no_stdin": "qemu-user's own files take descriptor 0"},
    skip_tests_python={"test_cadata": SpecifierSet("<3.12")},
    skip_tests_emulated=frozenset({"test_no_stdin"}),
    skip_tests_libc={"test_load_version": ("musl",)},
    skip_options={"test_zstd": ("static",), "test_python_api": ("static",)},
)


def test_command_keeps_only_the_selected_files_the_version_has() -> None:
    args = command(PLAN, {"test_ssl", "test_sqlite3"}, Version("3.14"), "glibc", ("noopt",), full=False)
    assert args[:2] == ["-m", "test"]
    assert args[args.index("-u") + 1] == "all,-network"
    assert args[args.index("-i") + 1] == "test_limited_history"
    assert "test_cadata" not in args
    assert args[-1] == "test_ssl"
    assert "test_zstd" not in args


def test_full_command_excludes_the_skipped_files() -> None:
    args = command(PLAN, {"test_ssl"}, Version("3.14"), "glibc", ("noopt",), full=True)
    assert args[-2:] == ["-x", "test_broken"]
    assert "test_ssl" not in args


def test_version_scoped_skips_apply_only_to_their_versions() -> None:
    args = command(PLAN, {"test_ssl"}, Version("3.11"), "glibc", ("noopt",), full=False)
    skips = [args[i + 1] for i, arg in enumerate(args) if arg == "-i"]
    assert skips == ["test_limited_history", "test_cadata"]


def test_option_scoped_skips_apply_only_to_builds_with_them() -> None:
    args = command(PLAN, {"test_ssl", "test_zstd"}, Version("3.14"), "glibc", ("noopt",),
                   full=False)
    assert "test_zstd" in args and "test_python_api" not in args
    static = command(PLAN, {"test_ssl", "test_zstd"}, Version("3.14"), "musl",
                     ("noopt", "static"), full=False)
    assert static[-1] == "test_ssl" and "test_zstd" not in static
    assert static[static.index("test_python_api") - 1] == "-i"
    full = command(PLAN, {"test_ssl"}, Version("3.14"), "musl", ("noopt", "static"), full=True)
    assert full[-3:] == ["-x", "test_broken", "test_zstd"]


def test_libc_scoped_skips_apply_only_to_builds_against_it() -> None:
    args = command(PLAN, {"test_ssl"}, Version("3.14"), "musl", ("noopt",), full=False)
    skips = [args[i + 1] for i, arg in enumerate(args) if arg == "-i"]
    assert skips == ["test_limited_history", "test_load_version"]


def test_emulator_scoped_skips_apply_only_under_an_emulator() -> None:
    native = command(PLAN, {"test_ssl"}, Version("3.14"), "glibc", ("noopt",), full=True)
    emulated = command(PLAN, {"test_ssl"}, Version("3.14"), "glibc", ("noopt",), full=True,
                       emulated=True)
    assert "test_no_stdin" not in native
    assert emulated[emulated.index("test_no_stdin") - 1] == "-i"


def test_catalogued_regrtest_plan_is_sound(catalog: Catalog) -> None:
    plan = catalog.regrtest
    assert "test_ssl" in plan.selection and "all" in plan.resources
    assert regrtest_problems(plan) == []


def test_regrtest_plan_problems_are_found() -> None:
    bad = RegrtestPlan(
        selection=("test_ssl", "test_ssl", "ssl"),
        resources=("all",),
        skip_files={"test_ssl": " "},
        skip_tests={"test_x": ""},
        skip_tests_python={},
    )
    problems = regrtest_problems(bad)
    assert "regrtest: 'ssl' is not a test file name (test_...)" in problems
    assert "regrtest: test_ssl is both selected and skipped" in problems
    assert "regrtest: skip of test_ssl gives no reason" in problems
    assert "regrtest: skip of test_x gives no reason" in problems
    assert "regrtest: a test file is selected twice" in problems


# -- expected modules ----------------------------------------------------------------------


def test_modules_to_import_from_config_dir(tmp_path: Path) -> None:
    (tmp_path / "Setup.bootstrap").write_text(
        "# -*- makefile -*-\n*static*\nposix posixmodule.c\n_io _io/_iomodule.c _io/iobase.c\n"
    )
    (tmp_path / "Setup.stdlib").write_text(
        "# dbm/gdbm\n"
        "# gdbm module needs -lgdbm\n"
        "#_gdbm _gdbmmodule.c\n"
        "*static*\n"
        "_ssl _ssl.c\n"
        "#_scproxy _scproxy.c\n"
        "#_uuid _uuidmodule.c\n"
        "xxlimited_35 xxlimited_35.c\n"
    )
    (tmp_path / "Makefile").write_text(
        "MODULE__IO_STATE=yes\n"
        "MODULE_TIME_STATE=yes\n"  # no Setup line: the Makefile's name, lower-cased
        "MODULE__SSL_STATE=yes\n"
        "MODULE__GDBM_STATE=n/a\n"
        "MODULE__SCPROXY_STATE=n/a\n"
        "MODULE__UUID_STATE=missing\n"  # commented out by configure, still expected
        "MODULE_XXLIMITED_35_STATE=yes\n"
    )
    assert modules_to_import(tmp_path, {"_ssl": "deliberately left out"}) == [
        "_io",
        "_uuid",
        "posix",
        "time",
        "xxlimited_35",
    ]


def test_modules_to_import_without_config_files(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("")
    with pytest.raises(PbsError, match="has no Setup.bootstrap, Setup.stdlib"):
        modules_to_import(tmp_path, {})


# -- archives and reporting ----------------------------------------------------------------


def test_unpack_refuses_an_archive_without_python(tmp_path: Path) -> None:
    archive = tmp_path / "cpython-3.14.7-install_only.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("python/README")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(PbsError, match="not a pbs archive"):
        unpack(archive, tmp_path / "out x", tmp_path / "log", run)


def test_test_archive_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PbsError, match="no archive at"):
        run_checks(tmp_path / "nothing.tar.gz", log=tmp_path / "log", runner=run,
                   work_dir=tmp_path)


def test_render_counts_outcomes() -> None:
    results = [
        CheckResult("imports", "passed", "103 modules"),
        CheckResult("chroot", "skipped", "needs root"),
        CheckResult("ssl-system-store", "failed", "no CA certificate loaded"),
        CheckResult("sqlite3", "passed", "fts5"),
    ]
    console = Console(file=io.StringIO(), width=200)
    console.print(render(results))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "2 passed, 1 failed, 1 skipped" in text
    assert "ssl-system-store" in text and "no CA certificate loaded" in text


def test_wheel_record_matches_its_files(tmp_path: Path) -> None:
    wheel = write_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        record = archive.read("pbs_smoke_wheel-1.0.dist-info/RECORD").decode().splitlines()
        for line in record:
            name, digest, size = line.split(",")
            if not digest:
                continue
            data = archive.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == f"sha256={expected.decode()}" and int(size) == len(data)
        assert set(archive.namelist()) == {line.split(",")[0] for line in record}


# -- the pty driver (run here by the host Python) ------------------------------------------


def _pty_session(
    steps: list[list[str]], program: str, timeout: float
) -> subprocess.CompletedProcess:
    spec = {
        "argv": [sys.executable, "-c", program],
        "env": {"PATH": os.environ.get("PATH", "")},
        "steps": steps,
        "timeout": timeout,
    }
    return subprocess.run(
        [sys.executable, SCRIPTS / "pty_session.py", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_pty_session_types_and_reads() -> None:
    program = "import sys; print(sys.stdin.isatty(), input('name? ').upper())"
    done = _pty_session(
        [["expect", "name? "], ["send", "pbs\r"], ["expect", "True PBS"]], program, 20
    )
    assert done.returncode == 0, done.stdout


def test_pty_session_gives_up_at_the_deadline() -> None:
    done = _pty_session([["expect", "never printed"]], "import time; time.sleep(30)", 1)
    assert done.returncode == 3
    assert "never saw 'never printed'" in done.stdout


# -- end to end, on a real archive ---------------------------------------------------------


@pytest.fixture
def install_only_archive(e2e_build: E2EBuild) -> Path:
    """The install_only archive of the shared end-to-end build."""
    return e2e_build.dist / E2E_ARCHIVES[1]


@pytest.mark.slow
def test_real_archive_passes_every_check(install_only_archive: Path, tmp_path: Path) -> None:
    results = run_checks(install_only_archive, log=tmp_path / "test.log", runner=run)
    failures = [f"{r.name}: {r.detail}" for r in results if r.outcome == "failed"]
    assert failures == [], "\n".join(failures)
    assert {r.name for r in results} >= {"imports", "ssl-handshake", "repl-pty", "chroot"}


@pytest.mark.slow
def test_missing_module_fails_the_imports_check(install_only_archive: Path, tmp_path: Path) -> None:
    tree = tmp_path / "unpacked"
    unpack(install_only_archive, tree, tmp_path / "unpack.log", run)
    (site_packages,) = tree.glob("python/**/lib/python3.*/site-packages")
    # The module is there, but importing it fails, as it would had the build lost it.
    (site_packages / "sitecustomize.py").write_text('import sys\nsys.modules["_ssl"] = None\n')
    broken = tmp_path / install_only_archive.name
    with tarfile.open(broken, "w:gz", compresslevel=1) as tar:
        tar.add(tree / "python", arcname="python")

    results = {r.name: r for r in run_checks(broken, log=tmp_path / "test.log", runner=run)}

    assert results["imports"].outcome == "failed"
    assert "_ssl" in results["imports"].detail


def test_pbs_test_refuses_a_full_archive_whose_python_json_leads_out(tmp_path: Path) -> None:
    data = make_data()
    data["python_paths"]["stdlib"] = "install/../../victim-lib"
    archive = full_archive(tmp_path, json.dumps(data).encode())
    leftover = killed_leftover(tmp_path / "tmp", "pbs test ")
    result = subprocess.run(
        [sys.executable, "-m", "pbs", "test", str(archive)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PBS_CACHE_DIR": str(tmp_path / "cache"),
             "TMPDIR": str(tmp_path / "tmp")},
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"pbs: error: python/PYTHON.json of {archive.name} is not a valid format-8 "
        "PYTHON.json: python_paths.stdlib: 'install/../../victim-lib' must not contain '..'"
    )
    # Its own temporary directory is gone, and so is what a killed run had left.
    assert not leftover.exists()
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no host compiler for the launcher")
def test_newer_libc_reports_calls_only_an_emulator_lacks(tmp_path: Path) -> None:
    """The newer-libc script, run by this interpreter with pwritev2 failing ENOSYS (seccomp), as
    qemu-user 7.2 fails it: under an emulator that is reported, natively it fails the check."""
    launcher = tmp_path / "enosys"
    subprocess.run(["gcc", "-O2", Path(__file__).parent / "data" / "enosys.c", "-o", launcher],
                   check=True)
    if subprocess.run([launcher, "1", "true"]).returncode != 0:
        pytest.skip("seccomp filters are not allowed here")
    pwritev2 = "328"  # x86_64's system call number
    script = [launcher, pwritev2, sys.executable, "-I", SCRIPTS / "check_newer_libc.py"]
    emulated = subprocess.run(script, capture_output=True, text=True,
                              env={**os.environ, "PBS_EMULATOR": "qemu-test-static"})
    assert emulated.returncode == 0, emulated.stderr
    # errno names EOPNOTSUPP by its Linux alias, ENOTSUP
    unsupported = errno.errorcode[errno.EOPNOTSUPP]
    assert f"pwritev2 ({unsupported}: qemu-test-static lacks the call)" in emulated.stdout
    assert "memfd_create" in emulated.stdout
    native = subprocess.run(script, capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if k != "PBS_EMULATOR"})
    assert native.returncode != 0
    assert "OSError" in native.stderr


def test_the_chroot_check_lists_what_its_root_holds_besides_the_tree(tmp_path: Path) -> None:
    root = tmp_path / "chroot root"
    (root / "python" / "bin").mkdir(parents=True)
    (root / "python" / "bin" / "python3").write_text("")
    (root / "lib").mkdir()
    (root / "lib" / "ld-musl-x86_64.so.1").write_text("")
    (root / "check_imports.py").write_text("")
    assert relocation._root_listing(root) == [
        "/check_imports.py", "/lib/ld-musl-x86_64.so.1", "/python/ (the tree)"]
