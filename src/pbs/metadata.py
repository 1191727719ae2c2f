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

The Apple-only keys (``apple_sdk_*``) are known to the schema check but not modelled: pbs
builds for Linux.

This module holds value objects and their (de)serialisation only; it never looks at a build.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import Any

from pbs.errors import PbsError

FORMAT_VERSION = "8"
FILE_NAME = "PYTHON.json"

LIBPYTHON_LINK_MODES = frozenset({"static", "shared"})
SYMBOL_VISIBILITIES = frozenset({"global-default", "dllexport"})
EXTENSION_MODULE_LOADING = frozenset({"builtin", "shared-library"})
SUFFIX_KINDS = ("bytecode", "debug_bytecode", "extension", "optimized_bytecode", "source")
_OBJECT_FILE_FORMAT = re.compile(r"elf|coff|mach-o|llvm-bitcode:\S+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_MAJOR_MINOR = re.compile(r"\d+\.\d+")

# Keys that earlier format versions used; format 8 readers reject them.
_SUPERSEDED = {
    "os": "target_triple",
    "arch": "target_triple",
    "python_flavor": "python_tag",
    "python_include": "python_paths",
    "python_stdlib": "python_paths",
    "link_mode": "libpython_link_mode",
}
_APPLE_KEYS = (
    "apple_sdk_canonical_name",
    "apple_sdk_deployment_target",
    "apple_sdk_platform",
    "apple_sdk_version",
)


class PythonJsonError(PbsError):
    """A PYTHON.json document (or the file holding it) does not follow the format."""

    def __init__(self, problems: Iterable[str], source: str | os.PathLike[str] | None = None):
        self.problems = list(problems)
        where = str(source) if source is not None else FILE_NAME
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{where} is not a valid format-{FORMAT_VERSION} PYTHON.json:\n{lines}")


# --------------------------------------------------------------------------------------------
# Value objects
# --------------------------------------------------------------------------------------------


def _freeze(obj: object, *, seqs: Iterable[str] = (), maps: Iterable[str] = ()) -> None:
    """Normalise list-like fields to tuples and mapping fields to plain sorted dicts.

    Lets callers pass lists while keeping equality stable across a to_dict/from_dict trip.
    """
    for name in seqs:
        value = getattr(obj, name)
        if value is not None and not isinstance(value, tuple):
            object.__setattr__(obj, name, tuple(value))
    for name in maps:
        value = getattr(obj, name)
        if value is not None:
            object.__setattr__(obj, name, {k: value[k] for k in sorted(value)})


def _put_optional(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True, kw_only=True)
class Link:
    """One library a component must be linked against (an entry of a ``links`` array).

    ``path_static`` / ``path_dynamic`` name the library's static / shared file inside the
    distribution when it ships there; ``system`` marks a library the linker finds by name
    on its default search path; ``framework`` marks a macOS framework.
    """

    name: str
    path_static: str | None = None
    path_dynamic: str | None = None
    system: bool
    framework: bool = False

    @classmethod
    def system_library(cls, name: str) -> Link:
        """A library found by the linker on the target system, e.g. ``m`` or ``pthread``."""
        return cls(name=name, system=True)

    @classmethod
    def static_library(cls, name: str, path: str) -> Link:
        """A static library shipped in the distribution, e.g. ``build/lib/libssl.a``."""
        return cls(name=name, path_static=path, system=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        _put_optional(out, "path_static", self.path_static)
        _put_optional(out, "path_dynamic", self.path_dynamic)
        # False flags are left out, as python-build-standalone does.
        if self.system:
            out["system"] = True
        if self.framework:
            out["framework"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Link:
        return cls(
            name=data["name"],
            path_static=data.get("path_static"),
            path_dynamic=data.get("path_dynamic"),
            system=bool(data.get("system") or False),
            framework=bool(data.get("framework") or False),
        )


@dataclass(frozen=True, kw_only=True)
class ExtensionVariant:
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
    init_fn: str
    objs: tuple[str, ...]
    links: tuple[Link, ...]
    static_lib: str | None = None
    shared_lib: str | None = None
    licenses: tuple[str, ...] | None = None
    license_paths: tuple[str, ...] | None = None
    license_public_domain: bool | None = None
    required: bool
    variant: str = "default"

    def __post_init__(self) -> None:
        _freeze(self, seqs=("objs", "links", "licenses", "license_paths"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "in_core": self.in_core,
            "init_fn": self.init_fn,
            "links": [link.to_dict() for link in self.links],
            "objs": list(self.objs),
            "required": self.required,
            "variant": self.variant,
        }
        _put_optional(out, "static_lib", self.static_lib)
        _put_optional(out, "shared_lib", self.shared_lib)
        _put_optional(out, "licenses", self.licenses)
        _put_optional(out, "license_paths", self.license_paths)
        _put_optional(out, "license_public_domain", self.license_public_domain)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExtensionVariant:
        return cls(
            in_core=data["in_core"],
            init_fn=data["init_fn"],
            objs=data["objs"],
            links=tuple(Link.from_dict(link) for link in data["links"]),
            static_lib=data.get("static_lib"),
            shared_lib=data.get("shared_lib"),
            licenses=data.get("licenses"),
            license_paths=data.get("license_paths"),
            license_public_domain=data.get("license_public_domain"),
            required=data["required"],
            variant=data["variant"],
        )


@dataclass(frozen=True, kw_only=True)
class CoreInfo:
    """``build_info.core``: the core of the distribution, essentially libpython.

    ``objs``: object files that make up libpython. ``links``: libraries it needs.
    ``static_lib`` / ``shared_lib``: libpython as a static archive / shared library, if shipped.
    """

    objs: tuple[str, ...]
    links: tuple[Link, ...]
    static_lib: str | None = None
    shared_lib: str | None = None

    def __post_init__(self) -> None:
        _freeze(self, seqs=("objs", "links"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "objs": list(self.objs),
            "links": [link.to_dict() for link in self.links],
        }
        _put_optional(out, "static_lib", self.static_lib)
        _put_optional(out, "shared_lib", self.shared_lib)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CoreInfo:
        return cls(
            objs=data["objs"],
            links=tuple(Link.from_dict(link) for link in data["links"]),
            static_lib=data.get("static_lib"),
            shared_lib=data.get("shared_lib"),
        )


@dataclass(frozen=True, kw_only=True)
class BuildInfo:
    """``build_info``: what a downstream tool needs to re-link an interpreter.

    ``core``: libpython. ``extensions``: module name -> candidate builds (at least one each).
    ``inittab_object`` / ``inittab_source``: object and C source (``config.c``) defining
    ``_PyImport_Inittab``, the table of built-in modules; ``inittab_cflags``: compiler flags for
    recompiling that source. ``object_file_format``: ``elf``, ``llvm-bitcode:<llvm version>``
    (LTO builds), ``coff`` or ``mach-o``.
    """

    core: CoreInfo
    extensions: Mapping[str, tuple[ExtensionVariant, ...]]
    inittab_object: str
    inittab_source: str
    inittab_cflags: tuple[str, ...]
    object_file_format: str

    def __post_init__(self) -> None:
        _freeze(self, seqs=("inittab_cflags",))
        object.__setattr__(
            self,
            "extensions",
            {name: tuple(self.extensions[name]) for name in sorted(self.extensions)},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "core": self.core.to_dict(),
            "extensions": {
                name: [variant.to_dict() for variant in variants]
                for name, variants in self.extensions.items()
            },
            "inittab_object": self.inittab_object,
            "inittab_source": self.inittab_source,
            "inittab_cflags": list(self.inittab_cflags),
            "object_file_format": self.object_file_format,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BuildInfo:
        return cls(
            core=CoreInfo.from_dict(data["core"]),
            extensions={
                name: tuple(ExtensionVariant.from_dict(v) for v in variants)
                for name, variants in data["extensions"].items()
            },
            inittab_object=data["inittab_object"],
            inittab_source=data["inittab_source"],
            inittab_cflags=data["inittab_cflags"],
            object_file_format=data["object_file_format"],
        )


@dataclass(frozen=True, kw_only=True)
class PythonJson:
    """The whole PYTHON.json document of a Linux distribution (see the module docstring)."""

    version: str = FORMAT_VERSION
    target_triple: str
    optimizations: str
    build_options: str
    python_tag: str
    python_abi_tag: str | None
    python_platform_tag: str
    python_implementation_cache_tag: str
    python_implementation_hex_version: int
    python_implementation_name: str
    python_implementation_version: tuple[str, ...]
    python_version: str
    python_major_minor_version: str
    python_paths: Mapping[str, str]
    python_paths_abstract: Mapping[str, str]
    python_config_vars: Mapping[str, str]
    python_exe: str
    python_stdlib_platform_config: str | None = None
    python_stdlib_test_packages: tuple[str, ...]
    python_suffixes: Mapping[str, tuple[str, ...]]
    python_bytecode_magic_number: str
    python_symbol_visibility: str
    python_extension_module_loading: tuple[str, ...]
    libpython_link_mode: str
    crt_features: tuple[str, ...]
    run_tests: str
    build_info: BuildInfo
    licenses: tuple[str, ...] | None = None
    license_path: str | None = None
    tcl_library_path: str | None = None
    tcl_library_paths: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _freeze(
            self,
            seqs=(
                "python_implementation_version",
                "python_stdlib_test_packages",
                "python_extension_module_loading",
                "crt_features",
                "licenses",
                "tcl_library_paths",
            ),
            maps=("python_paths", "python_paths_abstract", "python_config_vars"),
        )
        object.__setattr__(
            self,
            "python_suffixes",
            {k: tuple(self.python_suffixes[k]) for k in sorted(self.python_suffixes)},
        )

    def to_dict(self) -> dict[str, Any]:
        """The document as JSON-ready data, keys named exactly as the format names them."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "build_info":
                out[f.name] = value.to_dict()
            elif f.name == "python_suffixes":
                out[f.name] = {k: list(v) for k, v in value.items()}
            elif f.name == "python_abi_tag":
                out[f.name] = value  # documented as nullable: always present
            elif isinstance(value, Mapping):
                out[f.name] = dict(value)
            else:
                _put_optional(out, f.name, value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PythonJson:
        """Build the model from loaded JSON; raises PythonJsonError listing every problem."""
        problems = schema_problems(dict(data) if isinstance(data, Mapping) else data)
        if problems:
            raise PythonJsonError(problems)
        unmodelled = sorted(set(data) - {f.name for f in fields(cls)})
        if unmodelled:
            raise PythonJsonError(
                [f"{key}: not supported for Linux distributions" for key in unmodelled]
            )
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in data:
                kwargs[f.name] = data[f.name]
        kwargs["build_info"] = BuildInfo.from_dict(data["build_info"])
        return cls(**kwargs)

    def referenced_paths(self) -> list[tuple[str, str]]:
        """Every (location in the document, relative path) pair the document names."""
        return referenced_paths(self.to_dict())


# --------------------------------------------------------------------------------------------
# Reading and writing
# --------------------------------------------------------------------------------------------


def dumps(doc: PythonJson) -> str:
    """The exact text written to PYTHON.json: sorted keys, 4-space indent, final newline."""
    return json.dumps(doc.to_dict(), sort_keys=True, indent=4) + "\n"


def write_python_json(doc: PythonJson, path: Path) -> None:
    """Write ``doc`` to ``path`` atomically (a reader sees the old file or the whole new one).

    The document is schema-checked first; a PythonJsonError is raised instead of writing an
    invalid file. The file is created with mode 0644.
    """
    path = Path(path)
    problems = schema_problems(doc.to_dict())
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
    except json.JSONDecodeError as exc:
        raise PythonJsonError([f"not valid JSON: {exc}"], path) from exc
    try:
        return PythonJson.from_dict(data)
    except PythonJsonError as exc:
        raise PythonJsonError(exc.problems, path) from None


# --------------------------------------------------------------------------------------------
# Schema check
# --------------------------------------------------------------------------------------------

Check = Callable[[Any, str], list[str]]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _expected(where: str, what: str, value: Any) -> list[str]:
    return [f"{where}: expected {what}, got {_kind(value)} {value!r}"]


def _string(value: Any, where: str) -> list[str]:
    return [] if isinstance(value, str) else _expected(where, "a string", value)


def _nonempty_string(value: Any, where: str) -> list[str]:
    if not isinstance(value, str):
        return _expected(where, "a string", value)
    return [] if value else [f"{where}: must not be empty"]


def _boolean(value: Any, where: str) -> list[str]:
    return [] if isinstance(value, bool) else _expected(where, "a boolean", value)


def _integer(value: Any, where: str) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        return _expected(where, "an integer", value)
    return [] if value >= 0 else [f"{where}: must not be negative"]


def _array_of(check: Check) -> Check:
    def run(value: Any, where: str) -> list[str]:
        if not isinstance(value, list):
            return _expected(where, "an array", value)
        return [p for i, item in enumerate(value) for p in check(item, f"{where}[{i}]")]

    return run


def _object_of(check: Check) -> Check:
    def run(value: Any, where: str) -> list[str]:
        if not isinstance(value, dict):
            return _expected(where, "an object", value)
        return [p for key, item in value.items() for p in check(item, f"{where}.{key}")]

    return run


def _one_of(allowed: frozenset[str]) -> Check:
    def run(value: Any, where: str) -> list[str]:
        if not isinstance(value, str):
            return _expected(where, "a string", value)
        if value not in allowed:
            return [f"{where}: {value!r} is not one of {', '.join(sorted(allowed))}"]
        return []

    return run


def _matching(pattern: re.Pattern[str], description: str) -> Check:
    def run(value: Any, where: str) -> list[str]:
        if not isinstance(value, str):
            return _expected(where, "a string", value)
        return [] if pattern.fullmatch(value) else [f"{where}: {value!r} is not {description}"]

    return run


def _version(value: Any, where: str) -> list[str]:
    if value != FORMAT_VERSION or not isinstance(value, str):
        return [f"{where}: expected the string {FORMAT_VERSION!r}, got {_kind(value)} {value!r}"]
    return []


def _suffixes(value: Any, where: str) -> list[str]:
    problems = _object_of(_array_of(_string))(value, where)
    if isinstance(value, dict):
        problems += [f"{where}: missing key {kind!r}" for kind in SUFFIX_KINDS if kind not in value]
    return problems


def _module_loading(value: Any, where: str) -> list[str]:
    problems = _array_of(_one_of(EXTENSION_MODULE_LOADING))(value, where)
    if isinstance(value, list) and "builtin" not in value:
        problems.append(f"{where}: must contain 'builtin'")
    return problems


_str_list = _array_of(_string)
_str_map = _object_of(_string)

# key -> (required, check). Optional keys may also be null.
_TOP: dict[str, tuple[bool, Check]] = {
    "version": (True, _version),
    "target_triple": (True, _nonempty_string),
    "optimizations": (True, _string),
    "build_options": (True, _string),
    "python_tag": (True, _nonempty_string),
    "python_abi_tag": (False, _string),
    "python_platform_tag": (True, _nonempty_string),
    "python_implementation_cache_tag": (True, _string),
    "python_implementation_hex_version": (True, _integer),
    "python_implementation_name": (True, _nonempty_string),
    "python_implementation_version": (True, _str_list),
    "python_version": (True, _nonempty_string),
    "python_major_minor_version": (True, _matching(_MAJOR_MINOR, "an X.Y version")),
    "python_paths": (True, _str_map),
    "python_paths_abstract": (True, _str_map),
    "python_config_vars": (True, _str_map),
    "python_exe": (True, _nonempty_string),
    "python_stdlib_platform_config": (False, _string),
    "python_stdlib_test_packages": (True, _str_list),
    "python_suffixes": (True, _suffixes),
    "python_bytecode_magic_number": (True, _matching(_HEX, "a hexadecimal string")),
    "python_symbol_visibility": (True, _one_of(SYMBOL_VISIBILITIES)),
    "python_extension_module_loading": (True, _module_loading),
    "libpython_link_mode": (True, _one_of(LIBPYTHON_LINK_MODES)),
    "crt_features": (True, _str_list),
    "run_tests": (True, _nonempty_string),
    "build_info": (True, lambda value, where: _build_info(value, where)),
    "licenses": (False, _str_list),
    "license_path": (False, _string),
    "tcl_library_path": (False, _string),
    "tcl_library_paths": (False, _str_list),
    **{key: (False, _string) for key in _APPLE_KEYS},
}

_LINK: dict[str, tuple[bool, Check]] = {
    "name": (True, _nonempty_string),
    "path_static": (False, _string),
    "path_dynamic": (False, _string),
    "framework": (False, _boolean),
    "system": (False, _boolean),
}


def _link(value: Any, where: str) -> list[str]:
    problems = _fields(value, where, _LINK)
    if problems or not isinstance(value, dict):
        return problems
    system, framework = bool(value.get("system")), bool(value.get("framework"))
    has_path = value.get("path_static") is not None or value.get("path_dynamic") is not None
    if system and framework:
        problems.append(f"{where}: a link cannot be both a system library and a framework")
    if not (system or framework or has_path):
        problems.append(
            f"{where}: link {value['name']!r} names no way to find the library "
            "(needs system, framework, path_static or path_dynamic)"
        )
    return problems


_links = _array_of(_link)

_CORE: dict[str, tuple[bool, Check]] = {
    "objs": (True, _str_list),
    "links": (True, _links),
    "shared_lib": (False, _string),
    "static_lib": (False, _string),
}

_VARIANT: dict[str, tuple[bool, Check]] = {
    "in_core": (True, _boolean),
    "init_fn": (True, _nonempty_string),
    "licenses": (False, _str_list),
    "license_paths": (False, _str_list),
    "license_public_domain": (False, _boolean),
    "links": (True, _links),
    "objs": (True, _str_list),
    "required": (True, _boolean),
    "static_lib": (False, _string),
    "shared_lib": (False, _string),
    "variant": (True, _nonempty_string),
}


def _variants(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        return _expected(where, "an array of variants", value)
    if not value:
        return [f"{where}: an extension needs at least one variant"]
    problems = [p for i, v in enumerate(value) for p in _fields(v, f"{where}[{i}]", _VARIANT)]
    names = [v.get("variant") for v in value if isinstance(v, dict)]
    for name in sorted({n for n in names if isinstance(n, str) and names.count(n) > 1}):
        problems.append(f"{where}: variant {name!r} is listed more than once")
    return problems


def _extensions(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return _expected(where, "an object", value)
    problems = [f"{where}: empty extension name" for name in value if not name]
    for name, variants in value.items():
        problems += _variants(variants, f"{where}.{name}")
    return problems


_BUILD_INFO: dict[str, tuple[bool, Check]] = {
    "core": (True, lambda value, where: _fields(value, where, _CORE)),
    "extensions": (True, _extensions),
    "inittab_object": (True, _nonempty_string),
    "inittab_source": (True, _nonempty_string),
    "inittab_cflags": (True, _str_list),
    "object_file_format": (
        True,
        _matching(_OBJECT_FILE_FORMAT, "one of elf, llvm-bitcode:<version>, coff, mach-o"),
    ),
}


def _build_info(value: Any, where: str) -> list[str]:
    problems = _fields(value, where, _BUILD_INFO)
    if isinstance(value, dict) and isinstance(value.get("core"), dict):
        for key in ("inittab_object", "inittab_source", "inittab_cflags"):
            if key in value["core"]:
                problems.append(f"{where}.core.{key}: belongs in {where}, not in core")
    return problems


def _fields(value: Any, where: str, spec: Mapping[str, tuple[bool, Check]]) -> list[str]:
    """Required keys present, no unknown keys, each value of the right shape."""
    if not isinstance(value, dict):
        return _expected(where, "an object", value)
    problems = []
    for key, (required, check) in spec.items():
        if key not in value:
            if required:
                problems.append(f"{_join(where, key)}: missing required key")
        elif value[key] is None:
            if required:
                problems.append(f"{_join(where, key)}: must not be null")
        else:
            problems += check(value[key], _join(where, key))
    for key in value:
        if key not in spec and not (where == "" and key in _SUPERSEDED):
            problems.append(f"{_join(where, key)}: unknown key")
    return problems


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def schema_problems(data: Any, root: Path | None = None) -> list[str]:
    """Every way ``data`` (a loaded PYTHON.json) departs from format version "8".

    Checks required keys, unknown keys, value types, the format version, the documented
    enumerations, that every extension has at least one well-formed variant, that links say
    how to find their library, and that every path is relative and stays inside the
    distribution. With ``root`` (the directory holding PYTHON.json, i.e. the archive's top
    ``python/`` directory), also that every path the document names exists under it.

    Returns human-readable problems, each prefixed with its location in the document
    (e.g. ``build_info.extensions._ssl[0].objs[1]``); an empty list means valid.
    """
    if not isinstance(data, dict):
        return [f"document: expected a JSON object, got {_kind(data)}"]

    problems = _fields(data, "", _TOP)
    for key, replacement in _SUPERSEDED.items():
        if key in data:
            problems.append(f"{key}: superseded key from an older format; use {replacement!r}")

    triple = data.get("target_triple")
    if isinstance(triple, str) and "-apple-" not in triple:
        problems += [
            f"{key}: only allowed for Apple target triples, not {triple!r}"
            for key in _APPLE_KEYS
            if key in data
        ]

    version, major_minor = data.get("python_version"), data.get("python_major_minor_version")
    if (
        isinstance(version, str)
        and isinstance(major_minor, str)
        and version != major_minor
        and not version.startswith(major_minor + ".")
    ):
        problems.append(
            f"python_major_minor_version: {major_minor!r} does not match "
            f"python_version {version!r}"
        )

    checked: dict[str, bool] = {}
    for where, rel in referenced_paths(data):
        problem = _path_problem(rel)
        if problem:
            problems.append(f"{where}: {rel!r} {problem}")
            continue
        if root is not None:
            if rel not in checked:
                checked[rel] = (Path(root) / rel).exists()
            if not checked[rel]:
                problems.append(f"{where}: {rel!r} does not exist under {root}")
    return problems


def _path_problem(rel: str) -> str | None:
    if not rel:
        return "is an empty path"
    if "\\" in rel:
        return "must use '/' separators"
    pure = PurePosixPath(rel)
    if pure.is_absolute():
        return "must be relative to the directory holding PYTHON.json"
    if ".." in pure.parts:
        return "must not contain '..'"
    return None


def referenced_paths(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(location, relative path) for every file or directory a PYTHON.json names.

    Tolerates malformed documents: values of the wrong type are skipped (schema_problems
    reports them separately). Entries of ``tcl_library_paths`` are joined to
    ``tcl_library_path``, which they are relative to.
    """
    out: list[tuple[str, str]] = []

    def add(where: str, value: Any) -> None:
        if isinstance(value, str):
            out.append((where, value))

    def add_all(where: str, values: Any) -> None:
        if isinstance(values, list):
            for i, value in enumerate(values):
                add(f"{where}[{i}]", value)

    def add_links(where: str, links: Any) -> None:
        if isinstance(links, list):
            for i, link in enumerate(links):
                if isinstance(link, dict):
                    add(f"{where}[{i}].path_static", link.get("path_static"))
                    add(f"{where}[{i}].path_dynamic", link.get("path_dynamic"))

    for key in ("python_exe", "run_tests", "license_path", "python_stdlib_platform_config"):
        add(key, data.get(key))
    paths = data.get("python_paths")
    if isinstance(paths, dict):
        for name, value in paths.items():
            add(f"python_paths.{name}", value)
    tcl = data.get("tcl_library_path")
    add("tcl_library_path", tcl)
    tcl_paths = data.get("tcl_library_paths")
    if isinstance(tcl, str) and isinstance(tcl_paths, list):
        for i, sub in enumerate(tcl_paths):
            if isinstance(sub, str):
                out.append((f"tcl_library_paths[{i}]", f"{tcl.rstrip('/')}/{sub}" if tcl else sub))

    info = data.get("build_info")
    if not isinstance(info, dict):
        return out
    add("build_info.inittab_object", info.get("inittab_object"))
    add("build_info.inittab_source", info.get("inittab_source"))
    core = info.get("core")
    if isinstance(core, dict):
        add_all("build_info.core.objs", core.get("objs"))
        add("build_info.core.static_lib", core.get("static_lib"))
        add("build_info.core.shared_lib", core.get("shared_lib"))
        add_links("build_info.core.links", core.get("links"))
    extensions = info.get("extensions")
    if isinstance(extensions, dict):
        for name, variants in extensions.items():
            if not isinstance(variants, list):
                continue
            for i, variant in enumerate(variants):
                if not isinstance(variant, dict):
                    continue
                where = f"build_info.extensions.{name}[{i}]"
                add_all(f"{where}.objs", variant.get("objs"))
                add(f"{where}.static_lib", variant.get("static_lib"))
                add(f"{where}.shared_lib", variant.get("shared_lib"))
                add_all(f"{where}.license_paths", variant.get("license_paths"))
                add_links(f"{where}.links", variant.get("links"))
    return out


__all__ = [
    "FILE_NAME",
    "FORMAT_VERSION",
    "BuildInfo",
    "CoreInfo",
    "ExtensionVariant",
    "Link",
    "PythonJson",
    "PythonJsonError",
    "dumps",
    "read_python_json",
    "referenced_paths",
    "schema_problems",
    "write_python_json",
]
