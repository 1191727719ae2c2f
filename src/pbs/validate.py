"""Checks of a built archive, made by reading its files: nothing it contains is ever run.

Every ELF executable or shared object (object files are skipped) must be built for the
target's machine ("machine") and load on the target's oldest C library with only the target's system libraries or libraries shipped beside it
("needed", "glibc"), be hardened ("stack", "relro", "bind-now", "textrel"), and, for the
interpreter and libpython, export CPython's symbols and nothing of its bundled dependencies
("exports", "builtin-init"). Every x86-64 ELF file, object files too, holds no instruction
above the target's level outside the functions isa.toml knows to be chosen by CPUID
("isa-level", see pbs.isa). No file may name a build-machine path ("build-path"). A full
archive's PYTHON.json must follow its schema and name only files that exist inside it
("python-json"; a full archive without one fails it too) and agree with the extension modules
shipped ("extensions"). What is checked must be a distribution at all: a python/ directory
with an interpreter ("layout"). Nothing is read through a symlink that leads out of the tree.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from packaging.version import Version

from pbs.buildpaths import BuildPath, named_in, regular_files
from pbs.cache import held_directory, sweep_held
from pbs.catalog import IsaSpec, Target
from pbs.elf import ElfFacts, elf_kind, read_elf
from pbs.sources.extract import extract_archive
from pbs.distribution_json import check_python_json
from pbs.isa import Finding, LevelScanner
from pbs.metadata import FILE_NAME, ExtensionVariant, PythonJson

_LINKED_KINDS = ("ET_EXEC", "ET_DYN")
_OBJECT_KIND = "ET_REL"

# The interpreter: bin/ sits in python/install/ in full archives, in python/ in install_only ones.
_INTERPRETER = re.compile(r"python/(install/)?bin/python3[^/]*")
_LIBPYTHON = re.compile(r"libpython3[^/]*\.so(\.[^/]*)?")
# libpython3.so, the stable-ABI shim, only forwards to this one: it defines nothing itself.
_VERSIONED_LIBPYTHON = re.compile(r"libpython3\.\d+\w*\.so(\.[^/]*)?")

_CPYTHON_SYMBOL = re.compile(r"_?(Py|PY_)")
# Defined by the C runtime's start files and the linker in every executable or shared object.
_LINKER_SYMBOLS = frozenset(
    {
        "_init",
        "_fini",
        "_start",
        "_edata",
        "_end",
        "__bss_start",
        "_IO_stdin_used",
        "__data_start",
        "data_start",
        "main",
        "__dso_handle",
        "__libc_csu_init",
        "__libc_csu_fini",
        "_dl_relocate_static_pie",
        "__TMC_END__",
    }
)
_EMBEDDING_API = "Py_Initialize"

# Only PyInit_ functions: config.c also declares PyMarshal_Init and _PyWarnings_Init, which
# the core calls itself; they are internal functions, not a module init an embedder names.
_CONFIG_C_INIT = re.compile(r"^extern PyObject\* (PyInit_\w+)\(void\);", re.MULTILINE)

_ORIGINS = ("$ORIGIN", "${ORIGIN}")
_PYTHON_JSON = f"python/{FILE_NAME}"
# Where archives are unpacked, in the system's temporary directory.
_WORK_PREFIX = "pbs-validate-"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one file of an archive."""

    file: str  # path inside the archive, e.g. python/install/bin/python3.14
    check: str  # which check failed, e.g. "glibc"
    value: str  # what it found, e.g. "GLIBC_2.34 > 2.17"

    def __str__(self) -> str:
        return f"{self.file}: {self.check}: {self.value}"


@dataclass(frozen=True)
class Report:
    files_checked: int
    elf_files_checked: int
    problems: tuple[Problem, ...]  # sorted, without duplicates

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_archive(
    archive: Path, target: Target, forbidden_paths: Sequence[BuildPath],
    isa: IsaSpec | None = None,
) -> Report:
    """Unpack `archive` (.tar.zst or .tar.gz) in a temporary directory and validate it.

    Raises PbsError (UnsafeArchive for hostile members) if the archive cannot be read.
    """
    scratch = Path(tempfile.gettempdir())
    sweep_held(scratch, _WORK_PREFIX)  # what killed runs left there
    with held_directory(scratch, _WORK_PREFIX) as work:
        root = extract_archive(archive, work / "archive")
        return validate_tree(root, target, forbidden_paths, isa)


