"""`pbs link`: a new interpreter linked from a full archive's objects, with chosen modules.

The full archive keeps every object file and static library that went into libpython, and
PYTHON.json says which belong to which built-in extension module. Leaving a module out is
dropping its objects and libraries and its line of the inittab (`config.c`); the stdlib
packages that only wrap it go too. Linking uses the toolchain that built the archive, recreated
from the catalog for the archive's target triple.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pbs.cache import Cache, held_directory, sweep_held
from pbs.catalog import Catalog, Target
from pbs.cpython.build import HARDENING_LDFLAGS
from pbs.errors import PbsError, UsageError
from pbs.sources.extract import extract_archive
from pbs.inputs import archive_file, output_directory
from pbs.distribution_json import load_python_json
from pbs.metadata import FILE_NAME, Link, PythonJson
from pbs.runner import Runner
from pbs.toolchain import Toolchain

# Embeds the linked libpython: evaluates argv[1] and prints the result.
EMBED_C = """#include "Python.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s EXPRESSION\\n", argv[0]);
        return 2;
    }
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    /* The stdlib is found from the program's own location, as for python. */
    PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, argv[0]);
    if (!PyStatus_Exception(status)) {
        status = Py_InitializeFromConfig(&config);
    }
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        Py_ExitStatusException(status);
    }
    PyObject *globals = PyModule_GetDict(PyImport_AddModule("__main__"));
    PyObject *result = PyRun_String(argv[1], Py_eval_input, globals, globals);
    if (result == NULL) {
        PyErr_Print();
        return 1;
    }
    PyObject_Print(result, stdout, Py_PRINT_RAW);
    printf("\\n");
    Py_DECREF(result);
    return Py_FinalizeEx() < 0 ? 1 : 0;
}
"""
EMBED_EXAMPLE = "embed-example"
# The work directory, beside the output directory.
WORK_PREFIX = ".pbs-link-"


@dataclass(frozen=True, kw_only=True)
class LinkRequest:
    archive: Path  # a full archive (.tar.zst)
    out: Path  # receives python/, the install tree
    exclude: frozenset[str]
    include: frozenset[str] | None  # None: every built-in module not excluded
    embed_example: bool

    def check(self) -> None:
        """Refuse an archive that is not a file and an output directory that cannot be one."""
        archive_file(self.archive)
        output_directory(self.out, "-o")
        if self.out.is_dir() and any(self.out.iterdir()):
            raise UsageError(f"{self.out} exists and is not empty; choose a new output directory")


@dataclass(frozen=True, kw_only=True)
class LinkResult:
    tree: Path  # out/python
    interpreter: Path
    original_size: int  # bytes of the archive's own interpreter
    modules: tuple[str, ...]  # the built-in extension modules linked in
    left_out: tuple[str, ...]
    embed_example: Path | None
    log: Path


@dataclass(frozen=True, kw_only=True)
class InstallLayout:
    """Where linking reads and writes in the install tree: paths relative to install/,
    symlinks resolved, taken from a checked PYTHON.json."""

    interpreter: Path
    config_dir: Path  # holds python.o (CPython's main) and config.c
    include: Path
    stdlib: Path
    libpython: Path  # the versioned shared library the symlinks lead to

    @classmethod
    def of(cls, python: Path, document: PythonJson, archive: str) -> InstallLayout:
        named = {
            "python_exe": document.python_exe,
            "python_stdlib_platform_config": document.python_stdlib_platform_config,
            "python_paths.include": document.python_paths.get("include"),
            "python_paths.stdlib": document.python_paths.get("stdlib"),
            "build_info.core.shared_lib": document.build_info.core.shared_lib,
        }
        install = Path(os.path.realpath(python / "install"))
        where = f"python/{FILE_NAME} of {archive}"
        found = {}
        for key, rel in named.items():
            if rel is None:
                raise PbsError(f"{where} names no {key}, which linking needs")
            real = Path(os.path.realpath(python / rel))
            if not real.is_relative_to(install):
                raise PbsError(f"{where}: {key} {rel!r} is not in install/, the tree linking writes")
            found[key] = real.relative_to(install)
        return cls(interpreter=found["python_exe"],
                   config_dir=found["python_stdlib_platform_config"],
                   include=found["python_paths.include"], stdlib=found["python_paths.stdlib"],
                   libpython=found["build_info.core.shared_lib"])


@dataclass(frozen=True, kw_only=True)
class BuiltinModule:
    name: str
    init_fn: str
    required: bool
    objs: tuple[str, ...]  # relative to python/
    links: tuple[Link, ...]


def choose_modules(
    available: dict[str, BuiltinModule], include: frozenset[str] | None, exclude: frozenset[str]
) -> tuple[list[BuiltinModule], list[BuiltinModule]]:
    """(linked, left out): the request applied to the archive's built-in modules."""
    unknown = sorted((include or frozenset()) - available.keys() | exclude - available.keys())
    if unknown:
        raise UsageError(
            f"unknown built-in module {', '.join(unknown)}; "
            f"the archive's built-in modules are: {', '.join(sorted(available))}"
        )
    required = sorted(name for name in exclude if available[name].required)
    if required:
        raise UsageError(
            f"cannot leave out {', '.join(required)}: the interpreter cannot start without "
            f"{'it' if len(required) == 1 else 'them'} (PYTHON.json marks them required)"
        )
    wanted = set(available) if include is None else {*include, *(
        name for name, module in available.items() if module.required)}
    wanted -= exclude
    linked = [module for name, module in sorted(available.items()) if name in wanted]
    left_out = [module for name, module in sorted(available.items()) if name not in wanted]
    return linked, left_out


