"""The distribution's system-level API against a reference: the public names that a build of the
same CPython source against the build machine's own glibc has (catalog/api.toml)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from pbs.catalog import ApiSpec, Target
from pbs.runner import Runner
from pbs.smoke.result import CheckResult, failed, passed, skipped
from pbs.smoke.scripted import scripted
from pbs.smoke.tree import SCRIPTS, InstallTree

REFERENCES = Path(__file__).parent.parent / "catalog" / "api"


@dataclass(frozen=True, kw_only=True)
class ModuleApi:
    """One module of a distribution against the reference."""

    module: str
    present: int  # reference names the distribution has
    missing: tuple[str, ...]  # reference names it lacks, with no exception
    excepted: dict[str, str]  # reference names it lacks by a documented exception -> reason
    extra: tuple[str, ...]  # names it has beyond the reference (newer kernel headers)

    def summary(self) -> str:
        return (f"{self.module}: {self.present} present, {len(self.missing)} missing, "
                f"{len(self.excepted)} excepted, {len(self.extra)} extra")


def reference_path(version: Version) -> Path:
    return REFERENCES / f"{version}.json"


@dataclass(frozen=True, kw_only=True)
class PublicNames:
    """An interpreter's public names per module (None: the module does not import)."""

    python: Version
    build: str  # its sys.version
    names: dict[str, list[str] | None]


def public_names(python: Path | str, modules: tuple[str, ...], *, runner: Runner,
                 log: Path) -> PublicNames:
    """What scripts/api_names.py finds when `python` runs it."""
    output = runner([python, "-I", SCRIPTS / "api_names.py", *modules],
                    step="list public names", log=log).output
    found = json.loads(output.strip().splitlines()[-1])
    return PublicNames(python=Version(found["python"]), build=found["build"], names=found["names"])


def compare(reference: dict[str, list[str] | None], built: dict[str, list[str] | None],
            spec: ApiSpec, version: Version, target: Target) -> list[ModuleApi]:
    """Each module of the reference against the built distribution's, for `target`."""
    modules = []
    for module, wanted in reference.items():
        expected = set(wanted or ())
        have = set(built.get(module) or ())
        lacking = sorted(expected - have)
        excepted = {name: exception.reason for name in lacking
                    if (exception := spec.excepted(module, name, version, target))}
        modules.append(ModuleApi(
            module=module, present=len(expected & have),
            missing=tuple(name for name in lacking if name not in excepted),
            excepted=excepted, extra=tuple(sorted(have - expected))))
    return modules




def api_names(tree: InstallTree, spec: ApiSpec, target: Target) -> CheckResult:
    """Every public name of the reference is present, or excepted with a documented reason
    (for the archive's target: the reference is a build for the build machine's glibc)."""
    name = "api-names"
    found = public_names(tree.python, spec.modules, runner=tree.runner, log=tree.log)
    version = found.python
    reference = reference_path(version)
    if not reference.is_file():
        return skipped(name, f"no reference list for CPython {version}; make one with: "
                             f"PYTHONPATH=src python3 -m pbs.apinames <a host-glibc build of "
                             f"{version}>")
    expected = json.loads(reference.read_text())["names"]
    modules = compare(expected, found.names, spec, version, target)
    missing = [f"{m.module}: {', '.join(m.missing)}" for m in modules if m.missing]
    if missing:
        return failed(name, "lacks names a host-glibc build has: " + "; ".join(missing))
    return passed(name, "; ".join(m.summary() for m in modules))


def newer_libc(tree: InstallTree) -> CheckResult:
    emulator = {"PBS_EMULATOR": Path(tree.emulator.program).name} if tree.emulator else {}
    return scripted(tree, "newer-libc", "check_newer_libc", env=emulator)