def validate_tree(root: Path, target: Target, forbidden_paths: Sequence[BuildPath],
                  isa: IsaSpec | None = None) -> Report:
    """Validate an unpacked archive; `root` is the directory that holds `python/`. Its machine
    code is held to the target's level when `isa` is given and the target has one."""
    python_dir = root / "python"
    if not python_dir.is_dir() or python_dir.is_symlink():
        files = sum(1 for _ in regular_files(root))
        problem = Problem("python/", "layout", "missing: not a distribution")
        return Report(files_checked=files, elf_files_checked=0, problems=(problem,))
    document, problems = _load_python_json(python_dir)
    problems += _layout_problems(python_dir)
    required_exports = {_EMBEDDING_API, *_builtin_init_functions(python_dir, document)}
    files = list(regular_files(root))
    levels = LevelScanner(isa, target.march) if isa and target.march else None
    elf_files = 0
    for path in files:
        rel = path.relative_to(root).as_posix()
        problems += [Problem(rel, "build-path", found) for found in named_in(path, forbidden_paths)]
        try:
            kind = elf_kind(path)
            if levels and kind in (*_LINKED_KINDS, _OBJECT_KIND):
                problems += [Problem(rel, "isa-level", _above_level(finding, target))
                             for finding in levels.scan(path) if not finding.dispatched]
            if kind not in _LINKED_KINDS:
                continue
            facts = read_elf(path)
        except ELFError as exc:
            problems.append(Problem(rel, "elf", f"malformed ELF file: {exc}"))
            continue
        elf_files += 1
        problems += _elf_problems(root, path, rel, facts, target, required_exports)
    if document is not None:
        problems += _extension_problems(python_dir, document)
    return Report(
        files_checked=len(files),
        elf_files_checked=elf_files,
        problems=tuple(sorted(set(problems))),
    )


def render(report: Report) -> list[str]:
    """The lines `pbs validate` prints: each problem, then a summary."""
    count = len(report.problems)
    summary = (
        f"checked {report.files_checked} files ({report.elf_files_checked} ELF): "
        f"{count} problem{'' if count == 1 else 's'}"
    )
    return [str(problem) for problem in report.problems] + [summary]


# -- ELF files ---------------------------------------------------------------------------


def _elf_problems(
    root: Path,
    path: Path,
    rel: str,
    facts: ElfFacts,
    target: Target,
    required_exports: set[str],
) -> list[Problem]:
    if facts.machine != target.elf_machine:
        # Built for another machine: nothing else about it can be judged for this target.
        return [Problem(rel, "machine", f"{facts.machine}, not {target.elf_machine}")]
    problems = [
        Problem(rel, "needed", soname)
        for soname in facts.needed
        if soname not in target.allowed_libraries
        and not _shipped_and_reachable(root, path, soname, facts.search_path)
    ]
    floor = Version(target.libc_floor)
    if target.libc == "glibc" and facts.max_glibc is not None and facts.max_glibc > floor:
        problems.append(Problem(rel, "glibc", f"GLIBC_{facts.max_glibc} > {target.libc_floor}"))
    problems += _hardening_problems(rel, facts)

    interpreter = _INTERPRETER.fullmatch(rel) is not None
    if interpreter or _LIBPYTHON.fullmatch(path.name):
        problems += [
            Problem(rel, "exports", symbol)
            for symbol in facts.exported
            if not _CPYTHON_SYMBOL.match(symbol) and symbol not in _LINKER_SYMBOLS
        ]
    if interpreter or _VERSIONED_LIBPYTHON.fullmatch(path.name):
        problems += [
            Problem(rel, "builtin-init", name) for name in required_exports - facts.exported
        ]
    return problems


def _above_level(finding: Finding, target: Target) -> str:
    function = finding.function or f"({finding.section} before its first symbol)"
    return (f"{function} at {finding.address:#x}: {finding.instruction} "
            f"({', '.join(finding.features)}); {finding.count} instructions above "
            f"{target.march}, needing {', '.join(finding.all_features)}")


