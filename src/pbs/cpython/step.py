"""The CPython build as one cached step on top of the dependency steps.

Its key hashes this package's code, the PYTHON.json writer, the CPython and pip files, the
build options and their configure arguments, the deliberate module exclusions, the compiler
identity, the target and every dependency step's key. Its output is the finished `python/`
tree of a full archive; packaging only archives it, so archives rebuilt from the cache are
byte-identical.
"""

from __future__ import annotations

import inspect
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from pbs import buildpaths, metadata, typedjson
from pbs.cache import Cache, key_of
from pbs.catalog import BoltSpec, BuildOptions, Python, SourcePatch, Target
from pbs.cpython import assemble, bolt, build, compiler, modules, patches, relocate
from pbs.cpython.assemble import Dependency, Distribution, interpreter_facts
from pbs.cpython.build import INSTALL_PREFIX, SOURCE_DATE_EPOCH, CPythonBuild
from pbs.cpython.compiler import CPythonCompiler
from pbs.cpython.relocate import Rewrites
from pbs.extract import extract_archive, source_root
from pbs.fetch import Fetched
from pbs.graph import STEP_FILE, Step, StepRunner, merge_outputs
from pbs.recipes.base import NEUTRAL_BUILD_DIR, NEUTRAL_TOOLCHAIN_DIR, PREFIX
from pbs.runner import run
from pbs.toolchain import Toolchain

CODE = (assemble, bolt, build, compiler, modules, patches, relocate, metadata, typedjson, buildpaths)


@dataclass(frozen=True, kw_only=True)
class CPythonStep:
    python: Python
    options: BuildOptions
    configure_options: tuple[str, ...]
    bolt: BoltSpec | None
    patches: tuple[SourcePatch, ...]
    excluded_modules: frozenset[str]
    setup_rules: tuple[str, ...] | None
    compiler: CPythonCompiler
    target: Target
    source: Fetched
    pip: Fetched
    deps: tuple[Step, ...]
    key: str

    @property
    def name(self) -> str:
        return f"cpython-{self.python.version}-{self.options}"


@dataclass(frozen=True, kw_only=True)
class CPythonResult:
    step: CPythonStep
    cached: bool
    seconds: float
    output: Path  # the `python/` directory of the full archive
    log: Path


def plan_cpython(
    *, python: Python, options: BuildOptions, configure_options: tuple[str, ...],
    bolt: BoltSpec | None, patches: tuple[SourcePatch, ...], excluded_modules: frozenset[str],
    setup_rules: tuple[str, ...] | None,
    compiler: CPythonCompiler, target: Target, source: Fetched, pip: Fetched, deps: list[Step],
) -> CPythonStep:
    key = key_of(
        *(Path(inspect.getsourcefile(module) or "").read_text() for module in CODE),
        Path(__file__).read_text(),
        source.artifact.sha256,
        pip.artifact.sha256,
        str(options),
        *configure_options,
        repr(bolt),
        repr(patches),
        *sorted(excluded_modules),
        repr(setup_rules),
        compiler.identity,
        repr(compiler.spec),  # its flags: the identity names only its version
        target.triple,
        *(dep.key for dep in deps),
    )
    return CPythonStep(
        python=python, options=options, configure_options=configure_options, bolt=bolt,
        patches=patches, excluded_modules=excluded_modules, setup_rules=setup_rules, compiler=compiler, target=target,
        source=source, pip=pip,
        deps=tuple(deps), key=key,
    )


