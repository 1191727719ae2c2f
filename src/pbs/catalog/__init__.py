"""The catalog: every pinned fact pbs builds from, loaded from the TOML files beside this module.

Lookups that take user input (`python`, `target`, `parse_options`) raise `UsageError` naming
the unknown value and listing the valid ones.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from pbs.catalog.model import (
    ApiException,
    ApiSpec,
    Artifact,
    BoltOmission,
    BoltSpec,
    BuildOptions,
    CompilerSpec,
    CPythonTargetSettings,
    DebianArchive,
    DebianLocation,
    DispatchedCode,
    Emulator,
    GlibcSysroot,
    HeaderEdit,
    HostSpec,
    InstallOnlySpec,
    IsaLevel,
    IsaSpec,
    LibcCompat,
    LibcPatch,
    MuslSysroot,
    OptionsGrammar,
    PyPILocation,
    Python,
    PythonCompiler,
    PythonConfigure,
    RegrtestPlan,
    ReleaseSpec,
    Source,
    SourcePatch,
    Target,
    TargetChecks,
    ToolchainSpec,
)
from pbs.errors import CatalogError, UsageError

__all__ = [
    "ApiException",
    "ApiSpec",
    "Artifact",
    "BoltSpec",
    "BuildOptions",
    "Catalog",
    "CompilerSpec",
    "DebianArchive",
    "DebianLocation",
    "Emulator",
    "GlibcSysroot",
    "HeaderEdit",
    "IsaSpec",
    "LibcCompat",
    "LibcPatch",
    "MuslSysroot",
    "PyPILocation",
    "Python",
    "RegrtestPlan",
    "SourcePatch",
    "Source",
    "Target",
    "TargetChecks",
    "ToolchainSpec",
    "VDSO",
    "load_catalog",
]

SHA256 = re.compile(r"^[0-9a-f]{64}$")
ROLES = ("python", "library", "build-input", "wheel", "libc", "patches")
# Roles of the sources a toolchain is built from (a libc and its patches), not a build.
TOOLCHAIN_ROLES = ("libc", "patches")
PYTHON_SOURCE = "cpython"
# Whose compiler-rt builtins a toolchain can link: Debian's LLVM's, or zig's.
COMPILER_RTS = ("llvm", "debian", "zig")
# The library the kernel maps into every process: an ELF file may need it; no file holds it.
VDSO = "linux-vdso.so.1"


@dataclass(frozen=True, kw_only=True)
class Catalog:
    sources: tuple[Source, ...]
    pythons: tuple[Python, ...]
    targets: tuple[Target, ...]
    cross_configure: tuple[str, ...]  # configure's results a cross build of CPython is given
    cpython_targets: dict[str, CPythonTargetSettings]  # triple -> how CPython is built for it
    target_checks: dict[str, TargetChecks]  # triple -> its checks' compiler, where not `cc`
    options: OptionsGrammar
    debian: DebianArchive
    toolchain: ToolchainSpec
    excluded_modules: dict[str, str]  # extension module -> why pbs leaves it out
    excluded_python: dict[str, SpecifierSet]  # extension module -> versions it is excluded from
    module_wrappers: dict[str, tuple[str, ...]]  # extension module -> stdlib paths only for it
    setup_py_python: SpecifierSet  # versions whose configure leaves Setup.stdlib to setup.py
    setup_py_rules: tuple[str, ...]  # Setup lines for the modules only their setup.py knows
    regrtest: RegrtestPlan
    patches: tuple[SourcePatch, ...]  # edits of CPython's sources
    release: ReleaseSpec
    host: HostSpec
    api: ApiSpec
    isa: IsaSpec

    # -- lookups of user input -------------------------------------------------------------

    def python(self, spec: str | None) -> Python:
        """The catalogued Python for `3.14`, `3.14.7`, or (None) the newest final release."""
        ordered = sorted(self.pythons, key=lambda p: p.version)
        if spec is None:
            finals = [p for p in ordered if not p.version.is_prerelease]
            return finals[-1]
        matches = [p for p in ordered if spec in (str(p.version), p.minor)]
        if not matches:
            valid = ", ".join(f"{p.minor} ({p.version})" for p in ordered)
            raise UsageError(f"unknown Python version '{spec}'; valid versions: {valid}")
        return matches[-1]

    @property
    def build_machine(self) -> Target:
        """The target of the machine pbs runs on: the first one, which needs no emulator."""
        return self.targets[0]

    def target(self, triple: str | None) -> Target:
        """The catalogued target for `triple`, or (None) the first one, the host's."""
        if triple is None:
            return self.targets[0]
        for target in self.targets:
            if target.triple == triple:
                return target
        valid = ", ".join(t.triple for t in self.targets)
        raise UsageError(f"unknown target '{triple}'; valid targets: {valid}")

    def target_of_archive(self, archive: Path) -> Target:
        """The target whose triple an archive's name carries (`cpython-V+TAG-TRIPLE-…`)."""
        named = [t for t in self.targets if f"-{t.triple}-" in archive.name]
        if not named:
            valid = ", ".join(t.triple for t in self.targets)
            raise UsageError(
                f"cannot tell the target of {archive.name} from its name; "
                f"pass --target (valid targets: {valid})"
            )
        return named[0]

    def parse_options(self, text: str | None, python: Python, target: Target) -> BuildOptions:
        """Parse `[prefix+]base[+suffix]` and check the python and target support it."""
        text = self.options.default if text is None else text
        rest, prefixes, suffixes = text, [], []
        for prefix in self.options.prefixes:
            if rest.startswith(prefix + "+"):
                prefixes.append(prefix)
                rest = rest[len(prefix) + 1 :]
        for suffix in self.options.suffixes:
            if rest.endswith("+" + suffix):
                suffixes.append(suffix)
                rest = rest[: -len(suffix) - 1]
        if rest not in self.options.bases:
            valid = ", ".join(self.options.spellings())
            raise UsageError(f"unknown build options '{text}'; valid options: {valid}")
        for prefix in prefixes:
            supported = self.options.prefixes[prefix]
            if not supported.contains(python.version, prereleases=True):
                raise UsageError(
                    f"build option '{prefix}' needs Python {supported}, not {python.version}"
                )
        bases = self.cpython_targets[target.triple].option_bases
        if bases and rest not in bases:
            raise UsageError(f"{target.triple} is built only as {', '.join(bases)}, not {rest}")
        for suffix in suffixes:
            libcs = self.options.suffixes[suffix]
            if target.libc not in libcs:
                raise UsageError(
                    f"build option '{suffix}' needs a {'/'.join(libcs)} target, "
                    f"not {target.triple}"
                )
        return BuildOptions(base=rest, prefixes=tuple(prefixes), suffixes=tuple(suffixes))

    # -- derived facts ---------------------------------------------------------------------

    def excluded_for(self, version: Version) -> frozenset[str]:
        """The extension modules left out of builds of CPython `version`."""
        return frozenset(name for name, versions in self.excluded_python.items()
                         if versions.contains(version, prereleases=True))

    def setup_rules_for(self, version: Version) -> tuple[str, ...] | None:
        """For versions of the setup.py era, the Setup lines pbs adds to Setup.local (then
        Setup.stdlib goes in too); None when configure's own module tables cover everything."""
        if self.setup_py_python.contains(version, prereleases=True):
            return self.setup_py_rules
        return None

    def patches_for(self, version: Version, options: BuildOptions,
                    libc: str) -> tuple[SourcePatch, ...]:
        """The edits made to CPython `version`'s sources before configure, for `options` on a
        target of the C library `libc`."""
        return tuple(patch for patch in self.patches
                     if patch.python.contains(version, prereleases=True)
                     and set(patch.options) <= set(options.parts)
                     and libc in (patch.libc or (libc,)))

    def python_source(self, python: Python) -> Source:
        return self.source(PYTHON_SOURCE, str(python.version))

    def source(self, name: str, version: str) -> Source:
        for source in self.sources:
            if source.name == name and source.version == version:
                return source
        raise CatalogError(f"the catalog has no source {name} {version}")

    def library(self, name: str) -> Source:
        """The one catalogued version of a non-Python source."""
        found = [s for s in self.sources if s.name == name and s.role != "python"]
        if len(found) != 1:
            raise CatalogError(f"the catalog has {len(found)} versions of {name}, expected one")
        return found[0]

    def cpython_cross_configure(self, target: Target) -> tuple[str, ...]:
        """configure arguments stating what a cross build of CPython for `target` cannot probe
        (none for the build machine's own targets)."""
        if target.emulator is None:
            return ()
        return (*self.cross_configure, *self.cpython_targets[target.triple].cpython_configure)

    def sources_for(self, python: Python, target: Target) -> list[Source]:
        """Every source a build of `python` for `target` reads, the CPython release first."""
        # Every catalogued target builds the same library set; a libc built from source, and
        # its patches, are the toolchain's (toolchain_sources).
        del target
        others = [s for s in self.sources if s.role not in ("python", *TOOLCHAIN_ROLES)
                  and s.needed_by(python.version)]
        return [self.python_source(python), *others]

    def toolchain_sources(self, target: Target) -> tuple[Source, ...]:
        """The sources `target`'s toolchain builds its sysroot from: a libc and the sources
        holding its patches (none for a glibc sysroot, assembled from zig's files)."""
        if not isinstance(target.sysroot, MuslSysroot):
            return ()
        names = (target.sysroot.source,
                 *(p.patch_source for p in self.toolchain.libc_patches
                   if p.source == target.sysroot.source))
        return tuple(self.library(name) for name in dict.fromkeys(names))

    # -- consistency -----------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Every inconsistency in the data; empty when the catalog is sound."""
        found: list[str] = []
        seen_sources: set[tuple[str, str]] = set()
        seen_files: set[str] = set()
        for source in self.sources:
            ident = (source.name, source.version)
            if ident in seen_sources:
                found.append(f"source {source.key} is listed twice")
            seen_sources.add(ident)
            if not source.license.strip():
                found.append(f"source {source.key} has no license")
            if not source.license_files:
                found.append(f"source {source.key} names no license file")
            if source.role not in ROLES:
                found.append(f"source {source.key} has unknown role '{source.role}'")
            if not source.artifacts:
                found.append(f"source {source.key} has no artifact")
            for artifact in source.artifacts:
                where = f"source {source.key} artifact {artifact.file}"
                if not SHA256.match(artifact.sha256):
                    found.append(f"{where}: sha256 is not 64 lowercase hex digits")
                if artifact.size is not None and artifact.size <= 0:
                    found.append(f"{where}: size must be positive")
                if not (artifact.urls or artifact.debian or artifact.pypi):
                    found.append(f"{where}: names no location")
                if artifact.file in seen_files:
                    found.append(f"{where}: file name used by another artifact")
                seen_files.add(artifact.file)
                if "/" in artifact.file or (artifact.debian and "/" in artifact.debian.file):
                    found.append(f"{where}: a file name must not contain '/'")
        for rule in self.setup_py_rules:
            if "=" in rule:
                found.append(f"setup rule '{rule}' contains '=': makesetup would read it as a "
                             "variable definition")
        versions = [p.version for p in self.pythons]
        if len(set(versions)) != len(versions):
            found.append("a Python version is listed twice")
        for python in self.pythons:
            if (PYTHON_SOURCE, str(python.version)) not in seen_sources:
                found.append(f"python {python.version} has no '{PYTHON_SOURCE}' source")
        if not any(not p.version.is_prerelease for p in self.pythons):
            found.append("no final Python release to build by default")
        python_sources = {s.version for s in self.sources if s.role == "python"}
        for orphan in python_sources - {str(v) for v in versions}:
            found.append(f"cpython source {orphan} is not a catalogued python")
        triples = [t.triple for t in self.targets]
        if not triples:
            found.append("no target")
        if len(set(triples)) != len(triples):
            found.append("a target is listed twice")
        if self.targets and self.targets[0].emulator is not None:
            found.append(f"the first target, {self.targets[0].triple}, is the build machine's "
                         "own: it must not need an emulator")
        for target in self.targets[1:]:
            if target.arch != self.targets[0].arch and target.emulator is None:
                found.append(f"target {target.triple} is foreign to the build machine and names "
                             "no emulator")
        libcs = {target.libc for target in self.targets}
        arches = {target.arch for target in self.targets}
        for patch in self.patches:
            if unknown_libcs := set(patch.libc) - libcs:
                found.append(f"patches.toml: {patch.name} names libc "
                             f"{', '.join(sorted(unknown_libcs))}, which no target has")
        for exception in self.api.exceptions:
            if exception.libc is not None and exception.libc not in libcs:
                found.append(f"api.toml: an exception of {exception.module} names libc "
                             f"{exception.libc}, which no target has")
            if exception.unless_arch is not None and exception.unless_arch not in arches:
                found.append(f"api.toml: an exception of {exception.module} names arch "
                             f"{exception.unless_arch}, which no target has")
        if self.toolchain.runtime_package not in self.toolchain.debian_packages:
            found.append(f"the toolchain's runtime package {self.toolchain.runtime_package} is "
                         "not one of its Debian packages")
        for target in self.targets:
            settings = self.cpython_targets.get(target.triple, CPythonTargetSettings())
            if unknown := set(settings.option_bases) - set(self.options.bases):
                found.append(f"target {target.triple}: option bases are no options: "
                             f"{', '.join(sorted(unknown))}")
            if target.sysroot.compiler_rt not in COMPILER_RTS:
                found.append(f"target {target.triple}: compiler_rt is not one of "
                             f"{', '.join(COMPILER_RTS)}")
            if (target.sysroot.compiler_rt == "debian") != (target.sysroot.debian_arch is not None):
                found.append(f"target {target.triple}: debian_arch is given exactly when "
                             "compiler_rt is \"debian\"")
            if not target.allowed_libraries:
                found.append(f"target {target.triple} allows no run-time library")
            if any(not bundle.startswith("/") for bundle in target.ca_bundles):
                found.append(f"target {target.triple}: a CA bundle path is not absolute")
            if target.march and target.march not in {level.name for level in self.isa.levels}:
                found.append(f"target {target.triple}: march {target.march} is no level of "
                             "isa.toml")
            unstubbed = set(target.allowed_libraries) - {*target.sysroot.provides, VDSO}
            if unstubbed:
                found.append(f"target {target.triple} allows libraries its sysroot lacks: "
                             f"{', '.join(sorted(unstubbed))}")
        for part in (*self.options.bases, *self.options.prefixes, *self.options.suffixes):
            if part not in self.options.configure:
                found.append(f"options '{part}' has no configure arguments in options.toml")
        found += _regrtest_problems(self.regrtest)
        unknown_bolt = set(self.options.bolt.bases) - set(self.options.bases)
        if unknown_bolt:
            found.append(f"BOLT names unknown options bases: {', '.join(sorted(unknown_bolt))}")
        unknown_suffixes = set(self.options.bolt_excluded_suffixes) - set(self.options.suffixes)
        if unknown_suffixes:
            found.append(f"BOLT excludes unknown options suffixes: "
                         f"{', '.join(sorted(unknown_suffixes))}")
        for name, bases in (("LTO", self.options.lto_bases),
                            ("full_regrtest", self.options.full_regrtest_bases)):
            unknown = set(bases) - set(self.options.bases)
            if unknown:
                found.append(f"{name} names unknown options bases: {', '.join(sorted(unknown))}")
        known_compilers = set(self.options.compilers)
        for name in (*self.options.bolt.compilers,
                     *(rule.compiler for rule in self.options.python_compilers)):
            if name not in known_compilers:
                found.append(f"compiler '{name}' is not one of {', '.join(sorted(known_compilers))}")
        for python in self.pythons:
            for libc in sorted(libcs):
                count = sum(rule.covers(python.version, libc)
                            for rule in self.options.python_compilers)
                if count != 1:
                    found.append(f"python {python.version} on {libc} matches {count} compiler "
                                 "rules, not one")
        for omission in self.options.bolt_omissions:
            unknown_flags = set(omission.flags) - set(self.options.bolt.apply)
            if unknown_flags:
                found.append(f"BOLT omits flags it does not apply: {', '.join(sorted(unknown_flags))}")
            unknown_bases = set(omission.bases) - set(self.options.bolt.bases)
            if unknown_bases:
                found.append(f"BOLT omits flags for bases it does not optimize: "
                             f"{', '.join(sorted(unknown_bases))}")
        source_names = {source.name for source in self.sources}
        for patch in self.toolchain.libc_patches:
            if not {patch.source, patch.patch_source} <= source_names:
                found.append(f"libc patch {patch.file} names a source the catalog lacks")
            if not patch.reason.strip():
                found.append(f"libc patch {patch.file} gives no reason")
        for target in self.targets:
            if isinstance(target.sysroot, MuslSysroot) and target.libc != "musl":
                found.append(f"target {target.triple}: a musl sysroot for libc {target.libc}")
        if self.options.default not in self.options.bases:
            found.append(f"default options '{self.options.default}' is not a base")
        found += _release_problems(self.release, self.options)
        return found