def _hardening_problems(rel: str, facts: ElfFacts) -> list[Problem]:
    problems = []
    if "PT_GNU_STACK" not in facts.segments:
        # Without the header the kernel and ld.so assume the stack must be executable.
        problems.append(Problem(rel, "stack", "no PT_GNU_STACK"))
    elif facts.executable_stack:
        problems.append(Problem(rel, "stack", "PT_GNU_STACK is executable"))
    # RELRO, lazy binding and text relocations are properties of dynamic linking.
    if "PT_DYNAMIC" in facts.segments:
        if "PT_GNU_RELRO" not in facts.segments:
            problems.append(Problem(rel, "relro", "no PT_GNU_RELRO"))
        if not facts.bind_now:
            problems.append(Problem(rel, "bind-now", "no BIND_NOW"))
        if facts.textrel:
            problems.append(Problem(rel, "textrel", "TEXTREL"))
    return problems


def _shipped_and_reachable(root: Path, path: Path, soname: str, search_path: Sequence[str]) -> bool:
    """Whether ld.so would find `soname` inside the archive via a $ORIGIN search entry.

    Entries that are not $ORIGIN-relative point at the build or the user's machine, and
    never count: what they find is not part of the archive.
    """
    real_root = os.path.realpath(root)
    for entry in search_path:
        for origin in _ORIGINS:
            if entry == origin or entry.startswith(origin + "/"):
                candidate = path.parent / entry[len(origin) :].lstrip("/") / soname
                real = Path(os.path.realpath(candidate))
                if real.is_file() and real.is_relative_to(real_root):
                    return True
    return False


# -- PYTHON.json and built-in modules -----------------------------------------------------


def _is_full(python_dir: Path) -> bool:
    """Full archives hold the install tree in python/install/, install_only ones in python/."""
    return (python_dir / "install").is_dir() or os.path.lexists(python_dir / FILE_NAME)


def _load_python_json(python_dir: Path) -> tuple[PythonJson | None, list[Problem]]:
    """The PYTHON.json of a full archive (None if unusable) and its problems."""
    if not _is_full(python_dir):
        return None, []
    document, messages = check_python_json(python_dir)
    return document, [Problem(_PYTHON_JSON, "python-json", message) for message in messages]


def _layout_problems(python_dir: Path) -> list[Problem]:
    """A distribution has an interpreter: bin/python3… in its install tree."""
    bin_dir = python_dir / "install" / "bin" if _is_full(python_dir) else python_dir / "bin"
    if any(path.is_file() for path in bin_dir.glob("python3*") if _inside(path, python_dir)):
        return []
    rel = bin_dir.relative_to(python_dir.parent).as_posix()
    return [Problem(f"{rel}/", "layout", "no python3 interpreter")]


def _inside(path: Path, root: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def _variants(document: PythonJson) -> Iterator[tuple[str, ExtensionVariant]]:
    """(location, variant) of every extension variant."""
    for name, variants in document.build_info.extensions.items():
        for i, variant in enumerate(variants):
            yield f"build_info.extensions.{name}[{i}]", variant


def _builtin_init_functions(python_dir: Path, document: PythonJson | None) -> set[str]:
    """The init functions of the modules compiled into the interpreter.

    PYTHON.json says which they are; install_only archives have none, so the inittab
    source that python-config ships (config-3.X-<platform>/config.c) is read instead.
    """
    if document is not None:
        return {
            variant.init_fn
            for _, variant in _variants(document)
            # "NULL" is the format's spelling of "no init function".
            if variant.in_core and variant.init_fn != "NULL"
        }
    functions: set[str] = set()
    for prefix in ("install/", ""):
        for config_c in python_dir.glob(f"{prefix}lib/python3.*/config-3.*/config.c"):
            # Only the tree's own regular files: a FIFO or /dev/zero would never end.
            if config_c.is_file() and _inside(config_c, python_dir):
                functions.update(_CONFIG_C_INIT.findall(config_c.read_text(errors="replace")))
    return functions


def _extension_problems(python_dir: Path, document: PythonJson) -> list[Problem]:
    """Shared extension modules and PYTHON.json must name each other.

    That a named shared_lib exists is a python-json problem already (distribution_json checks
    every path), and in-core init functions are builtin-init's: neither is reported twice.
    """
    problems = []
    named = set()
    for where, variant in _variants(document):
        if variant.shared_lib is not None:
            named.add(variant.shared_lib)
        elif not variant.in_core:
            message = f"{where}: not in core and names no shared_lib"
            problems.append(Problem(_PYTHON_JSON, "extensions", message))
    for module in python_dir.glob("install/lib/python3.*/lib-dynload/*.so"):
        rel = module.relative_to(python_dir).as_posix()
        if rel not in named:
            problems.append(
                Problem(f"python/{rel}", "extensions", "not named by PYTHON.json's extensions")
            )
    return problems
