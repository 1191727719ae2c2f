"""Lay out a built CPython as a distribution tree: python/{install,build,licenses,PYTHON.json}.

`build/` holds what a downstream linker needs to make a custom interpreter: the object files
of the core (`build/core/…`) and of each built-in extension module (`build/extensions/<name>/…`),
every static library they link (`build/lib/…`) and the inittab source `config.c`. PYTHON.json
names all of them; this module derives each entry from the build itself (CPython's generated
Setup files and Makefile), never from a hand-kept list.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from pbs.catalog import BuildOptions, Source, Target
from pbs.cpython.build import INSTALL_PREFIX, CPythonBuild
from pbs.cpython.makesetup import Rule, Section, applied_rules
from pbs.cpython.modules import ModuleTable
from pbs.elf import max_glibc_version
from pbs.metadata import (
    BuildInfo,
    CoreInfo,
    ExtensionVariant,
    Link,
    PythonJson,
    write_python_json,
)

BITCODE_MAGIC = b"BC\xc0\xde"
# Asked of the built interpreter itself, so every fact is the interpreter's own.
FACTS_SCRIPT = r"""
import importlib.machinery as m, importlib.util, json, os, sys, sysconfig
base = sys.argv[1]
paths = sysconfig.get_paths(vars={k: base for k in ("base", "platbase", "installed_base", "installed_platbase")})
print(json.dumps({
    "version": "%d.%d.%d%s" % (sys.version_info[:3] + ("" if sys.version_info.releaselevel == "final" else {"alpha": "a", "beta": "b", "candidate": "rc"}[sys.version_info.releaselevel] + str(sys.version_info.serial),)),
    "major_minor": "%d.%d" % sys.version_info[:2],
    "cache_tag": sys.implementation.cache_tag,
    "hexversion": sys.implementation.hexversion,
    "name": sys.implementation.name,
    "impl_version": [str(p) for p in sys.implementation.version],
    "abiflags": sys.abiflags,
    "soabi": sysconfig.get_config_var("SOABI"),
    "paths": paths,
    "paths_abstract": sysconfig.get_paths(expand=False),
    # Values computed from where this interpreter runs now (prefix, srcdir, …) name the
    # staging tree; they are stated for the install prefix instead.
    "config_vars": {k: str(v).replace(sys.prefix, base) for k, v in sysconfig.get_config_vars().items()},
    "magic": importlib.util.MAGIC_NUMBER.hex(),
    "suffixes": {
        "bytecode": [".pyc"], "debug_bytecode": list(m.DEBUG_BYTECODE_SUFFIXES),
        "extension": list(m.EXTENSION_SUFFIXES), "optimized_bytecode": list(m.OPTIMIZED_BYTECODE_SUFFIXES),
        "source": list(m.SOURCE_SUFFIXES),
    },
}))
"""
RUN_TESTS = """\
# Runs CPython's regression tests with the interpreter of this distribution.
import subprocess, sys, pathlib
python = pathlib.Path(__file__).resolve().parent.parent / {exe!r}
sys.exit(subprocess.call([str(python), "-m", "test", *sys.argv[1:]]))
"""
TEST_PACKAGE_NAMES = ("test", "tests", "idle_test")


@dataclass(frozen=True, kw_only=True)
class Dependency:
    """A built dependency: its static libraries (by link name) and its license."""

    name: str
    source: Source
    libraries: Mapping[str, Path]  # link name (ssl) -> its .a in the merged deps tree
    license_dir: Path


@dataclass(frozen=True, kw_only=True)
class Distribution:
    build: CPythonBuild
    table: ModuleTable
    target: Target
    options: BuildOptions
    python_source: Source
    dependencies: Sequence[Dependency]
    root: Path  # the `python/` directory being assembled

    def assemble(self, facts: dict) -> None:
        build = self.root / "build"
        variables = self.build.make_variables(
            ["LIBRARY_OBJS", "LIBS", "SYSLIBS", "LDLIBRARY", "LIBRARY", "LIBPL",
             *(f"MODULE_{name.upper()}_LDFLAGS" for name in self.table.all)]
        )
        setup = _built_rules(self.build.source_dir)
        library_objs = variables["LIBRARY_OBJS"].split()
        extension_objs = {name: [_object_of(src) for src in rule.sources] for name, rule in setup.items()}
        in_core = {name for name, rule in setup.items() if rule.section is Section.STATIC}
        module_objs = {obj for name in in_core for obj in extension_objs[name]}
        core_objs = [obj for obj in library_objs if obj not in module_objs]
        for obj in core_objs:
            self._copy(obj, build / "core" / obj)
        self._copy("Modules/config.c", build / "core" / "Modules" / "config.c")
        libraries = {lib: dep for dep in self.dependencies for lib in dep.libraries}
        licenses = self._copy_licenses()
        extensions: dict[str, tuple[ExtensionVariant, ...]] = {}
        for name in self.table.all:
            if name not in setup:
                continue
            objs = []
            if name in in_core:
                for obj in extension_objs[name]:
                    self._copy(obj, build / "extensions" / name / obj)
                    objs.append(f"build/extensions/{name}/{obj}")
            links, deps = self._links(variables.get(f"MODULE_{name.upper()}_LDFLAGS", ""), libraries)
            shared = None if name in in_core else self._shared_module(name, facts)
            extensions[name] = (
                ExtensionVariant(
                    in_core=name in in_core,
                    init_fn=f"PyInit_{name}",
                    objs=tuple(objs),
                    links=tuple(links),
                    shared_lib=shared,
                    licenses=tuple(sorted({d.source.license for d in deps})) or None,
                    license_paths=tuple(sorted(p for d in deps for p in licenses[d.name])) or None,
                    required=name in self.table.bootstrap,
                ),
            )
        first_obj = self.build.source_dir / core_objs[0]
        bitcode = first_obj.read_bytes()[:4] == BITCODE_MAGIC
        core_links, _ = self._links(f"{variables['LIBS']} {variables['SYSLIBS']}", libraries)
        install = self.root / "install"
        libpl = "install" + variables["LIBPL"].removeprefix(INSTALL_PREFIX)
        static_lib = f"{libpl}/{variables['LIBRARY']}"
        exe = f"install/bin/python{facts['major_minor']}{facts['abiflags']}"
        (build / "run_tests.py").write_text(RUN_TESTS.format(exe=exe))
        glibc = max_glibc_version(self.root / exe)
        tcl_dirs = sorted(p.name for p in (install / "lib").glob("t[ck]*") if p.is_dir())
        doc = PythonJson(
            target_triple=self.target.triple,
            optimizations=self.options.base,
            build_options=str(self.options),
            python_tag=f"cp{facts['major_minor'].replace('.', '')}",
            python_abi_tag=f"cp{facts['major_minor'].replace('.', '')}{facts['abiflags']}",
            python_platform_tag=self.target.platform,
            python_implementation_cache_tag=facts["cache_tag"],
            python_implementation_hex_version=facts["hexversion"],
            python_implementation_name=facts["name"],
            python_implementation_version=tuple(facts["impl_version"]),
            python_version=facts["version"],
            python_major_minor_version=facts["major_minor"],
            python_paths={k: "install" + v.removeprefix(INSTALL_PREFIX) for k, v in facts["paths"].items()},
            python_paths_abstract=facts["paths_abstract"],
            python_config_vars=facts["config_vars"],
            python_exe=exe,
            python_stdlib_platform_config=libpl,
            python_stdlib_test_packages=tuple(_test_packages(self.root / facts_path(facts, "stdlib"))),
            python_suffixes={k: tuple(v) for k, v in facts["suffixes"].items()},
            python_bytecode_magic_number=facts["magic"],
            python_symbol_visibility="global-default",
            # A static interpreter cannot load shared objects (musl's static dlopen fails).
            python_extension_module_loading=(("builtin",) if self.options.static
                                             else ("builtin", "shared-library")),
            libpython_link_mode="static",
            crt_features=crt_features(self.target, self.options, glibc),
            run_tests="build/run_tests.py",
            build_info=BuildInfo(
                core=CoreInfo(
                    objs=tuple(f"build/core/{obj}" for obj in core_objs),
                    links=tuple(core_links),
                    static_lib=static_lib if (self.root / static_lib).is_file() else None,
                    # A +static build's LDLIBRARY is libpython.a: it ships no libpython.so.
                    shared_lib=(None if self.options.static
                                else f"install/lib/{variables['LDLIBRARY']}"),
                ),
                extensions=extensions,
                inittab_object="build/core/Modules/config.o",
                inittab_source="build/core/Modules/config.c",
                inittab_cflags=("-DNDEBUG", "-DPy_BUILD_CORE"),
                object_file_format=(f"llvm-bitcode:{self.build.toolchain.llvm_version}" if bitcode
                                    else "elf"),
            ),
            licenses=(self.python_source.license,),
            license_path=licenses["cpython"][0],
            tcl_library_path="install/lib" if tcl_dirs else None,
            tcl_library_paths=tuple(tcl_dirs) or None,
        )
        write_python_json(doc, self.root / "PYTHON.json")

    def _copy(self, relative: str, destination: Path) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.build.source_dir / relative, destination)

    def _links(self, ldflags: str, libraries: Mapping[str, Dependency]) -> tuple[list[Link], list[Dependency]]:
        """PYTHON.json links for linker flags, and the dependencies they bring in."""
        links: dict[str, Link] = {}
        deps: dict[str, Dependency] = {}
        for word in ldflags.split():
            if word.startswith("-l"):
                name = word[2:]
                if name in libraries:
                    dep = libraries[name]
                    deps[dep.name] = dep
                    path = self._ship_library(dep.libraries[name])
                    links.setdefault(name, Link.static_library(name, path))
                else:
                    links.setdefault(name, Link.system_library(name))
            elif word.endswith(".a"):
                # An archive CPython builds itself (expat, HACL*).
                name = Path(word).name.removeprefix("lib").removesuffix(".a")
                path = self._ship_library(self.build.source_dir / word)
                links.setdefault(name, Link.static_library(name, path))
        return list(links.values()), list(deps.values())

    def _ship_library(self, archive: Path) -> str:
        destination = self.root / "build" / "lib" / archive.name
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(archive, destination)
        return f"build/lib/{archive.name}"

    def _shared_module(self, name: str, facts: dict) -> str | None:
        suffix = f".{facts['soabi']}.so"
        stdlib = facts_path(facts, "platstdlib")
        shared = f"{stdlib}/lib-dynload/{name}{suffix}"
        return shared if (self.root / shared).is_file() else None

    def _copy_licenses(self) -> dict[str, list[str]]:
        """licenses/<component>/<file> for CPython and every dependency; their relative paths."""
        found: dict[str, list[str]] = {}
        target = self.root / "licenses" / "cpython"
        target.mkdir(parents=True, exist_ok=True)
        for name in self.python_source.license_files:
            shutil.copyfile(self.build.source_dir / name, target / Path(name).name)
        found["cpython"] = [f"licenses/cpython/{Path(n).name}" for n in self.python_source.license_files]
        for dep in self.dependencies:
            shutil.copytree(dep.license_dir, self.root / "licenses" / dep.name, dirs_exist_ok=True)
            found[dep.name] = sorted(
                f"licenses/{dep.name}/{p.name}" for p in dep.license_dir.iterdir()
            )
        return found


def facts_path(facts: dict, name: str) -> str:
    return "install" + facts["paths"][name].removeprefix(INSTALL_PREFIX)


def _built_rules(source_dir: Path) -> dict[str, Rule]:
    """module -> the rule makesetup built it by, in the order the Makefile hands it the files."""
    modules = source_dir / "Modules"
    applied = applied_rules(
        modules / name for name in ("Setup.local", "Setup.stdlib", "Setup.bootstrap")
    )
    return {name: rule for name, rule in applied.items() if rule.built}


def _object_of(source: str) -> str:
    return f"Modules/{source.removesuffix('.c')}.o"


def _test_packages(stdlib: Path) -> list[str]:
    packages = []
    for init in sorted(stdlib.rglob("__init__.py")):
        package = init.parent
        if package.name in TEST_PACKAGE_NAMES and "site-packages" not in package.parts:
            packages.append(".".join(package.relative_to(stdlib).parts))
    return packages


def interpreter_facts(build: CPythonBuild, python: Path) -> dict:
    output = build.run([python, "-E", "-s", "-c", FACTS_SCRIPT, INSTALL_PREFIX]).output
    return json.loads(output.strip().splitlines()[-1])


def crt_features(target: Target, options: BuildOptions,
                 max_glibc: Version | None) -> tuple[str, ...]:
    """PYTHON.json's C runtime facts, in the reference project's words: the libc linked
    dynamically, and the newest glibc symbol version needed, or the musl release (musl has no
    symbol versions) linked against; or that the libc is linked in."""
    if options.static:
        return ("static",)
    if target.libc == "musl":
        return ("musl-dynamic", f"musl-version:{target.libc_floor}")
    return ("glibc-dynamic", f"glibc-max-symbol-version:{max_glibc or target.libc_floor}")
