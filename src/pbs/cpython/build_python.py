"""The build machine's own CPython, for cross builds: configure's `--with-build-python`.

A cross build of CPython runs an interpreter of the very same version on the build machine to
freeze modules, generate code and compile bytecode. That needs no extension module of the C
dependencies, so it is built without them, noopt, by the build machine's toolchain: a cached
step like any other, shared by every cross build of that version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pbs.cache import key_of
from pbs.catalog import Python
from pbs.runner import Runner
from pbs.sources.extract import extract_archive, source_root
from pbs.sources.fetch import Fetched
from pbs.steps.engine import StepEngine, StepResult
from pbs.toolchain import Toolchain

PREFIX = "/build-python"


@dataclass(frozen=True, kw_only=True)
class BuildPythonStep:
    python: Python
    source: Fetched
    toolchain_identity: str
    key: str

    @property
    def name(self) -> str:
        return f"build-python-{self.python.version}"

    def record(self) -> dict[str, str]:
        return {"python": str(self.python.version), "toolchain": self.toolchain_identity}

    def interpreter(self, output: Path) -> Path:
        """The interpreter inside the step's output directory."""
        return output / PREFIX.lstrip("/") / "bin" / f"python{self.python.minor}"


def plan_build_python(python: Python, source: Fetched, toolchain: Toolchain) -> BuildPythonStep:
    key = key_of(Path(__file__).read_text(), source.artifact.sha256, toolchain.identity)
    return BuildPythonStep(python=python, source=source, toolchain_identity=toolchain.identity,
                           key=key)


def build_build_python(step: BuildPythonStep, *, engine: StepEngine, toolchain: Toolchain,
                       jobs: int, runner: Runner) -> StepResult:
    """Build (or find cached) the step; its output holds the installed interpreter."""

    def build(work: Path, out: Path, log: Path) -> None:
        extract_archive(step.source.path, work / "src")
        source = source_root(work / "src")

        # No pkg-config search path: the host's .pc files (zlib's) would have configure build
        # modules whose headers the toolchain's sysroot does not have.
        env = {**toolchain.env(), "PKG_CONFIG_LIBDIR": "", "PKG_CONFIG_PATH": ""}

        def run(*command: str) -> None:
            runner(list(command), step=f"build the build machine's python {step.python.version}",
                   log=log, cwd=source, env=env)

        run("./configure", f"--prefix={PREFIX}", "--with-ensurepip=no", "--disable-test-modules")
        run("make", f"-j{jobs}")
        run("make", "install", f"DESTDIR={out}")

    return engine.run(step, build)