class CPythonRunner:
    def __init__(self, cache: Cache, toolchain: Toolchain, deps: StepRunner, jobs: int) -> None:
        self._cache = cache
        self._toolchain = toolchain
        self._deps = deps
        self._jobs = jobs

    def output(self, step: CPythonStep) -> Path:
        return self._cache.root / "steps" / f"{step.name}-{step.key}"

    def log(self, step: CPythonStep) -> Path:
        return self._cache.logs / "steps" / f"{step.name}-{step.key}.log"

    def is_cached(self, step: CPythonStep) -> bool:
        return (self.output(step) / STEP_FILE).is_file()

    def build(self, step: CPythonStep) -> CPythonResult:
        started = time.monotonic()
        final = self.output(step)
        log = self.log(step)
        with self._cache.lock(f"step-{step.key}"):
            if not self.is_cached(step):
                log.parent.mkdir(parents=True, exist_ok=True)
                log.write_text(f"# {step.name} key {step.key}\n")
                with self._cache.staging() as staging:
                    out = staging / "out"
                    self._build_into(step, staging, out / "python", log)
                    (out / STEP_FILE).write_text(json.dumps(
                        {"name": step.name, "key": step.key,
                         "seconds": round(time.monotonic() - started, 1)}, indent=2))
                    self._cache.publish(out, final)
                return CPythonResult(step=step, cached=False, seconds=time.monotonic() - started,
                                     output=final / "python", log=log)
        return CPythonResult(step=step, cached=True, seconds=0.0, output=final / "python", log=log)

    def _build_into(self, step: CPythonStep, staging: Path, root: Path, log: Path) -> None:
        source_dir = source_root(extract_archive(step.source.path, staging / "src"))
        deps_root = staging / "deps-root"
        closure = {s.name: s for dep in step.deps for s in (*dep.closure(), dep)}
        merge_outputs([self._deps.output(s) for s in closure.values()], deps_root)
        deps_prefix = deps_root / PREFIX.lstrip("/")
        cpython = CPythonBuild(
            python=step.python, options=step.options, configure_options=step.configure_options,
            bolt=step.bolt, patches=step.patches, excluded_modules=step.excluded_modules,
            setup_rules=step.setup_rules, toolchain=self._toolchain, compiler=step.compiler,
            source_dir=source_dir, deps_prefix=deps_prefix, work_root=staging,
            destdir=root, jobs=self._jobs, log=log,
        )
        table = cpython.build()
        install = cpython.install_dir
        python = install / "bin" / f"python{step.python.minor}"
        self._install_pip(cpython, python, step.pip.path, install)
        # Tcl/Tk find their script libraries at <exe>/../lib/tcl8.6 and tk8.6.
        for library in sorted((deps_prefix / "lib").glob("t[ck]*")):
            if library.is_dir():
                shutil.copytree(library, install / "lib" / library.name, dirs_exist_ok=True)
        env = cpython.env()
        tools = {env["CC"]: "cc", env["AR"]: "ar", f"{self._toolchain.llvm_bin}/": ""}
        rewritten = relocate.relocate(install, Rewrites(
            tools=tools,
            build_dirs={str(deps_prefix): PREFIX, str(source_dir): f"{NEUTRAL_BUILD_DIR}/cpython",
                        str(staging): NEUTRAL_BUILD_DIR, str(self._cache.root): NEUTRAL_BUILD_DIR,
                        # The compiler's own headers: only -ffile-prefix-map flags name it.
                        str(self._toolchain.llvm_bin.parent): f"{NEUTRAL_TOOLCHAIN_DIR}/llvm"},
        ))
        self._compile(cpython, python, install, rewritten)
        facts = interpreter_facts(cpython, python)
        dependencies = [
            Dependency(
                name=s.name,
                source=s.fetched.source,
                libraries={
                    lib.name.removeprefix("lib").removesuffix(".a"): deps_prefix / "lib" / lib.name
                    for lib in (self._deps.output(s) / PREFIX.lstrip("/") / "lib").glob("*.a")
                },
                license_dir=self._deps.output(s) / PREFIX.lstrip("/") / "share" / "licenses" / s.name,
            )
            for s in closure.values()
        ]
        Distribution(
            build=cpython, table=table, target=step.target, options=step.options,
            python_source=step.source.source, dependencies=dependencies, root=root,
        ).assemble(facts)

    def _install_pip(self, cpython: CPythonBuild, python: Path, wheel: Path, install: Path) -> None:
        # pip runs from its own wheel to install itself: nothing from the network or the host.
        cpython.run([python, wheel / "pip", "install", "--no-index", "--no-deps", "--no-compile",
                     "--disable-pip-version-check", "--no-warn-script-location",
                     "--root-user-action=ignore", wheel])
        # PEP 610's record of where the wheel came from names the cache: not for users.
        for record in install.glob("lib/python3*/site-packages/pip-*.dist-info/direct_url.json"):
            record.unlink()
            listing = record.parent / "RECORD"
            listing.write_text("".join(
                line for line in listing.read_text().splitlines(keepends=True)
                if not line.startswith(f"{record.parent.name}/direct_url.json,")
            ))
        self._compile(cpython, python, install, sorted(install.glob("lib/python3*/site-packages")))

    @staticmethod
    def _compile(cpython: CPythonBuild, python: Path, install: Path, paths: list[Path]) -> None:
        """Bytecode as `make install` writes it: every optimization level, hash-checked
        (SOURCE_DATE_EPOCH), naming the files by their /install path."""
        run([python, "-m", "compileall", "-q", "-j0", "-o", "0", "-o", "1", "-o", "2",
             "-s", str(install), "-p", INSTALL_PREFIX, *paths],
            step="compile bytecode", log=cpython.log, env={"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
