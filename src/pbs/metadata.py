"""PYTHON.json: the machine-readable description of a full distribution archive.

The file sits at ``python/PYTHON.json`` of a ``full`` archive and follows format version "8"
of python-build-standalone, so that tools written for those archives (re-linkers that build a
custom interpreter from ``build_info``, installers that read the tags and paths) can consume
ours unchanged. Field names, nesting and optionality follow what that project writes and what
its own reader accepts:

* ``inittab_object``, ``inittab_source``, ``inittab_cflags`` and ``object_file_format`` are
  keys of ``build_info`` itself (beside ``core`` and ``extensions``), not of ``core``;
* an extension's license files are listed under ``license_paths`` (plural);
* ``python_implementation_hex_version`` is an integer (``sys.implementation.hexversion``);
* optional values are left out of the document rather than written as ``null``, except
  ``python_abi_tag`` which the format documents as nullable.

Every path the document names is relative to the directory that holds PYTHON.json (the
archive's top ``python/`` directory), e.g. ``install/bin/python3.14`` or
``build/lib/libssl.a``.

The Apple-only keys (``apple_sdk_*``) are modelled so that such documents read, but are
refused beside any other target triple: pbs builds for Linux.

The dataclasses below are the one description of the format: the writer, the schema check, the
reader and the list of paths a document names all come from their types and field metadata
(see typedjson). This module never looks at a build.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pbs.errors import PbsError
from pbs.typedjson import (
    Record,
    each,
    equal_to,
    key,
    kind,
    matching,
    nonempty,
    not_negative,
    one_of,
)

FORMAT_VERSION = "8"
FILE_NAME = "PYTHON.json"
# What relative paths start from, as problems name it.
HOME = f"the directory holding {FILE_NAME}"

SUFFIX_KINDS = ("bytecode", "debug_bytecode", "extension", "optimized_bytecode", "source")
_OBJECT_FILE_FORMAT = re.compile(r"elf|coff|mach-o|llvm-bitcode:\S+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_MAJOR_MINOR = re.compile(r"\d+\.\d+")

# Keys that earlier format versions used, and what replaced them; format 8 readers reject them.
_SUPERSEDED = {
    "os": "target_triple",
    "arch": "target_triple",
    "python_flavor": "python_tag",
    "python_include": "python_paths",
    "python_stdlib": "python_paths",
    "link_mode": "libpython_link_mode",
}


class PythonJsonError(PbsError):
    """A PYTHON.json document (or the file holding it) does not follow the format."""

    def __init__(self, problems: Iterable[str], source: str | os.PathLike[str] | None = None):
        self.problems = list(problems)
        where = str(source) if source is not None else FILE_NAME
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{where} is not a valid format-{FORMAT_VERSION} PYTHON.json:\n{lines}")


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Link(Record):
    """One library a component must be linked against (an entry of a ``links`` array).

    ``path_static`` / ``path_dynamic`` name the library's static / shared file inside the
    distribution when it ships there; ``system`` marks a library the linker finds by name
    on its default search path; ``framework`` marks a macOS framework.
    """

    name: str = key(checks=[nonempty])
    path_static: str | None = key(None, path=True)
    path_dynamic: str | None = key(None, path=True)
    # False flags are left out, as python-build-standalone does.
    system: bool = key(flag=True)
    framework: bool = key(False, flag=True)

    @classmethod
    def system_library(cls, name: str) -> Link:
        """A library found by the linker on the target system, e.g. ``m`` or ``pthread``."""
        return cls(name=name, system=True)

    @classmethod
    def static_library(cls, name: str, path: str) -> Link:
        """A static library shipped in the distribution, e.g. ``build/lib/libssl.a``."""
        return cls(name=name, path_static=path, system=False)

    def inconsistencies(self) -> Iterator[tuple[str, str]]:
        if self.system and self.framework:
            yield "", "a link cannot be both a system library and a framework"
        if not (self.system or self.framework or self.path_static or self.path_dynamic):
            yield "", (
                f"link {self.name!r} names no way to find the library "
                "(needs system, framework, path_static or path_dynamic)"
            )


@dataclass(frozen=True, kw_only=True)
class ExtensionVariant(Record):
    """One candidate build of an extension module (an entry of ``build_info.extensions[name]``).

    ``in_core``: the module's code is part of the core (its objects are in ``core.objs``).
    ``init_fn``: its initialisation function, e.g. ``PyInit__ssl``; may be the string ``NULL``.
    ``objs``: object files of the module. ``links``: libraries it needs.
    ``static_lib`` / ``shared_lib``: a static library / shared library (``.so``) defining it.
    ``licenses``: SPDX identifiers of the libraries it pulls in (None = unknown, () = none);
    ``license_paths``: their license texts; ``license_public_domain``: they are public domain.
    ``required``: the interpreter cannot initialise without it.
    ``variant``: name of this candidate, for consumers choosing among several.
    """

    in_core: bool
    init_fn: str = key(checks=[nonempty])
    objs: tuple[str, ...] = key(path=True)
    links: tuple[Link, ...]
    static_lib: str | None = key(None, path=True)
    shared_lib: str | None = key(None, path=True)
    licenses: tuple[str, ...] | None = None
    license_paths: tuple[str, ...] | None = key(None, path=True)
    license_public_domain: bool | None = None
    required: bool
    variant: str = key("default", checks=[nonempty])


@dataclass(frozen=True, kw_only=True)
class CoreInfo(Record):
    """``build_info.core``: the core of the distribution, essentially libpython.

    ``objs``: object files that make up libpython. ``links``: libraries it needs.
    ``static_lib`` / ``shared_lib``: libpython as a static archive / shared library, if shipped.
    """

    RETIRED: ClassVar[Mapping[str, str]] = {
        name: "belongs in build_info, not in core"
        for name in ("inittab_object", "inittab_source", "inittab_cflags")
    }

    objs: tuple[str, ...] = key(path=True)
    links: tuple[Link, ...]
    static_lib: str | None = key(None, path=True)
    shared_lib: str | None = key(None, path=True)


def _extension_variants(
    extensions: Mapping[str, tuple[ExtensionVariant, ...]], where: str
) -> list[str]:
    """Every extension has a name and at least one variant, no variant name twice."""
    problems = [f"{where}: empty extension name" for name in extensions if not name]
    for name, variants in extensions.items():
        if not variants:
            problems.append(f"{where}.{name}: an extension needs at least one variant")
        names = [variant.variant for variant in variants]
        problems += [
            f"{where}.{name}: variant {repeated!r} is listed more than once"
            for repeated in sorted({n for n in names if names.count(n) > 1})
        ]
    return problems


@dataclass(frozen=True, kw_only=True)
class BuildInfo(Record):
    """``build_info``: what a downstream tool needs to re-link an interpreter.

    ``core``: libpython. ``extensions``: module name -> candidate builds (at least one each).
    ``inittab_object`` / ``inittab_source``: object and C source (``config.c``) defining
    ``_PyImport_Inittab``, the table of built-in modules; ``inittab_cflags``: compiler flags for
    recompiling that source. ``object_file_format``: ``elf``, ``llvm-bitcode:<llvm version>``
    (LTO builds), ``coff`` or ``mach-o``.
    """

    core: CoreInfo
    extensions: Mapping[str, tuple[ExtensionVariant, ...]] = key(checks=[_extension_variants])
    inittab_object: str = key(path=True)
    inittab_source: str = key(path=True)
    inittab_cflags: tuple[str, ...]
    object_file_format: str = key(checks=[
        matching(_OBJECT_FILE_FORMAT, "one of elf, llvm-bitcode:<version>, coff, mach-o")
    ])


def _suffix_kinds(suffixes: Mapping[str, tuple[str, ...]], where: str) -> list[str]:
    return [f"{where}: missing key {kind!r}" for kind in SUFFIX_KINDS if kind not in suffixes]


def _loads_builtins(loading: tuple[str, ...], where: str) -> list[str]:
    return [] if "builtin" in loading else [f"{where}: must contain 'builtin'"]


@dataclass(frozen=True, kw_only=True)
class PythonJson(Record):
    """The whole PYTHON.json document of a distribution (see the module docstring)."""

    RETIRED: ClassVar[Mapping[str, str]] = {
        old: f"superseded key from an older format; use {new!r}" for old, new in _SUPERSEDED.items()
    }

    version: str = key(FORMAT_VERSION, checks=[equal_to(FORMAT_VERSION)])
    target_triple: str = key(checks=[nonempty])
    optimizations: str
    build_options: str
    python_tag: str = key(checks=[nonempty])
    # Documented as nullable: always written, null included.
    python_abi_tag: str | None = key(null=True)
    python_platform_tag: str = key(checks=[nonempty])
    python_implementation_cache_tag: str
    python_implementation_hex_version: int = key(checks=[not_negative])
    python_implementation_name: str = key(checks=[nonempty])
    python_implementation_version: tuple[str, ...]
    python_version: str = key(checks=[nonempty])
    python_major_minor_version: str = key(checks=[matching(_MAJOR_MINOR, "an X.Y version")])
    python_paths: Mapping[str, str] = key(path=True)
    python_paths_abstract: Mapping[str, str]
    python_config_vars: Mapping[str, str]
    python_exe: str = key(path=True)
    python_stdlib_platform_config: str | None = key(None, path=True)
    python_stdlib_test_packages: tuple[str, ...]
    python_suffixes: Mapping[str, tuple[str, ...]] = key(checks=[_suffix_kinds])
    python_bytecode_magic_number: str = key(checks=[matching(_HEX, "a hexadecimal string")])
    python_symbol_visibility: str = key(checks=[one_of({"global-default", "dllexport"})])
    python_extension_module_loading: tuple[str, ...] = key(checks=[
        each(one_of({"builtin", "shared-library"})), _loads_builtins,
    ])
    libpython_link_mode: str = key(checks=[one_of({"static", "shared"})])
    crt_features: tuple[str, ...]
    run_tests: str = key(path=True)
    build_info: BuildInfo
    licenses: tuple[str, ...] | None = None
    license_path: str | None = key(None, path=True)
    tcl_library_path: str | None = key(None, path=True)
    tcl_library_paths: tuple[str, ...] | None = key(None, under="tcl_library_path")
    apple_sdk_canonical_name: str | None = None
    apple_sdk_deployment_target: str | None = None
    apple_sdk_platform: str | None = None
    apple_sdk_version: str | None = None

    def inconsistencies(self) -> Iterator[tuple[str, str]]:
        version, major_minor = self.python_version, self.python_major_minor_version
        if version != major_minor and not version.startswith(major_minor + "."):
            yield "python_major_minor_version", (
                f"{major_minor!r} does not match python_version {version!r}"
            )
        if "-apple-" not in self.target_triple:
            for name in ("apple_sdk_canonical_name", "apple_sdk_deployment_target",
                         "apple_sdk_platform", "apple_sdk_version"):
                if getattr(self, name) is not None:
                    yield name, f"only allowed for Apple target triples, not {self.target_triple!r}"


# --------------------------------------------------------------------------------------------
# Reading and writing
# --------------------------------------------------------------------------------------------


def parse(data: Any) -> tuple[PythonJson | None, list[str]]:
    """The document in loaded JSON ``data``, or None and every way it departs from format "8".

    Checks required and unknown keys, value types, the format version, the documented
    enumerations, that every extension has at least one well-formed variant, that links say
    how to find their library, and that every path is relative and stays inside the
    distribution. Problems are prefixed with their location in the document
    (e.g. ``build_info.extensions._ssl[0].objs[1]``).
    """
    if not isinstance(data, dict):
        return None, [f"document: expected a JSON object, got {kind(data)}"]
    return PythonJson.decode(data, HOME)


def dumps(doc: PythonJson) -> str:
    """The exact text written to PYTHON.json: sorted keys, 4-space indent, final newline."""
    return json.dumps(doc.to_dict(), sort_keys=True, indent=4) + "\n"


def write_python_json(doc: PythonJson, path: Path) -> None:
    """Write ``doc`` to ``path`` atomically (a reader sees the old file or the whole new one).

    The document is schema-checked first; a PythonJsonError is raised instead of writing an
    invalid file. The file is created with mode 0644.
    """
    path = Path(path)
    _, problems = parse(doc.to_dict())
    if problems:
        raise PythonJsonError(problems, path)
    text = dumps(doc)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def read_python_json(path: Path | str) -> PythonJson:
    """Load and schema-check a PYTHON.json file; raises PythonJsonError if it is not valid."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise PythonJsonError([f"not valid JSON: {exc}"], path) from None
    doc, problems = parse(data)
    if doc is None:
        raise PythonJsonError(problems, path)
    return doc
