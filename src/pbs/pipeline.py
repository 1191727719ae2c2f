"""`pbs build` from request to archives: fetch, toolchain, dependencies, CPython, package."""

from __future__ import annotations

import datetime
import hashlib
import os
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from pbs.buildpaths import machine_needles
from pbs.cache import Cache
from pbs.catalog import BuildOptions, Catalog, MuslSysroot, Python, Source, Target
from pbs.cpython.build_python import BuildPythonStep, build_build_python, plan_build_python
from pbs.cpython.compiler import select_compiler
from pbs.cpython.step import build_cpython, plan_cpython
from pbs.sources.fetch import Fetched, Fetcher
from pbs.inputs import source_date_epoch
from pbs.names import ArchiveNames
from pbs.package import SHA256SUMS, package, recover
from pbs.release import install_only_decision
from pbs.steps.dependencies import DependencyStage, build_dependencies
from pbs.steps.engine import Progress, StepEngine, StepResult
from pbs.loader import ToolchainLibc
from pbs.runner import Runner
from pbs.toolchain import LOADER_DIR, Toolchain, prepare_toolchain
from pbs.uvindex import Index, current_settings, write_index
from pbs.verify import Verification, reject_failures, test_staged, validate_staged

PIP_SOURCE = "pip"


@dataclass(frozen=True, kw_only=True)
class BuildRequest:
    python: Python
    target: Target
    options: BuildOptions
    jobs: int
    out: Path
    tag: str
    run_tests: bool = True  # `pbs test` of the full archive before publishing
    full_regrtest: bool = False  # that test runs CPython's whole test suite, not the selection


@dataclass(frozen=True, kw_only=True)
class BuildReport:
    deps: list[StepResult]
    cpython: StepResult  # its output holds `python/`, the full archive's tree
    archives: list[Path]
    sha256sums: Path
    index: Index  # the output directory's python-downloads.json, for uv
    notes: tuple[str, ...]  # what the user should know about the output directory
    verification: Verification
    seconds: float


def default_tag() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")


def release_epoch(tag: str) -> int:
    """The build's date, in sys.version and as every archive member's mtime:
    SOURCE_DATE_EPOCH if set; otherwise midnight UTC of a date tag; otherwise 0."""
    if (epoch := source_date_epoch()) is not None:
        return epoch
    try:
        day = datetime.datetime.strptime(tag, "%Y%m%d").replace(tzinfo=datetime.UTC)
    except ValueError:
        return 0
    return int(day.timestamp())


def target_toolchain(
    target: Target, *, catalog: Catalog, cache: Cache, fetcher: Fetcher, runner: Runner,
) -> Toolchain:
    """The toolchain for `target`, with the sources it builds its libc from fetched first."""
    libc = {source.name: fetcher.fetch(source) for source in catalog.toolchain_sources(target)}
    return prepare_toolchain(catalog.toolchain, target, cache, runner, libc)


def toolchain_libc(toolchain: Toolchain) -> ToolchainLibc | None:
    """The target's libc, from its toolchain, where the build machine has none (musl's): its
    loader, laid over /lib to run the target's programs and the chroot check's one library, and
    the toolchain's compiler."""
    sysroot = toolchain.target.sysroot
    if isinstance(sysroot, MuslSysroot):
        return ToolchainLibc(loader=toolchain.root / LOADER_DIR / sysroot.dynamic_linker,
                             cc=toolchain.cc, ld=toolchain.llvm_bin / "ld.lld")
    return None


def dependency_stage(
    sources: list[Source], *, target: Target, catalog: Catalog, cache: Cache, fetcher: Fetcher,
    engine: StepEngine, jobs: int, runner: Runner,
) -> tuple[Toolchain, dict[str, Fetched], DependencyStage]:
    """The toolchain, the fetched `sources`, and the steps of the libraries among them:
    what `pbs deps` does, and the first half of `pbs build`."""
    cache.sweep_staging()
    toolchain = target_toolchain(target, catalog=catalog, cache=cache, fetcher=fetcher,
                                 runner=runner)
    fetched = {source.name: fetcher.fetch(source) for source in sources}
    deps = build_dependencies(fetched, target=target, toolchain=toolchain, engine=engine,
                              jobs=jobs, runner=toolchain.runner_for(runner))
    return toolchain, fetched, deps


def native_build_python(
    python: Python, source: Fetched, *, catalog: Catalog, cache: Cache, engine: StepEngine,
    jobs: int, runner: Runner,
) -> BuildPythonStep:
    """The build machine's interpreter of `python`, built (or found cached) for a cross build."""
    toolchain = prepare_toolchain(catalog.toolchain, catalog.build_machine, cache, runner)
    step = plan_build_python(python, source, toolchain)
    build_build_python(step, engine=engine, toolchain=toolchain, jobs=jobs, runner=runner)
    return step