def _release_problems(release: ReleaseSpec, options: OptionsGrammar) -> list[str]:
    found = []
    parts = {*options.bases, *options.prefixes, *options.suffixes}
    if unknown := set(release.variant_parts) - parts:
        found.append(f"release.toml: variant parts are no options: {', '.join(sorted(unknown))}")
    optimizations = [base for base in options.bases if base not in release.variant_parts]
    if sorted(release.optimization_order) != sorted(optimizations):
        found.append(f"release.toml: optimization_order must order {', '.join(optimizations)}")
    elif release.optimization_order[0] != options.default:
        found.append("release.toml: optimization_order must begin with the default options "
                     f"'{options.default}'")
    return found


def _regrtest_problems(plan: RegrtestPlan) -> list[str]:
    found = []
    for name in (*plan.selection, *plan.skip_files):
        if not re.fullmatch(r"test_\w+", name):
            found.append(f"regrtest: '{name}' is not a test file name (test_...)")
    for name in plan.skip_files:
        if name in plan.selection and name not in plan.skip_options:
            found.append(f"regrtest: {name} is both selected and skipped")
    for name, reason in (*plan.skip_files.items(), *plan.skip_tests.items()):
        if not reason.strip():
            found.append(f"regrtest: skip of {name} gives no reason")
    if len(set(plan.selection)) != len(plan.selection):
        found.append("regrtest: a test file is selected twice")
    return found


