"""The CPython build as one cached step on top of the dependency steps.

Its key hashes the pbs code it runs (this module and what it imports, see INERT_CODE), the
CPython and pip files, the build date (it is in sys.version), the
build options and their configure arguments, the patches, the deliberate module exclusions,
the compiler identity and flags, the target and its compiler flags, and every dependency step's key. Its output is the
finished `python/` tree of a full archive; packaging only archives it, so archives rebuilt
from the cache are byte-identical.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pbs.buildpaths import machine_needles
from pbs.cache import key_of
from pbs.catalog import BoltSpec, BuildOptions, Python, SourcePatch, Target
from pbs.cpython.assemble import Dependency, Distribution, interpreter_facts
from pbs.cpython.build import INSTALL_PREFIX, CPythonBuild
from pbs.cpython.build_python import PREFIX as BUILD_PYTHON_PREFIX
from pbs.cpython.build_python import BuildPythonStep
from pbs.cpython.compiler import CPythonCompiler
from pbs.cpython.modules import ModuleTable
from pbs.cpython.relocate import Rewrites, relocate
from pbs.sources.extract import extract_archive, source_root
from pbs.sources.fetch import Fetched
from pbs.recipes.base import NEUTRAL_BUILD_DIR, NEUTRAL_TOOLCHAIN_DIR, PREFIX, SOURCE_DATE_EPOCH
from pbs.runner import Runner
from pbs.steps.code import code_texts
from pbs.steps.dependencies import DependencyStep, merge_outputs
from pbs.steps.engine import StepEngine, StepResult
from pbs.toolchain import Toolchain

# What the key need not hash of the code this module imports: what cannot change the output
# (the cache, the runner, errors, the live view; the catalog's reader and the fetchers, whose
# data and files enter the key as values and hashes), and what the dependency steps' keys and
# the toolchain's identity, both part of this key, hash already.
INERT_CODE = frozenset({
    "pbs.cache", "pbs.runner", "pbs.errors", "pbs.progress", "pbs.catalog", "pbs.sources.fetch",
    "pbs.sources.debian", "pbs.steps", "pbs.recipes", "pbs.toolchain",
})


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
    libc: Fetched | None  # a libc built from source (musl): its license ships with the build
    deps: tuple[DependencyStep, ...]
    build_date: int  # seconds since 1970: the date and time sys.version shows
    build_python: BuildPythonStep | None  # the build machine's interpreter, for a cross build
    key: str

    @property
    def name(self) -> str:
        return f"cpython-{self.python.version}-{self.options}"

    def record(self) -> dict[str, str]:
        return {"python": str(self.python.version), "options": str(self.options)}

    def closure(self) -> list[DependencyStep]:
        """Every dependency step the build merges, each once."""
        return list({s.name: s for dep in self.deps for s in (*dep.closure(), dep)}.values())


def plan_cpython(
    *, python: Python, options: BuildOptions, configure_options: tuple[str, ...],
    bolt: BoltSpec | None, patches: tuple[SourcePatch, ...], excluded_modules: frozenset[str],
    setup_rules: tuple[str, ...] | None,
    compiler: CPythonCompiler, target: Target, source: Fetched, pip: Fetched,
    libc: Fetched | None = None,
    deps: list[DependencyStep], build_date: int,
    build_python: BuildPythonStep | None = None,
) -> CPythonStep:
    key = key_of(
        *code_texts(__name__, inert=INERT_CODE),
        source.artifact.sha256,
        pip.artifact.sha256,
        libc.artifact.sha256 if libc else "",
        str(options),
        *configure_options,
        repr(bolt),
        repr(patches),
        *sorted(excluded_modules),
        repr(setup_rules),
        compiler.identity,
        repr(compiler.spec),  # its flags: the identity names only its version
        target.triple,
        *target.cflags,
        *(dep.key for dep in deps),
        str(build_date),
        build_python.key if build_python else "",
    )
    return CPythonStep(
        python=python, options=options, configure_options=configure_options, bolt=bolt,
        patches=patches, excluded_modules=excluded_modules, setup_rules=setup_rules,
        compiler=compiler, target=target, source=source, pip=pip, libc=libc, deps=tuple(deps),
        build_date=build_date, build_python=build_python, key=key,
    )


def build_cpython(step: CPythonStep, *, engine: StepEngine, toolchain: Toolchain,
                  jobs: int, runner: Runner) -> StepResult:
    """The step's output directory holds `python/`, the full archive's tree."""

    def build_into(work: Path, out: Path, log: Path) -> None:
        job = CPythonJob(
            step=step, toolchain=toolchain, runner=runner, jobs=jobs, work=work,
            root=out / "python", log=log,
            cache_root=engine.cache_root,
            dependency_outputs={s.name: engine.output(s) for s in step.closure()},
            build_python=(step.build_python.interpreter(engine.output(step.build_python))
                          if step.build_python else None),
        )
        for stage in STAGES:
            with log.open("a") as sink:
                sink.write(f"## stage: {stage.__name__}\n")
            stage(job)

    return engine.run(step, build_into)


@dataclass(kw_only=True)
class CPythonJob:
    """What the stages share: the step, where it is built, and what earlier stages made."""

    step: CPythonStep
    toolchain: Toolchain
    runner: Runner
    jobs: int
    work: Path  # the staging directory: source, merged dependencies, compiler wrappers
    root: Path  # the `python/` directory of the full archive being made
    log: Path
    cache_root: Path  # named by the sources' debug paths: mapped away on relocation
    dependency_outputs: Mapping[str, Path]  # dependency step name -> its cached output
    build_python: Path | None  # the build machine's interpreter, for a cross build
    table: ModuleTable | None = None  # set by compile_cpython
    relocated: list[Path] = field(default_factory=list)  # files make_relocatable rewrote

    @cached_property
    def source_dir(self) -> Path:
        return source_root(self.work / "src")

    @property
    def deps_prefix(self) -> Path:
        return self.work / "deps-root" / PREFIX.lstrip("/")

    @cached_property
    def cpython(self) -> CPythonBuild:
        step = self.step
        return CPythonBuild(
            python=step.python, options=step.options, configure_options=step.configure_options,
            bolt=step.bolt, patches=step.patches, excluded_modules=step.excluded_modules,
            setup_rules=step.setup_rules, toolchain=self.toolchain, compiler=step.compiler,
            source_dir=self.source_dir, deps_prefix=self.deps_prefix, work_root=self.work,
            destdir=self.root, jobs=self.jobs, log=self.log, runner=self.runner,
            build_date=step.build_date,
            build_python=self.build_python,
        )

    @property
    def install(self) -> Path:
        return self.cpython.install_dir

    @property
    def python(self) -> Path:
        return self.install / "bin" / f"python{self.step.python.minor}"

    def compile_bytecode(self, paths: list[Path]) -> None:
        """Bytecode as `make install` writes it: every optimization level, hash-checked
        (SOURCE_DATE_EPOCH), naming the files by their /install path."""
        self.runner([self.python, "-m", "compileall", "-q", "-j0", "-o", "0", "-o", "1",
                     "-o", "2", "-s", str(self.install), "-p", INSTALL_PREFIX, *paths],
                    step="compile bytecode", log=self.log,
                    env={"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
                         **self.step.target.emulator_env})


def unpack_source(job: CPythonJob) -> None:
    extract_archive(job.step.source.path, job.work / "src")


def merge_dependencies(job: CPythonJob) -> None:
    merge_outputs(list(job.dependency_outputs.values()), job.work / "deps-root")


def compile_cpython(job: CPythonJob) -> None:
    job.table = job.cpython.build()


def install_pip(job: CPythonJob) -> None:
    wheel = job.step.pip.path
    # pip runs from its own wheel to install itself: nothing from the network or the host,
    # and nothing written to the (nonexistent) home.
    job.cpython.run([job.python, wheel / "pip", "install", "--no-index", "--no-deps",
                     "--no-compile", "--no-cache-dir", "--disable-pip-version-check",
                     "--no-warn-script-location", "--root-user-action=ignore", wheel])
    # PEP 610's record of where the wheel came from names the cache: not for users.
    for record in job.install.glob("lib/python3*/site-packages/pip-*.dist-info/direct_url.json"):
        record.unlink()
        listing = record.parent / "RECORD"
        listing.write_text("".join(
            line for line in listing.read_text().splitlines(keepends=True)
            if not line.startswith(f"{record.parent.name}/direct_url.json,")
        ))
    job.compile_bytecode(sorted(job.install.glob("lib/python3*/site-packages")))


def add_tcl_tk_libraries(job: CPythonJob) -> None:
    # Tcl/Tk find their script libraries at <exe>/../lib/tcl8.6 and tk8.6.
    for library in sorted((job.deps_prefix / "lib").glob("t[ck]*")):
        if library.is_dir():
            shutil.copytree(library, job.install / "lib" / library.name, dirs_exist_ok=True)


def make_relocatable(job: CPythonJob) -> None:
    env = job.cpython.env()
    tools = {env["CC"]: "cc", env["AR"]: "ar", f"{job.toolchain.llvm_bin}/": ""}
    # A cross build's configure arguments name the build machine's interpreter: under its own
    # prefix, not the cache's step directory.
    build_python = ({str(job.build_python.parents[1]): BUILD_PYTHON_PREFIX}
                    if job.build_python else {})
    job.relocated = relocate(job.install, Rewrites(
        tools=tools,
        build_dirs={**build_python,
                    str(job.deps_prefix): PREFIX,
                    str(job.source_dir): f"{NEUTRAL_BUILD_DIR}/cpython",
                    str(job.work): NEUTRAL_BUILD_DIR, str(job.cache_root): NEUTRAL_BUILD_DIR,
                    # The compiler's own headers: only -ffile-prefix-map flags name it.
                    str(job.toolchain.llvm_bin.parent): f"{NEUTRAL_TOOLCHAIN_DIR}/llvm"},
    ), machine_needles())


def compile_rewritten_bytecode(job: CPythonJob) -> None:
    # The rewritten sources (sysconfig data) need their bytecode made again.
    job.compile_bytecode(job.relocated)


def assemble_distribution(job: CPythonJob) -> None:
    assert job.table is not None, "compile_cpython runs first"
    facts = interpreter_facts(job.cpython, job.python)
    # musl is linked into every program (its start files; all of libc.a for +static): its
    # license ships beside the dependencies'.
    libc = []
    if job.step.libc is not None:
        source = job.step.libc.source
        unpacked = source_root(extract_archive(job.step.libc.path, job.work / "libc"))
        license_dir = job.work / "libc-licenses" / source.name
        license_dir.mkdir(parents=True)
        for name in source.license_files:
            shutil.copyfile(unpacked / name, license_dir / Path(name).name)
        libc = [Dependency(name=source.name, source=source, libraries={},
                           license_dir=license_dir)]
    dependencies = [
        Dependency(
            name=s.name,
            source=s.fetched.source,
            libraries={
                lib.name.removeprefix("lib").removesuffix(".a"): job.deps_prefix / "lib" / lib.name
                for lib in (job.dependency_outputs[s.name] / PREFIX.lstrip("/") / "lib").glob("*.a")
            },
            license_dir=job.dependency_outputs[s.name] / PREFIX.lstrip("/") / "share" / "licenses"
            / s.name,
        )
        for s in job.step.closure()
    ] + libc
    Distribution(
        build=job.cpython, table=job.table, target=job.step.target, options=job.step.options,
        python_source=job.step.source.source, dependencies=dependencies, root=job.root,
    ).assemble(facts)


# The build, in order.
STAGES: tuple[Callable[[CPythonJob], None], ...] = (
    unpack_source,
    merge_dependencies,
    compile_cpython,
    install_pip,
    add_tcl_tk_libraries,
    make_relocatable,
    compile_rewritten_bytecode,
    assemble_distribution,
)