def run_build(
    request: BuildRequest, catalog: Catalog, cache: Cache, fetcher: Fetcher,
    progress: Progress, runner: Runner,
) -> BuildReport:
    started = time.monotonic()
    with publish_lock(cache, request.out):
        recover(request.out)
    engine = StepEngine(cache, progress)
    toolchain, fetched, deps = dependency_stage(
        catalog.sources_for(request.python, request.target), target=request.target,
        catalog=catalog, cache=cache, fetcher=fetcher, engine=engine, jobs=request.jobs,
        runner=runner)
    epoch = release_epoch(request.tag)
    python_source = fetched[catalog.python_source(request.python).name]
    build_python = None
    if request.target.emulator is not None:
        build_python = native_build_python(request.python, python_source, catalog=catalog,
                                           cache=cache, engine=engine, jobs=request.jobs,
                                           runner=runner)
    step = plan_cpython(
        python=request.python,
        options=request.options,
        configure_options=(
            *catalog.options.configure_args(request.options, request.python.version,
                                            request.target),
            *catalog.cpython_cross_configure(request.target),
        ),
        bolt=catalog.options.bolt_for(request.options, request.target, request.python.version),
        patches=catalog.patches_for(request.python.version, request.options,
                                    request.target.libc),
        excluded_modules=catalog.excluded_for(request.python.version),
        setup_rules=catalog.setup_rules_for(request.python.version),
        compiler=select_compiler(
            catalog.options.compiler_for(request.python.version, request.target.libc), toolchain,
            log=cache.log("toolchain", "versions.log"), runner=runner,
        ),
        target=request.target,
        source=python_source,
        pip=fetched[PIP_SOURCE],
        libc=next((fetcher.fetch(source) for source in catalog.toolchain_sources(request.target)
                   if source.role == "libc"), None),
        deps=deps.steps,
        build_date=epoch,
        build_python=build_python,
    )
    cpython = build_cpython(step, engine=engine, toolchain=toolchain, jobs=request.jobs,
                            runner=toolchain.runner_for(runner))
    names = ArchiveNames(
        version=str(request.python.version),
        tag=request.tag,
        triple=request.target.triple,
        options=str(request.options),
        variant=catalog.release.variant(str(request.options)),
    )
    checks_log = cpython.log.with_suffix(".checks.log")
    checks_log.unlink(missing_ok=True)
    # What names the build machine: the cache holds the staging trees, sources and toolchain;
    # LLVM lives beside it; and the directories of the machine pbs runs on.
    forbidden = [str(cache.root.resolve()), str(toolchain.llvm_bin.parent),
                 *machine_needles(catalog.toolchain.python_package)]
    verified: list[Verification] = []

    def verify(staged: list[Path]) -> None:
        clock = time.monotonic()
        progress.started("validate", checks_log, False)
        validations = validate_staged(staged, target=request.target, forbidden_paths=forbidden,
                                      isa=catalog.isa, log=checks_log)
        progress.finished("validate", False, time.monotonic() - clock)
        tests = ()
        if request.run_tests:
            clock = time.monotonic()
            progress.started("test", checks_log, False)
            tests = test_staged(staged, full_regrtest=request.full_regrtest, log=checks_log,
                                runner=runner, libc=toolchain_libc(toolchain))
            progress.finished("test", False, time.monotonic() - clock)
        verified.append(Verification(validations=validations, tests=tests))
        reject_failures(verified[0], checks_log)

    with publish_lock(cache, request.out):
        install_only = install_only_decision(request.out, names, catalog.release)
        archives = package(
            cpython.output, request.out, names, mtime=epoch,
            strip=toolchain.tool("strip"), log=cpython.log.with_suffix(".package.log"),
            runner=runner, check=verify,
            install_only=catalog.release.install_only if install_only.write else None,
        )
        index = write_index(request.out, catalog, current_settings(request.out, catalog))
    notes = (install_only.note,) if install_only.note else ()
    return BuildReport(deps=deps.results, cpython=cpython, archives=archives,
                       sha256sums=request.out / SHA256SUMS, index=index,
                       notes=(*notes, *index.notes), verification=verified[0],
                       seconds=time.monotonic() - started)


def publish_lock(cache: Cache, out: Path) -> AbstractContextManager[None]:
    """The right to publish into `out`. Runs publishing into one directory at once would race
    for SHA256SUMS, the shared install_only names and the index: one at a time decides, checks
    and publishes."""
    name = f"out-{hashlib.sha256(os.fsencode(out.resolve())).hexdigest()[:16]}"
    return cache.lock(name, what=f"another pbs run publishing into {out}")