# -- loading ---------------------------------------------------------------------------------


def load_catalog(directory: Path | None = None) -> Catalog:
    """Read the catalog TOML files (default: the ones shipped in this package)."""
    root = directory or Path(str(resources.files(__package__)))
    try:
        sources = _read(root / "sources.toml")["source"]
        pythons = _read(root / "pythons.toml")["python"]
        target_file = _read(root / "targets.toml")
        targets = _inherited(target_file["target"])
        options = _read(root / "options.toml")["options"]
        debian_file = _read(root / "debian.toml")["debian"]
        debian = DebianArchive(
            suites=tuple(debian_file["suites"]),
            security_suites=tuple(debian_file["security_suites"]),
            components=tuple(debian_file["components"]),
            keyring=debian_file["keyring"],
        )
        toolchain_file = _read(root / "toolchain.toml")
        toolchain = toolchain_file["toolchain"]
        modules = _read(root / "modules.toml")["modules"]
        regrtest = _read(root / "regrtest.toml")["regrtest"]
        patches = _read(root / "patches.toml")["patch"]
        release = _read(root / "release.toml")
        host = _read(root / "host.toml")["host"]
        api = _read(root / "api.toml")
        isa = _read(root / "isa.toml")
        return Catalog(
            sources=tuple(_source(s) for s in sources),
            pythons=tuple(Python(version=_version(p["version"])) for p in pythons),
            targets=tuple(_target(t) for t in targets),
            cross_configure=tuple(target_file["cross"]["cpython_configure"]),
            cpython_targets={
                raw["triple"]: CPythonTargetSettings(
                    cpython_configure=tuple(raw.get("cpython_configure", ())),
                    option_bases=tuple(raw.get("option_bases", ())))
                for raw in targets
            },
            target_checks={
                raw["triple"]: TargetChecks(cc=raw["checks"]["cc"],
                                            packages=tuple(raw["checks"]["packages"]))
                for raw in targets if "checks" in raw
            },
            options=_options(options),
            debian=debian,
            excluded_modules={
                name: spec["reason"] for name, spec in modules.get("excluded", {}).items()
            },
            excluded_python={
                name: _specifier(spec.get("python", ""))
                for name, spec in modules.get("excluded", {}).items()
            },
            module_wrappers={
                name: tuple(paths) for name, paths in modules.get("wrappers", {}).items()
            },
            setup_py_python=_specifier(modules["setup_py_era"]["python"]),
            setup_py_rules=tuple(modules["setup_py_era"]["rules"]),
            regrtest=RegrtestPlan(
                selection=tuple(regrtest["selection"]),
                resources=tuple(regrtest["resources"]),
                skip_files={name: skip if isinstance(skip, str) else skip["reason"]
                            for name, skip in regrtest.get("skip_files", {}).items()},
                skip_tests={name: skip if isinstance(skip, str) else skip["reason"]
                            for name, skip in regrtest.get("skip_tests", {}).items()},
                skip_tests_python={name: _specifier(skip["python"])
                                   for name, skip in regrtest.get("skip_tests", {}).items()
                                   if not isinstance(skip, str) and "python" in skip},
                skip_tests_libc={name: tuple(skip["libc"])
                                 for name, skip in regrtest.get("skip_tests", {}).items()
                                 if not isinstance(skip, str) and "libc" in skip},
                skip_tests_emulated=frozenset(
                    name for name, skip in regrtest.get("skip_tests", {}).items()
                    if not isinstance(skip, str) and skip.get("emulated", False)),
                skip_options={name: tuple(skip["options"])
                              for table in ("skip_files", "skip_tests")
                              for name, skip in regrtest.get(table, {}).items()
                              if not isinstance(skip, str) and "options" in skip},
            ),
            patches=tuple(
                SourcePatch(name=patch["name"], file=patch["file"],
                            python=_specifier(patch["python"]), find=patch["find"],
                            replace=patch["replace"], options=tuple(patch.get("options", ())),
                            libc=tuple(patch.get("libc", ())))
                for patch in patches
            ),
            toolchain=ToolchainSpec(
                llvm_major=toolchain["llvm_major"],
                debian_packages=tuple(toolchain["debian_packages"]),
                runtime_package=toolchain["runtime_package"],
                debian=debian,
                python_package=toolchain["python_package"],
                libc_compat=tuple(
                    LibcCompat(
                        name=row["name"],
                        functions=tuple(row["functions"]),
                        glibc=Version(row["glibc"]),
                        header=row.get("header"),
                        gate=row.get("gate"),
                    )
                    for row in toolchain_file["libc_compat"]
                ),
                header_edits=tuple(
                    HeaderEdit(header=row["header"], find=row["find"], replace=row["replace"])
                    for row in toolchain_file["header_edit"]
                ),
                libc_patches=tuple(
                    LibcPatch(source=row["source"], patch_source=row["patch_source"],
                              file=row["file"], reason=row["reason"])
                    for row in toolchain_file.get("libc_patch", [])
                ),
                build_triple=targets[0]["host_triple"],
            ),
            release=ReleaseSpec(
                variant_parts=tuple(release["release"]["variant_parts"]),
                optimization_order=tuple(release["release"]["optimization_order"]),
                index_flavors=tuple(release["release"]["index_flavors"]),
                index_file=release["release"]["index_file"],
                uv_arch_families=dict(release["uv"]["arch_families"]),
                uv_variants=tuple(release["uv"]["variants"]),
                install_only=InstallOnlySpec(
                    left_out_names=tuple(release["install_only"]["left_out_names"]),
                    test_packages=tuple(PurePosixPath(path) for path
                                        in release["install_only"]["test_packages"]),
                    test_extensions=frozenset(release["install_only"]["test_extensions"]),
                ),
            ),
            host=HostSpec(packages=tuple(host["packages"]),
                          test_packages=tuple(host["test_packages"])),
            api=ApiSpec(
                modules=tuple(api["modules"]),
                exceptions=tuple(
                    ApiException(module=row["module"], names=tuple(row["names"]),
                                 python=_specifier(row["python"]), reason=row["reason"],
                                 libc=row.get("libc"), unless_arch=row.get("unless_arch"))
                    for row in api["exception"]
                ),
            ),
            isa=IsaSpec(
                levels=tuple(IsaLevel(name=row["name"], features=tuple(row["features"]))
                             for row in isa["level"]),
                same_below={row["mnemonic"]: row["reason"] for row in isa["same_below"]},
                symbol_suffixes=tuple(isa["symbols"]["suffixes"]),
                unreachable_symbols=tuple(isa["symbols"]["unreachable"]),
                dispatched=tuple(
                    DispatchedCode(name=row["name"], functions=tuple(row["functions"]),
                                   features=frozenset(row["features"]), reason=row["reason"])
                    for row in isa["dispatched"]
                ),
            ),
        )
    except KeyError as missing:
        raise CatalogError(f"catalog in {root}: missing field {missing}") from None
    except TypeError as wrong:
        raise CatalogError(f"catalog in {root}: {wrong}") from None


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"cannot read catalog file {path}: {exc}") from None


