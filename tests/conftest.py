from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from pbs.cache import Cache, default_cache_root
from pbs.catalog import Catalog, load_catalog
from pbs.errors import UsageError
from pbs.host import ensure_emulation, ensure_packages, needed_packages
from pbs.pipeline import target_toolchain
from pbs.runner import CommandResult, run
from pbs.sources.debian import DebianSource
from pbs.sources.fetch import Fetcher
from pbs.toolchain import Toolchain, prepare_toolchain

MUSL_TARGET = "x86_64-unknown-linux-musl"


def pytest_configure(config: pytest.Config) -> None:
    """The Debian packages the suite needs (the toolchain's and the archive checks', for every
    target, and its own) and the foreign targets' emulators, installed and registered before
    the tests are collected, so that none is skipped for want of them; when pbs cannot, the run
    stops with the command that would."""
    log = Path(tempfile.gettempdir()) / "pbs-tests-apt.log"
    try:
        catalog = load_catalog()
        for target in catalog.targets:
            ensure_packages([*needed_packages(catalog, target, checks=True),
                             *catalog.host.test_packages], runner=run, log=log)
            ensure_emulation(target, runner=run, log=log)
    except UsageError as exc:
        pytest.exit(f"pbs tests: {exc}", returncode=2)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def toolchain(catalog: Catalog) -> Toolchain:
    """The catalogued target's toolchain, prepared in the default cache, where pbs builds and
    earlier runs leave it."""
    cache = Cache(default_cache_root())
    return prepare_toolchain(catalog.toolchain, catalog.target(None), cache, run)


@pytest.fixture(scope="session")
def musl_toolchain(catalog: Catalog) -> Toolchain:
    """The musl target's toolchain (musl fetched and built: about two minutes cold), prepared
    in the default cache, which the musl build shares."""
    cache = Cache(default_cache_root())
    fetcher = Fetcher(cache, DebianSource(catalog.debian, cache, run), run,
                      console=Console(file=io.StringIO()))
    return target_toolchain(catalog.target(MUSL_TARGET), catalog=catalog, cache=cache,
                            fetcher=fetcher, runner=run)


@dataclass(frozen=True, kw_only=True)
class Command:
    argv: list[str]
    step: str
    log: Path
    cwd: Path | None
    env: Mapping[str, str] | None