def trim_inittab(config_c: str, left_out: Iterable[BuiltinModule]) -> str:
    """config.c without the declarations and inittab entries of `left_out`."""
    for module in left_out:
        lines = [line for line in config_c.splitlines(keepends=True)
                 if not re.search(rf"\b{re.escape(module.init_fn)}\b", line)]
        if len(lines) != len(config_c.splitlines()) - 2:
            raise PbsError(f"config.c does not declare and list {module.init_fn} once each")
        config_c = "".join(lines)
    return config_c


def link_archive(request: LinkRequest, catalog: Catalog, cache: Cache, runner: Runner,
                 toolchain_for: Callable[[Target], Toolchain]) -> LinkResult:
    """`toolchain_for` prepares the archive's target's toolchain (fetching what it builds)."""
    request.check()
    log = cache.log("link", f"{request.archive.name}.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    sweep_held(request.out.parent, WORK_PREFIX)  # what killed runs left here
    # Built beside the output and moved there whole: a failure leaves nothing behind.
    with held_directory(request.out.parent, WORK_PREFIX) as work:
        python = extract_archive(request.archive, work / "archive") / "python"
        document = _python_json(python, request.archive)
        layout = InstallLayout.of(python, document, request.archive.name)
        available = _builtin_modules(document)
        linked, left_out = choose_modules(available, request.include, request.exclude)
        toolchain = toolchain_for(catalog.target(document.target_triple))
        _check_object_format(document, toolchain.llvm_major)
        linker = _Linker(python=python, document=document, layout=layout, toolchain=toolchain,
                         objects=work / "objects", log=log, runner=runner)
        tree = work / "python"
        shutil.copytree(python / "install", tree, symlinks=True)
        interpreter = tree / layout.interpreter
        original_size = interpreter.stat().st_size
        linker.link(linked, left_out, tree, interpreter, tree / layout.libpython)
        _remove_wrappers(tree / layout.stdlib, left_out, catalog.module_wrappers)
        embed = None
        if request.embed_example:
            embed = tree / "bin" / EMBED_EXAMPLE
            linker.embed_example(embed, tree)
        request.out.mkdir(exist_ok=True)
        os.replace(tree, request.out / "python")
    final = request.out / "python"
    return LinkResult(
        tree=final,
        interpreter=final / interpreter.relative_to(tree),
        original_size=original_size,
        modules=tuple(module.name for module in linked),
        left_out=tuple(module.name for module in left_out),
        embed_example=final / "bin" / EMBED_EXAMPLE if embed else None,
        log=log,
    )


@dataclass(kw_only=True)
class _Linker:
    python: Path  # the archive's python/
    document: PythonJson
    layout: InstallLayout
    toolchain: Toolchain
    objects: Path  # where the new objects go
    log: Path
    runner: Runner

    @property
    def _include(self) -> Path:
        return self.python / "install" / self.layout.include

    @property
    def _lto(self) -> list[str]:
        # Bitcode objects are optimized together again at this link.
        return ["-flto=thin"] if self.document.build_info.object_file_format != "elf" else []

    def _cc(self, *args: str | Path, step: str) -> None:
        self.runner([self.toolchain.cc, *args], step=step, log=self.log, env=self.toolchain.env())

    def _compile(self, source_text: str, name: str, *flags: str) -> Path:
        self.objects.mkdir(parents=True, exist_ok=True)
        source, obj = self.objects / f"{name}.c", self.objects / f"{name}.o"
        source.write_text(source_text)
        self._cc("-c", "-fPIC", "-O2", *flags, f"-I{self._include}", source, "-o", obj,
                 step=f"compile {name}.c")
        return obj

    def link(self, linked: Sequence[BuiltinModule], left_out: Sequence[BuiltinModule],
             tree: Path, interpreter: Path, libpython: Path) -> None:
        build_info = self.document.build_info
        inittab = (self.python / build_info.inittab_source).read_text(errors="replace")
        config_c = trim_inittab(inittab, left_out)
        config = self._compile(config_c, "config", *build_info.inittab_cflags)
        # The config dir keeps CPython's main() (Programs/python.o) and describes the inittab.
        main = self.python / "install" / self.layout.config_dir / "python.o"
        (tree / self.layout.config_dir / "config.c").write_text(config_c)
        core = build_info.core
        objects = [self.python / obj for obj in core.objs if obj != build_info.inittab_object]
        objects += [self.python / obj for module in linked for obj in module.objs]
        libraries = _library_arguments(self.python, [*core.links, *(
            link for module in linked for link in module.links)])
        common = [*self._lto, *HARDENING_LDFLAGS, "-Wl,--exclude-libs,ALL"]
        # The modules in lib-dynload resolve the C API against the interpreter.
        self._cc("-o", interpreter, main, config, *objects, *libraries, *common,
                 "-Wl,-export-dynamic", step="link the interpreter")
        self._cc("-shared", f"-Wl,-soname,{libpython.name}", "-o", libpython, config, *objects,
                 *libraries, *common, step="link libpython")

    def embed_example(self, program: Path, tree: Path) -> None:
        embed = self._compile(EMBED_C, EMBED_EXAMPLE.replace("-", "_"))
        version = self.document.python_major_minor_version
        self._cc("-o", program, embed, f"-L{tree / 'lib'}", f"-lpython{version}",
                 "-Wl,-rpath,$ORIGIN/../lib", *HARDENING_LDFLAGS, step="link the embedding example")


def _python_json(python: Path, archive: Path) -> PythonJson:
    if not os.path.lexists(python / FILE_NAME):
        raise UsageError(f"{archive.name} is not a full archive: it has no python/{FILE_NAME}")
    return load_python_json(python, archive.name)


def _builtin_modules(document: PythonJson) -> dict[str, BuiltinModule]:
    modules = {}
    for name, variants in document.build_info.extensions.items():
        for variant in variants:
            if variant.in_core:
                modules[name] = BuiltinModule(
                    name=name, init_fn=variant.init_fn, required=variant.required,
                    objs=variant.objs, links=variant.links,
                )
    return modules


def _check_object_format(document: PythonJson, llvm_major: int) -> None:
    found = document.build_info.object_file_format
    # llvm-bitcode:<the producer's version>, e.g. llvm-bitcode:22.1.8: its major must be ours.
    if found != "elf" and found.removeprefix("llvm-bitcode:").split(".")[0] != str(llvm_major):
        raise PbsError(f"the archive's objects are {found}; this pbs links elf or "
                       f"llvm-bitcode:{llvm_major} objects")


def _library_arguments(python: Path, links: Iterable[Link]) -> list[str]:
    """Static libraries in one group (their order need not be known), then system libraries."""
    static, system = [], []
    for link in links:
        if link.path_static is not None:
            static.append(str(python / link.path_static))
        elif link.system:
            system.append(f"-l{link.name}")
    unique = list(dict.fromkeys(static))
    return ["-Wl,--start-group", *unique, "-Wl,--end-group", *dict.fromkeys(system)]


def _remove_wrappers(
    stdlib: Path, left_out: Sequence[BuiltinModule], wrappers: dict[str, tuple[str, ...]]
) -> None:
    for module in left_out:
        # A wrapper may be missing from a version (compression/zstd exists from 3.14).
        for name in wrappers.get(module.name, ()):
            path = stdlib / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.is_symlink() or path.is_file():
                path.unlink()  # a symlink goes, never what it points to
                for cached in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
                    cached.unlink()
