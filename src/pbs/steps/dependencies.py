"""The dependency stage: every C library CPython links, each a cached step built by its recipe.

A step's key hashes everything that can change its output: its recipe module, the shared
recipe runner and this module's post-processing, the exact source file, the toolchain identity,
the target, and the keys of the steps it depends on. Build options are deliberately absent: no
dependency is built differently for PGO or LTO, so one build serves every option.
"""

from __future__ import annotations

import inspect
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pbs.arfile import undated_problems
from pbs.cache import key_of
from pbs.catalog import Target
from pbs.errors import PbsError
from pbs.sources.extract import extract_archive, source_root
from pbs.sources.fetch import Fetched
from pbs.recipes import RECIPES, base
from pbs.recipes.base import NEUTRAL_BUILD_DIR, PREFIX, BuildContext, Recipe
from pbs.runner import Runner
from pbs.steps.engine import STEP_FILE, StepEngine, StepResult
from pbs.steps.schedule import execute
from pbs.toolchain import Toolchain


@dataclass(frozen=True, kw_only=True)
class DependencyStep:
    recipe: Recipe
    fetched: Fetched
    toolchain_identity: str
    key: str
    deps: tuple[DependencyStep, ...]

    @property
    def name(self) -> str:
        return self.recipe.name

    def record(self) -> dict[str, str]:
        return {"version": self.fetched.source.version, "toolchain": self.toolchain_identity}

    def closure(self) -> list[DependencyStep]:
        """Every step this one needs, transitively, each once."""
        seen: dict[str, DependencyStep] = {}
        for dep in self.deps:
            for step in (*dep.closure(), dep):
                seen.setdefault(step.name, step)
        return list(seen.values())


@dataclass(frozen=True, kw_only=True)
class DependencyStage:
    steps: list[DependencyStep]  # dependencies before dependents
    results: list[StepResult]  # in the same order


def plan(
    recipes: Mapping[str, Recipe], fetched: Mapping[str, Fetched], toolchain: Toolchain,
    target: Target,
) -> list[DependencyStep]:
    """The steps for `recipes`, dependencies before dependents, each with its cache key."""
    steps: dict[str, DependencyStep] = {}
    visiting: set[str] = set()

    def visit(name: str) -> DependencyStep:
        if name in steps:
            return steps[name]
        if name in visiting:
            raise PbsError(f"recipes form a cycle through {name}")
        if name not in recipes:
            raise PbsError(f"no recipe named {name}; known: {', '.join(sorted(recipes))}")
        visiting.add(name)
        recipe = recipes[name]
        deps = tuple(visit(dep) for dep in recipe.deps)
        source_file = fetched[recipe.source]
        key = key_of(
            Path(inspect.getsourcefile(recipe.build) or "").read_text(),
            Path(inspect.getsourcefile(base) or "").read_text(),
            # This module's own post-processing of every step's output.
            Path(__file__).read_text(),
            source_file.artifact.sha256,
            toolchain.identity,
            repr(target),
            *(dep.key for dep in deps),
        )
        steps[name] = DependencyStep(recipe=recipe, fetched=source_file,
                                     toolchain_identity=toolchain.identity, key=key, deps=deps)
        visiting.discard(name)
        return steps[name]

    for name in recipes:
        visit(name)
    return list(steps.values())


def build_dependencies(
    fetched: Mapping[str, Fetched], *, target: Target, toolchain: Toolchain, engine: StepEngine,
    jobs: int, runner: Runner, recipes: Mapping[str, Recipe] = RECIPES,
) -> DependencyStage:
    """Build (or find cached) the step of every recipe whose source was fetched."""
    steps = plan({name: r for name, r in recipes.items() if r.source in fetched}, fetched,
                 toolchain, target)
    builder = DependencyBuilder(engine, toolchain, jobs, runner)
    return DependencyStage(steps=steps, results=execute(steps, builder.build, parallel=jobs))


class DependencyBuilder:
    """Builds one dependency step: its source unpacked, its dependencies merged, its recipe."""

    def __init__(self, engine: StepEngine, toolchain: Toolchain, jobs: int,
                 runner: Runner) -> None:
        self._engine = engine
        self._toolchain = toolchain
        self._jobs = jobs
        self._runner = runner

    def build(self, step: DependencyStep) -> StepResult:
        return self._engine.run(step, lambda work, out, log: self._build_into(step, work, out, log))

    def _build_into(self, step: DependencyStep, work: Path, out: Path, log: Path) -> None:
        unpacked = extract_archive(step.fetched.path, work / "src")
        deps_root = work / "deps-root"
        deps_root.mkdir()
        merge_outputs([self._engine.output(dep) for dep in step.closure()], deps_root)
        context = BuildContext(
            recipe=step.recipe,
            source=step.fetched.source,
            toolchain=self._toolchain,
            source_dir=source_root(unpacked),
            destdir=out,
            deps_root=deps_root,
            work_root=work,
            jobs=self._jobs,
            log=log,
            runner=self._runner,
        )
        step.recipe.build(context)
        _finish(context)


def _finish(context: BuildContext) -> None:
    prefix = context.prefix
    if not prefix.is_dir():
        raise PbsError(f"{context.recipe.name} installed nothing under {PREFIX}")
    # libtool archives name absolute build paths and are of no use to static linking.
    for archive in prefix.rglob("*.la"):
        archive.unlink()
    # Build systems copy the flags they were given (-L<merged deps>) and their source
    # directory into the files that tell consumers how to link; those must name the /deps
    # prefix and a neutral build directory, not this build's tree.
    configs = (*prefix.rglob("*.pc"), *prefix.rglob("*Config.sh"), *prefix.glob("bin/*-config"))
    neutral = {context.deps_prefix: PREFIX, context.prefix: PREFIX,
               context.work_root: NEUTRAL_BUILD_DIR}
    for build_path, placeholder in neutral.items():
        for config in configs:
            text = config.read_text()
            if str(build_path) in text:
                config.write_text(text.replace(str(build_path), placeholder))
    # The same sources must give the same bytes, whenever and by whomever they are built.
    for archive in sorted(prefix.rglob("*.a")):
        if problems := undated_problems(archive):
            more = f" (and {len(problems) - 1} more members)" if len(problems) > 1 else ""
            raise PbsError(f"{context.recipe.name}: {archive.relative_to(context.destdir)} is "
                           f"not deterministic: {problems[0]}{more}")
    licenses = prefix / "share" / "licenses" / context.recipe.name
    licenses.mkdir(parents=True, exist_ok=True)
    for name in context.source.license_files:
        shutil.copyfile(context.source_dir / name, licenses / Path(name).name)


def merge_outputs(outputs: list[Path], deps_root: Path) -> None:
    """Merge step outputs into one tree, deps_root/deps/{include,lib,…}.

    Hard links: merging costs no copying. Consumers must only read the merged tree.
    """
    for output in outputs:
        shutil.copytree(
            output / PREFIX.lstrip("/"),
            deps_root / PREFIX.lstrip("/"),
            copy_function=os.link,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(STEP_FILE),
        )
