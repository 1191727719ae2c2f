"""The command line as a user runs it: a real process, its output and exit code."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pbs.catalog import Catalog, Source
from pbs.sources.extract import extract_archive, source_root


def pbs(*args: str, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pbs", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PBS_CACHE_DIR": str(cache), **env},
        check=False,
    )


def test_unknown_python_is_one_line_listing_valid_versions(catalog: Catalog, tmp_path) -> None:
    result = pbs("fetch", "--python", "3.9", cache=tmp_path / "cache")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("pbs: error: unknown Python version '3.9'; valid versions:")
    for python in catalog.pythons:
        assert str(python.version) in result.stderr
    assert not (tmp_path / "cache").exists()


def test_unknown_target_is_one_line_listing_valid_targets(catalog: Catalog, tmp_path) -> None:
    result = pbs("fetch", "--target", "sparc-sun-solaris", cache=tmp_path / "cache")
    assert result.returncode == 2
    valid = ", ".join(target.triple for target in catalog.targets)
    assert result.stderr == f"pbs: error: unknown target 'sparc-sun-solaris'; valid targets: {valid}\n"


@pytest.mark.parametrize("options", ["pgo+lto", "lto", "pgo", "freethreaded+pgo+lto"])
def test_an_optimized_build_cannot_skip_its_tests(tmp_path, options: str) -> None:
    result = pbs("build", "--python", "3.14", "--options", options, "--no-test",
                 "--out", str(tmp_path / "dist"), cache=tmp_path / "cache")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"pbs: error: --no-test cannot be used with {options}:")
    assert "whole test suite" in result.stderr
    assert not (tmp_path / "cache").exists() and not (tmp_path / "dist").exists()


def test_ls_lists_versions_targets_options_and_sources(catalog: Catalog, tmp_path) -> None:
    result = pbs("ls", cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    for python in catalog.pythons:
        assert str(python.version) in result.stdout
    library = next(source for source in catalog.sources if source.role != "python")
    for text in (catalog.target(None).triple, "pgo+lto", "freethreaded+<base>", library.name,
                 library.version, library.license):
        assert text in result.stdout


def test_ls_one_section(catalog: Catalog, tmp_path) -> None:
    result = pbs("ls", "targets", cache=tmp_path / "cache")
    assert result.returncode == 0
    library = next(source for source in catalog.sources if source.role != "python")
    assert catalog.target(None).triple in result.stdout and library.name not in result.stdout
    for target in catalog.targets:
        row = next(line for line in result.stdout.splitlines() if f" {target.triple} " in line)
        runs = f"under {target.emulator.program}" if target.emulator else "natively"
        assert target.libc_floor in row and runs in row
        assert f" {target.march} " in row if target.march else row.split("│")[2].strip() == ""


@pytest.mark.slow
def test_fetch_python_314_for_real(catalog: Catalog, tmp_path) -> None:
    """`pbs fetch --python 3.14` gets every source, verifies it; a second run uses the cache."""
    cache = tmp_path / "cache"
    first = pbs("fetch", "--python", "3.14", cache=cache)
    assert first.returncode == 0, first.stderr
    sources = catalog.sources_for(catalog.python("3.14"), catalog.target(None))
    rows = [line for line in first.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == len(sources)
    assert "0 from the cache" in first.stdout

    second = pbs("fetch", "--python", "3.14", cache=cache)
    assert second.returncode == 0, second.stderr
    assert f"{len(sources)} from the cache" in second.stdout
    assert second.stderr == ""  # nothing was tried remotely

    fetched = {source.key: fetched_file(cache, source) for source in sources}

    # A source dir holding every file serves a fetch into a new cache without any download.
    source_dir = tmp_path / "mirror"
    source_dir.mkdir()
    for path in fetched.values():
        (source_dir / path.name).symlink_to(path)
    third = pbs("fetch", "--python", "3.14", cache=tmp_path / "cache2", PBS_SOURCE_DIR=str(source_dir))
    assert third.returncode == 0, third.stderr
    assert third.stdout.count("local dir") == len(sources)

    # Every license file the catalog names is where it says, in the fetched bytes.
    for source in sources:
        path = fetched[source.key]
        if path.suffix == ".whl":
            continue
        root = source_root(extract_archive(path, tmp_path / "unpacked" / source.key))
        for license_file in source.license_files:
            assert (root / license_file).is_file(), (source.key, license_file)


def fetched_file(cache: Path, source: Source) -> Path:
    for artifact in source.artifacts:
        path = cache / "sources" / artifact.sha256 / artifact.file
        if path.is_file():
            return path
    raise AssertionError(f"{source.key} is not in the cache")


def test_deps_refuses_unknown_options_before_any_work(tmp_path) -> None:
    result = pbs("deps", "--options", "fast", cache=tmp_path / "cache")
    assert result.returncode == 2
    assert result.stderr.startswith("pbs: error: unknown build options 'fast'; valid options:")
    assert not (tmp_path / "cache").exists()


# -- hostile and broken input: one line, the documented exit code, nothing left behind ------

QUICK_SECONDS = 60  # a bound, not the expectation: a refusal comes before any work


def refused(*args: str | Path, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run pbs on input it must refuse; the timeout keeps a regression from building."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pbs", *map(str, args)],
        capture_output=True, text=True, timeout=QUICK_SECONDS, check=False,
        env={**os.environ, "PBS_CACHE_DIR": str(cache), **env},
    )
    result.seconds = time.monotonic() - started  # type: ignore[attr-defined]
    return result


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line on stderr, without a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pbs: error: "), result.stderr
    return lines[0].removeprefix("pbs: error: ")


@pytest.mark.parametrize(("args", "message"), [
    (["build", "-j", "abc"], "argument -j/--jobs: must be a whole number of jobs, not 'abc' "
                             "(see 'pbs build --help')"),
    (["build", "-j", "0"], "argument -j/--jobs: must be at least 1, not 0"),
    (["ls", "bogus"], "argument section: invalid choice: 'bogus' (choose from 'pythons'"),
    (["bogus"], "argument COMMAND: invalid choice: 'bogus' (choose from 'build'"),
    (["link"], "the following arguments are required: FULL_ARCHIVE, -o/--out"),
])
def test_a_usage_error_is_one_line_naming_what_is_valid(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = refused(*args, cache=tmp_path / "cache")
    assert result.returncode == 2
    assert one_line(result).startswith(message)
    assert not (tmp_path / "cache").exists()


@pytest.fixture
def regular_file(tmp_path: Path) -> Path:
    path = tmp_path / "regular-file"
    path.write_text("not a directory\n")
    return path


BAD_BUILD_INPUTS = [
    (["--tag", ""], {}, "--tag must be 1 to 64 ASCII letters and digits, not ''"),
    (["--tag", "２０２６"], {}, "--tag must be 1 to 64 ASCII letters and digits, not '２０２６'"),
    (["--tag", "a" * 65], {}, "--tag must be 1 to 64 ASCII letters and digits"),
    (["--tag", "2026-01"], {}, "--tag must be 1 to 64 ASCII letters and digits"),
    ([], {"SOURCE_DATE_EPOCH": "abc"}, "SOURCE_DATE_EPOCH must be a whole number of seconds"),
    ([], {"SOURCE_DATE_EPOCH": "²"}, "SOURCE_DATE_EPOCH must be a whole number of seconds"),
    (["--out", "{regular}"], {}, "--out {regular}: {regular} is not a directory"),
    (["--out", "{regular}/dist"], {}, "--out {regular}/dist: {regular} is not a directory"),
    (["--out", "/proc/pbs-dist"], {}, "--out /proc/pbs-dist: cannot write in /proc"),
    (["--source-dir", "{tmp}/nowhere"], {}, "--source-dir {tmp}/nowhere does not exist"),
    (["--source-dir", "{regular}"], {}, "--source-dir {regular} is not a directory"),
    ([], {"PBS_SOURCE_DIR": "{tmp}/nowhere"}, "$PBS_SOURCE_DIR {tmp}/nowhere does not exist"),
]


@pytest.mark.parametrize(("args", "env", "message"), BAD_BUILD_INPUTS)
def test_bad_build_input_is_refused_before_any_work(
    tmp_path: Path, regular_file: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    def fill(text: str) -> str:
        return text.format(regular=regular_file, tmp=tmp_path)

    args = [fill(arg) for arg in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "dist")]
    result = refused("build", "--python", "3.14", "--options", "noopt", *out, *args,
                     cache=tmp_path / "cache", **{k: fill(v) for k, v in env.items()})
    assert result.returncode == 2
    assert one_line(result).startswith(fill(message))
    assert result.seconds < 10  # type: ignore[attr-defined]
    assert not (tmp_path / "cache").exists() and not (tmp_path / "dist").exists()
    assert regular_file.read_text() == "not a directory\n"


@pytest.mark.parametrize("command", ["fetch", "deps"])
def test_fetch_and_deps_refuse_a_source_dir_that_is_not_one(
    tmp_path: Path, regular_file: Path, command: str
) -> None:
    missing = refused(command, "--source-dir", tmp_path / "nowhere", cache=tmp_path / "cache")
    assert missing.returncode == 2
    assert one_line(missing) == f"--source-dir {tmp_path / 'nowhere'} does not exist"
    a_file = refused(command, cache=tmp_path / "cache", PBS_SOURCE_DIR=str(regular_file))
    assert a_file.returncode == 2
    assert one_line(a_file) == f"$PBS_SOURCE_DIR {regular_file} is not a directory"
    assert not (tmp_path / "cache").exists()


UNUSABLE_CACHES = {
    "a regular file": ("{regular}", "it is not a directory"),
    "under a regular file": ("{regular}/cache", "Not a directory"),
    "under /proc": ("/proc/pbs-cache", "No such file or directory"),
}


@pytest.mark.parametrize("where", UNUSABLE_CACHES)
@pytest.mark.parametrize(
    "command",
    [["fetch"], ["toolchain"], ["test", "{tmp}/a.tar.gz"], ["link", "{tmp}/a.tar.zst", "-o",
                                                            "{tmp}/linked"]],
    ids=["fetch", "toolchain", "test", "link"],
)
def test_an_unusable_cache_directory_is_one_line(
    tmp_path: Path, regular_file: Path, where: str, command: list[str]
) -> None:
    (tmp_path / "a.tar.gz").write_bytes(b"")
    (tmp_path / "a.tar.zst").write_bytes(b"")
    path, reason = UNUSABLE_CACHES[where]
    cache = Path(path.format(regular=regular_file))
    result = refused(*(part.format(tmp=tmp_path) for part in command), cache=cache)
    assert result.returncode == 2
    assert one_line(result) == f"cannot use {cache} as the cache directory: {reason}"
    assert regular_file.read_text() == "not a directory\n"
    assert not (tmp_path / "linked").exists()


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("{regular}", "-o {regular}: {regular} is not a directory"),
        ("{regular}/linked", "-o {regular}/linked: {regular} is not a directory"),
        ("/proc/pbs-linked", "-o /proc/pbs-linked: cannot write in /proc: No such file or "
                             "directory"),
    ],
)
def test_link_refuses_an_output_that_cannot_be_a_directory(
    tmp_path: Path, regular_file: Path, out: str, message: str
) -> None:
    archive = tmp_path / "cpython-3.14.7+1-x86_64-unknown-linux-gnu-noopt-full.tar.zst"
    archive.write_bytes(b"")
    out = out.format(regular=regular_file)
    result = refused("link", archive, "-o", out, cache=tmp_path / "cache")
    assert result.returncode == 2
    assert one_line(result) == message.format(regular=regular_file)
    assert not (tmp_path / "cache").exists()
    assert regular_file.read_text() == "not a directory\n"


@pytest.mark.parametrize(
    "command", [["test"], ["link", "-o", "{tmp}/linked"]], ids=["test", "link"]
)
def test_test_and_link_of_what_is_not_an_archive(tmp_path: Path, command: list[str]) -> None:
    verb, *options = (part.format(tmp=tmp_path) for part in command)
    cache = tmp_path / "cache"

    missing = refused(verb, tmp_path / "missing.tar.zst", *options, cache=cache)
    assert missing.returncode == 2
    assert one_line(missing) == f"no archive at {tmp_path / 'missing.tar.zst'}"

    fifo = tmp_path / "fifo.tar.zst"
    os.mkfifo(fifo)
    blocked = refused(verb, fifo, *options, cache=cache)
    assert blocked.returncode == 2
    assert one_line(blocked) == f"{fifo} is not a regular file"
    device = refused(verb, "/dev/zero", *options, cache=cache)
    assert one_line(device) == "/dev/zero is not a regular file"

    text = tmp_path / "notes.tar.zst"
    text.write_text("hello\n")
    unreadable = refused(verb, text, *options, cache=cache)
    assert unreadable.returncode == 1
    assert unreadable.stderr.splitlines()[-1] == (
        "pbs: error: cannot read archive notes.tar.zst: zstd decompress error: "
        "Unknown frame descriptor"
    )
    assert "Traceback" not in unreadable.stderr
    assert not (tmp_path / "linked").exists()
    assert not list(tmp_path.glob(".pbs-link-*"))


def test_an_unforeseen_os_error_is_one_line(tmp_path: Path) -> None:
    """The last resort: a broken cache (a directory where pbs test writes its log)."""
    archive = tmp_path / "cpython-3.14.7+1-x86_64-unknown-linux-gnu-install_only.tar.gz"
    archive.write_bytes(b"")
    log = tmp_path / "cache" / "logs" / "test" / f"{archive.name}.log"
    (log / "in-the-way").mkdir(parents=True)
    result = refused("test", archive, cache=tmp_path / "cache")
    assert result.returncode == 1
    assert one_line(result) == f"{log}: Is a directory"


# -- interruptions ---------------------------------------------------------------------------


def sleeping_archive(tmp_path: Path, pids: Path, *, ignore_term: bool) -> Path:
    """An install_only archive whose `python3` is a shell script that starts a long sleep,
    writes both pids, and waits; with `ignore_term`, both ignore SIGTERM."""
    trap = "trap '' TERM\n" if ignore_term else ""
    return archive_running(tmp_path, (
        f"#!/bin/sh\n{trap}echo $$ > '{pids}/shell'\nsleep 300 &\necho $! > '{pids}/sleep'\n"
        "wait\n"
    ))


def archive_running(tmp_path: Path, python3: str) -> Path:
    """An install_only archive whose `python3` is the script `python3`."""
    files = {
        "python/bin/python3": python3,
        "python/lib/python3.14/os.py": "",
        "python/lib/python3.14/config-3.14-x86_64-linux-gnu/Makefile": "",
        "python/lib/python3.14/config-3.14-x86_64-linux-gnu/Setup.bootstrap": "",
        "python/lib/python3.14/config-3.14-x86_64-linux-gnu/Setup.stdlib": "",
    }
    archive = tmp_path / "cpython-3.14.7+1-x86_64-unknown-linux-gnu-install_only.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(text.encode()))
    return archive


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, waiting for its parent to reap it, does not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z"


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize(
    ("signum", "ignore_term"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["SIGTERM", "SIGINT", "SIGTERM-ignored-by-the-command"],
)
def test_a_signal_stops_the_run_its_commands_and_leaves_nothing(
    tmp_path: Path, signum: signal.Signals, ignore_term: bool
) -> None:
    pids, scratch = tmp_path / "pids", tmp_path / "tmp"
    pids.mkdir()
    scratch.mkdir()
    archive = sleeping_archive(tmp_path, pids, ignore_term=ignore_term)
    process = subprocess.Popen(
        [sys.executable, "-m", "pbs", "test", str(archive)],
        env={**os.environ, "PBS_CACHE_DIR": str(tmp_path / "cache"), "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert wait_for(lambda: (pids / "sleep").is_file() and (pids / "sleep").read_text(), 60)
        shell, sleep = (int((pids / name).read_text()) for name in ("shell", "sleep"))
        # The command runs in a process group of its own: a terminal's Ctrl-C reaches pbs only.
        assert os.getpgid(shell) == shell != os.getpgid(process.pid)
        assert os.getpgid(sleep) == shell
        assert [entry.name for entry in scratch.iterdir()][0].startswith("pbs test ")
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 128 + signum
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] == f"pbs: interrupted by {signum.name}"
    # SIGTERM ends both at once; commands that ignore it get SIGKILL after the grace period.
    assert wait_for(lambda: not alive(shell) and not alive(sleep), 30)
    assert list(scratch.iterdir()) == []
    assert list((tmp_path / "cache" / "tmp").glob("*")) == []


def test_a_command_stopping_its_own_sessions_on_ctrl_c_is_given_ctrl_c_first(tmp_path: Path) -> None:
    """As regrtest does with its workers: a child in a session of its own, out of the reach of
    the signals pbs sends the command's group, killed by the command when Ctrl-C reaches it."""
    pids, scratch = tmp_path / "pids", tmp_path / "tmp"
    pids.mkdir()
    scratch.mkdir()
    archive = archive_running(tmp_path, (
        f"#!{sys.executable}\nimport os, signal, subprocess\n"
        "worker = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        f"open('{pids}/worker', 'w').write(str(worker.pid))\n"
        "try:\n    worker.wait()\n"
        "except KeyboardInterrupt:\n    os.killpg(worker.pid, signal.SIGKILL)\n    raise\n"
    ))
    process = subprocess.Popen(
        [sys.executable, "-m", "pbs", "test", str(archive)],
        env={**os.environ, "PBS_CACHE_DIR": str(tmp_path / "cache"), "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    worker = 0
    try:
        assert wait_for(lambda: (pids / "worker").is_file() and (pids / "worker").read_text(), 60)
        worker = int((pids / "worker").read_text())
        assert os.getsid(worker) == worker
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        assert wait_for(lambda: not alive(worker), 10), "the worker outlived the run"
    finally:
        process.kill()
        if worker and alive(worker):
            os.kill(worker, signal.SIGKILL)
    assert process.returncode == 128 + signal.SIGTERM
    assert list(scratch.iterdir()) == []


def test_an_out_directory_holding_an_unreadable_archive_name_is_refused(tmp_path) -> None:
    # pbs build rewrites --out's python-downloads.json after publishing; it could not.
    out = tmp_path / "dist"
    out.mkdir()
    (out / "cpython-3.14-latest.tar.gz").write_bytes(b"")
    result = pbs("build", "--python", "3.14", "--options", "noopt", "--out", str(out),
                 cache=tmp_path / "cache")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        f"pbs: error: --out {out}: cpython-3.14-latest.tar.gz: not an archive name of the form ")
    assert not (tmp_path / "cache").exists()
    assert os.listdir(out) == ["cpython-3.14-latest.tar.gz"]
