"""`pbs build` from request to archives: fetch, toolchain, dependencies, CPython, package."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pbs.cache import Cache
from pbs.catalog import BuildOptions, Catalog, Python, Target
from pbs.cpython.compiler import select_compiler
from pbs.cpython.step import CPythonResult, CPythonRunner, plan_cpython
from pbs.fetch import Fetcher
from pbs.graph import StepResult, StepRunner, execute, plan
from pbs.inputs import source_date_epoch
from pbs.package import SHA256SUMS, ArchiveNames, package, recover
from pbs.recipes import RECIPES
from pbs.runner import Runner
from pbs.toolchain import prepare_toolchain
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
    cpython: CPythonResult
    archives: list[Path]
    sha256sums: Path
    verification: Verification
    seconds: float


class Progress(Protocol):
    """Told when each step starts and ends (a live view, or nothing)."""

    def started(self, name: str, log: Path, cached: bool) -> None: ...

    def finished(self, name: str, cached: bool, seconds: float) -> None: ...


def default_tag() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")


def archive_mtime(tag: str) -> int:
    """SOURCE_DATE_EPOCH if set; otherwise midnight UTC of a date tag; otherwise 0."""
    if (epoch := source_date_epoch()) is not None:
        return epoch
    try:
        day = datetime.datetime.strptime(tag, "%Y%m%d").replace(tzinfo=datetime.UTC)
    except ValueError:
        return 0
    return int(day.timestamp())


def run_build(
    request: BuildRequest, catalog: Catalog, cache: Cache, fetcher: Fetcher,
    progress: Progress, runner: Runner,
) -> BuildReport:
    started = time.monotonic()
    cache.sweep_staging()
    recover(request.out)
    toolchain = prepare_toolchain(catalog.toolchain, request.target, cache, runner)
    fetched = {
        source.name: fetcher.fetch(source)
        for source in catalog.sources_for(request.python, request.target)
    }
    recipes = {name: r for name, r in RECIPES.items() if r.source in fetched}
    steps = plan(recipes, fetched, toolchain, request.target)
    deps_runner = StepRunner(cache, toolchain, request.jobs, runner)
    cpython_runner = CPythonRunner(cache, toolchain, deps_runner, request.jobs, runner)
    deps = execute(
        steps,
        deps_runner,
        parallel=request.jobs,
        on_start=lambda s: progress.started(s.name, deps_runner.log(s), deps_runner.is_cached(s)),
        on_done=lambda r: progress.finished(r.step.name, r.cached, r.seconds),
    )
    step = plan_cpython(
        python=request.python,
        options=request.options,
        configure_options=catalog.options.configure_args(request.options, request.python.version),
        bolt=catalog.options.bolt_for(request.options, request.target.arch, request.python.version),
        patches=catalog.patches_for(request.python.version),
        excluded_modules=catalog.excluded_for(request.python.version),
        setup_rules=catalog.setup_rules_for(request.python.version),
        compiler=select_compiler(
            catalog.options.compiler_for(request.python.version), toolchain,
            log=cache.logs / "toolchain" / "versions.log", runner=runner,
        ),
        target=request.target,
        source=fetched[catalog.python_source(request.python).name],
        pip=fetched[PIP_SOURCE],
        deps=steps,
    )
    progress.started(step.name, cpython_runner.log(step), cpython_runner.is_cached(step))
    cpython = cpython_runner.build(step)
    progress.finished(step.name, cpython.cached, cpython.seconds)
    names = ArchiveNames(
        version=str(request.python.version),
        tag=request.tag,
        triple=request.target.triple,
        options=str(request.options),
        freethreaded=request.options.freethreaded,
    )
    checks_log = cpython.log.with_suffix(".checks.log")
    checks_log.unlink(missing_ok=True)
    # What names the build machine: the cache holds the staging trees, sources and toolchain;
    # LLVM lives beside it.
    forbidden = [str(cache.root.resolve()), str(toolchain.llvm_bin.parent)]
    verified: list[Verification] = []

    def verify(staged: list[Path]) -> None:
        clock = time.monotonic()
        progress.started("validate", checks_log, False)
        validations = validate_staged(staged, target=request.target, forbidden_paths=forbidden,
                                      log=checks_log)
        progress.finished("validate", False, time.monotonic() - clock)
        tests = ()
        if request.run_tests:
            clock = time.monotonic()
            progress.started("test", checks_log, False)
            tests = test_staged(staged, full_regrtest=request.full_regrtest, log=checks_log,
                                runner=runner)
            progress.finished("test", False, time.monotonic() - clock)
        verified.append(Verification(validations=validations, tests=tests))
        reject_failures(verified[0], checks_log)

    archives = package(
        cpython.output.parent, request.out, names, mtime=archive_mtime(request.tag),
        strip=toolchain.tool("strip"), log=cpython.log.with_suffix(".package.log"),
        runner=runner, check=verify,
    )
    return BuildReport(deps=deps, cpython=cpython, archives=archives,
                       sha256sums=request.out / SHA256SUMS,
                       verification=verified[0], seconds=time.monotonic() - started)