@dataclass
class RecordingRunner:
    """A Runner that runs nothing: it records each command, and answers with the output
    `outputs` gives its program (by file name) and exit code 0. `effect`, if given, does
    what the command would have done to files, for stages that read its results."""

    outputs: dict[str, str] = field(default_factory=dict)
    effect: Callable[[list[str]], None] = lambda argv: None
    commands: list[Command] = field(default_factory=list)

    def __call__(
        self,
        command: Sequence[str | Path],
        *,
        step: str,
        log: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> CommandResult:
        argv = [str(part) for part in command]
        self.commands.append(Command(argv=argv, step=step, log=log, cwd=cwd, env=env))
        self.effect(argv)
        return CommandResult(returncode=0, output=self.outputs.get(Path(argv[0]).name, ""))

    @property
    def argvs(self) -> list[list[str]]:
        return [command.argv for command in self.commands]


@pytest.fixture
def recorder() -> RecordingRunner:
    return RecordingRunner()


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


@pytest.fixture
def console() -> Console:
    """A console that records what pbs reports, for assertions."""
    return Console(file=io.StringIO(), width=300, soft_wrap=True)


def cache_entries(cache: Cache) -> list[Path]:
    """Every file under the cache's source store and staging area."""
    return [p for p in cache.root.glob("sources/**/*") if p.is_file()] + [
        p for p in cache.root.glob("tmp/*")
    ]


# The one real end-to-end build the slow tests share: CPython 3.14 noopt in a fresh cache.
E2E_TAG = "20260101"
E2E_PREFIX = f"cpython-3.14.7+{E2E_TAG}-x86_64-unknown-linux-gnu"
E2E_ARCHIVES = (
    f"{E2E_PREFIX}-noopt-full.tar.zst",
    f"{E2E_PREFIX}-install_only.tar.gz",
    f"{E2E_PREFIX}-install_only_stripped.tar.gz",
)


# A C extension module `tiny` (tiny.twice(21) == 42) that tests compile against a build.
TINY_EXTENSION = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *twice(PyObject *self, PyObject *arg) {
    return PyNumber_Multiply(arg, PyLong_FromLong(2));
}
static PyMethodDef methods[] = {{"twice", twice, METH_O, NULL}, {NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "tiny", NULL, -1, methods};
PyMODINIT_FUNC PyInit_tiny(void) { return PyModule_Create(&module); }
"""


@dataclass(frozen=True)
class E2EBuild:
    cache: Path
    dist: Path
    output: str  # what `pbs build` printed


def killed_leftover(parent: Path, prefix: str) -> Path:
    """What a pbs process killed (SIGKILL) while it used a held directory leaves behind."""
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from pbs.cache import held_directory\n"
        "with held_directory(Path(sys.argv[1]), sys.argv[2]) as work:\n"
        "    (work / 'half-written').write_text('x')\n"
        "    print(work, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(parent), prefix],
                            capture_output=True, text=True, check=False)
    assert result.returncode == -9, result.stderr
    leftover = Path(result.stdout.strip())
    assert (leftover / "half-written").is_file()
    return leftover


def pbs(*args: str | Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pbs", "--cache-dir", str(cache), *map(str, args)],
        capture_output=True, text=True, check=False,
    )


def target_archives(triple: str, tag: str, *, static: bool = False) -> tuple[str, ...]:
    """The full, install_only and stripped archives of a 3.14 noopt build for `triple`."""
    prefix = f"cpython-3.14.7+{tag}-{triple}"
    variant = "static-" if static else ""
    return (f"{prefix}-noopt{'+static' if static else ''}-full.tar.zst",
            f"{prefix}-{variant}install_only.tar.gz",
            f"{prefix}-{variant}install_only_stripped.tar.gz")


def unpacked(archive: Path, root: Path) -> Path:
    """An install_only archive unpacked in `root`: its python directory."""
    with tarfile.open(archive) as opened:
        opened.extractall(root, filter="tar")
    return root / "python"


def only_download(dist: Path, archives: Sequence[str]) -> dict[str, Any]:
    """`dist` holds exactly the archives, their sums and the uv index; the index's one entry."""
    assert sorted(p.name for p in dist.iterdir()) == sorted(
        [*archives, "SHA256SUMS", "python-downloads.json"])
    (record,) = json.loads((dist / "python-downloads.json").read_text()).values()
    return record


@dataclass(frozen=True)
class BuildReport:
    """What `pbs build` printed of validating and testing its archives."""

    output: str

    @property
    def lines(self) -> list[str]:
        return self.output.splitlines()

    def assert_validated_clean(self, archives: Sequence[str]) -> None:
        for name in archives:
            (summary,) = [line for line in self.lines
                          if line.startswith(f"validate {name}: checked ")]
            assert summary.endswith(": 0 problems"), summary

    @property
    def counts(self) -> list[str]:
        """The checks table's caption after its first two words: "0 failed, N skipped"."""
        (caption,) = [line for line in self.lines if " passed, " in line and " failed, " in line]
        return caption.split()[2:]

    @property
    def skipped(self) -> set[str]:
        return {line.split()[1] for line in self.lines
                if line.startswith("│") and " skipped " in line}

    def assert_passed(self, *checks: str) -> None:
        for check in checks:
            (row,) = [line for line in self.lines if f" {check} " in line]
            assert "passed" in row, row


@dataclass(frozen=True, kw_only=True)
class SharedBuild:
    """A `pbs build --python 3.14` that slow tests share, through the fixture of its name."""

    target: str | None  # None: the build machine's own
    options: str
    tag: str
    # A fresh cache of its own, else the default one, whose earlier builds it reuses (the
    # build machine's interpreter, which a cross build needs, among them).
    own_cache: bool = False


# In the order their tests run (the order they finish in, cold).
SHARED_BUILDS = {
    "e2e_build": SharedBuild(target=None, options="noopt", tag=E2E_TAG, own_cache=True),
    "musl_build": SharedBuild(target=MUSL_TARGET, options="noopt", tag="20260104"),
    "static_build": SharedBuild(target=MUSL_TARGET, options="noopt+static", tag="20260104"),
    "cross_build": SharedBuild(target="aarch64-unknown-linux-gnu", options="noopt",
                               tag="20260103"),
}


@dataclass(frozen=True)
class StartedBuild:
    process: subprocess.Popen[bytes]
    cache: Path | None
    dist: Path
    stdout: Path
    stderr: Path

    def finished(self) -> tuple[Path, str]:
        """Its dist directory and what it printed, once it has exited 0."""
        returncode = self.process.wait()
        assert returncode == 0, self.stderr.read_text(errors="replace")[-4000:]
        return self.dist, self.stdout.read_text()


def start_build(build: SharedBuild, root: Path) -> StartedBuild:
    dist, cache = root / "dist", (root / "cache" if build.own_cache else None)
    dist.mkdir()
    argv = [sys.executable, "-m", "pbs", *(["--cache-dir", str(cache)] if cache else []),
            "build", "--python", "3.14", *(["--target", build.target] if build.target else []),
            "--options", build.options, "--tag", build.tag, "--out", str(dist),
            "-j", str(os.cpu_count() or 1)]
    stdout, stderr = root / "stdout", root / "stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    return StartedBuild(process=process, cache=cache, dist=dist, stdout=stdout, stderr=stderr)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need no shared build first, while the builds run; then each build's, in
    SHARED_BUILDS' order: no test waits behind a build it does not need."""
    builds = list(SHARED_BUILDS)

    def waits_for(item: pytest.Item) -> int:
        return max((builds.index(name) + 1 for name in getattr(item, "fixturenames", ())
                    if name in SHARED_BUILDS), default=0)

    items.sort(key=waits_for)


@pytest.fixture(scope="session", autouse=True)
def shared_builds(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, StartedBuild]]:
    """Every shared build a selected test needs, started together when the session starts, so
    that one build's serial stretches (configure scripts, links, tests under an emulator)
    overlap the others' compiling and the quick tests run meanwhile."""
    needed = {name for item in request.session.items for name in item.fixturenames}
    started = {name: start_build(build, tmp_path_factory.mktemp(name))
               for name, build in SHARED_BUILDS.items() if name in needed}
    yield started
    for build in started.values():
        if build.process.poll() is None:
            build.process.terminate()
            build.process.wait()


@pytest.fixture(scope="session")
def e2e_build(shared_builds: dict[str, StartedBuild]) -> E2EBuild:
    """`pbs build --python 3.14 --options noopt` in a fresh cache, which also validates and
    tests its archives."""
    build = shared_builds["e2e_build"]
    dist, output = build.finished()
    assert build.cache is not None
    return E2EBuild(cache=build.cache, dist=dist, output=output)