def _version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise CatalogError(f"catalog: '{text}' is not a version") from None


def _specifier(text: str) -> SpecifierSet:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise CatalogError(f"catalog: '{text}' is not a version specifier") from None


def _source(raw: dict[str, Any]) -> Source:
    return Source(
        name=raw["name"],
        version=raw["version"],
        role=raw["role"],
        license=raw["license"],
        license_files=tuple(raw["license_files"]),
        requires_python=_specifier(raw.get("requires_python", "")),
        artifacts=tuple(_artifact(a) for a in raw.get("artifact", [])),
    )


def _artifact(raw: dict[str, Any]) -> Artifact:
    debian = raw.get("debian")
    pypi = raw.get("pypi")
    return Artifact(
        file=raw["file"],
        sha256=raw["sha256"],
        size=raw.get("size"),
        urls=tuple(raw.get("urls", ())),
        debian=DebianLocation(**debian) if debian else None,
        pypi=PyPILocation(**pypi) if pypi else None,
    )


def _inherited(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target's facts, those of the target it is `like` below its own."""
    by_triple = {raw["triple"]: raw for raw in targets}
    found = []
    for raw in targets:
        if "like" in raw:
            if raw["like"] not in by_triple or "like" in by_triple[raw["like"]]:
                raise CatalogError(f"target {raw['triple']}: like names no target of its own: "
                                   f"{raw['like']}")
            raw = {**by_triple[raw.pop("like")], **raw}
        found.append(raw)
    return found


def _target(raw: dict[str, Any]) -> Target:
    return Target(
        triple=raw["triple"],
        arch=raw["arch"],
        host_triple=raw["host_triple"],
        platform=raw["platform"],
        openssl_target=raw["openssl_target"],
        elf_machine=raw["elf_machine"],
        march=raw.get("march"),
        emulator=_emulator(raw["emulator"]) if "emulator" in raw else None,
        libc=raw["libc"],
        libc_floor=raw["libc_floor"],
        allowed_libraries=tuple(raw["allowed_libraries"]),
        ca_bundles=tuple(raw["ca_bundles"]),
        sysroot=_sysroot(raw["sysroot"]),
    )


def _sysroot(raw: dict[str, Any]) -> GlibcSysroot | MuslSysroot:
    # A sysroot is glibc's unless its kind says otherwise.
    kind = raw.get("kind", "glibc")
    if kind == "musl":
        return MuslSysroot(
            source=raw["source"],
            clang_target=raw["clang_target"],
            kernel_headers=tuple(raw["kernel_headers"]),
            extra_headers=tuple(raw.get("extra_headers", {}).items()),
            compiler_rt=raw["compiler_rt"],
            debian_arch=raw.get("debian_arch"),
            dynamic_linker=raw["dynamic_linker"],
            loader_provides=tuple(raw["loader_provides"]),
            packages=tuple(raw["packages"]),
        )
    if kind != "glibc":
        raise CatalogError(f"catalog: unknown sysroot kind '{kind}'")
    return GlibcSysroot(
        zig_target=raw["zig_target"],
        include_dirs=tuple(raw["include_dirs"]),
        multiarch=raw["multiarch"],
        crt_dir=raw["crt_dir"],
        crt_package=raw["crt_package"],
        compiler_rt=raw["compiler_rt"],
        debian_arch=raw.get("debian_arch"),
        dynamic_linker=raw["dynamic_linker"],
        libraries=tuple(raw["libraries"]),
        machine_flags=tuple(raw.get("machine_flags", ())),
        zig_glibc=raw.get("zig_glibc"),
        zig_flags=tuple(raw.get("zig_flags", ())),
    )


def _emulator(raw: dict[str, Any]) -> Emulator:
    return Emulator(program=raw["program"], binfmt=raw["binfmt"], ld_prefix=raw["ld_prefix"],
                    cc=raw["cc"], packages=tuple(raw["packages"]))


def _options(raw: dict[str, Any]) -> OptionsGrammar:
    return OptionsGrammar(
        bases=tuple(raw["bases"]),
        default=raw["default"],
        prefixes={
            name: _specifier(spec.get("requires_python", ""))
            for name, spec in raw.get("prefixes", {}).items()
        },
        suffixes={name: tuple(spec["libc"]) for name, spec in raw.get("suffixes", {}).items()},
        configure={name: tuple(args) for name, args in raw["configure"].items()},
        python_configure=tuple(
            PythonConfigure(requires_python=_specifier(extra["requires_python"]),
                            configure=tuple(extra["configure"]),
                            arches=tuple(extra.get("arches", ())))
            for extra in raw.get("python_configure", [])
        ),
        lto_bases=tuple(raw["lto"]["bases"]),
        full_regrtest_bases=tuple(raw["full_regrtest"]["bases"]),
        compilers={
            name: CompilerSpec(name=name, lto_configure=tuple(spec["lto_configure"]),
                               cflags=tuple(spec["cflags"]),
                               interpreter_ldflags=tuple(spec["interpreter_ldflags"]))
            for name, spec in raw["compilers"].items()
        },
        python_compilers=tuple(
            PythonCompiler(requires_python=_specifier(rule["requires_python"]),
                           compiler=rule["compiler"], libcs=tuple(rule.get("libc", ())))
            for rule in raw["python_compiler"]
        ),
        bolt=BoltSpec(
            bases=tuple(raw["bolt"]["bases"]),
            arches=tuple(raw["bolt"]["arches"]),
            compilers=tuple(raw["bolt"]["compilers"]),
            training_exit_codes=frozenset(raw["bolt"]["training_exit_codes"]),
            skip_functions=tuple(raw["bolt"]["skip_functions"]),
            instrument=tuple(raw["bolt"]["instrument"]),
            apply=tuple(raw["bolt"]["apply"]),
        ),
        bolt_omissions=tuple(
            BoltOmission(requires_python=_specifier(omission["requires_python"]),
                         bases=tuple(omission.get("bases", raw["bolt"]["bases"])),
                         flags=tuple(omission["flags"]))
            for omission in raw["bolt"].get("omit", [])
        ),
        bolt_excluded_suffixes=tuple(raw["bolt"]["excluded_suffixes"]),
    )
