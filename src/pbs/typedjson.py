"""Frozen dataclasses as JSON objects: one declaration gives the writer, the reader, the schema
check and the paths a document names.

A record is a frozen dataclass deriving from Record. Each field's type says which JSON value
its key holds: ``str``, ``int``, ``bool``, ``tuple[X, ...]`` (an array), ``Mapping[str, X]``
(an object) or another Record (a nested object); ``X | None`` makes the key optional.
Field metadata made by `key()` says what a type cannot: constraints on the value, which strings
are paths, and how a missing value is written.

Reading checks a loaded JSON value against the types and constraints and builds the records
only if every check passes, so a record in hand is always a valid one. Problems are
human-readable lines prefixed with their location, e.g. ``build_info.core.objs[1]``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import NoneType, UnionType
from typing import Any, ClassVar, TypeVar

# (decoded value, its location) -> problems, each prefixed with a location.
Check = Callable[[Any, str], list[str]]
R = TypeVar("R", bound="Record")

_METADATA_KEY = "pbs.typedjson"


@dataclass(frozen=True)
class _Spec:
    checks: tuple[Check, ...] = ()
    path: bool = False  # every string of the value is a path relative to the document
    under: str | None = None  # ...relative to the path in this sibling field instead
    null: bool = False  # None is written as null rather than left out
    flag: bool = False  # a boolean left out when false, and false when absent


_PLAIN = _Spec()


def key(
    default: Any = dataclasses.MISSING,
    *,
    checks: Collection[Check] = (),
    path: bool = False,
    under: str | None = None,
    null: bool = False,
    flag: bool = False,
) -> Any:
    """A record field with JSON metadata (the dataclasses.field of a Record).

    ``checks`` run on the value once its type is right. ``path``: its strings name files
    relative to the document; ``under``: relative to the path in that sibling field. ``null``:
    an optional key written as null when None. ``flag``: a boolean key written only when true.
    """
    spec = _Spec(tuple(checks), path or under is not None, under, null, flag)
    return dataclasses.field(default=default, metadata={_METADATA_KEY: spec})


class Record:
    """Base of the frozen dataclasses that are JSON objects (see the module docstring)."""

    # Keys a reader may meet that are not fields, each with the problem reported for it.
    RETIRED: ClassVar[Mapping[str, str]] = {}

    def __post_init__(self) -> None:
        # Lists become tuples and mappings key-sorted dicts, so that a record built from
        # Python values equals the one read back from its JSON.
        for f, hint in _fields(type(self)):
            object.__setattr__(self, f.name, _normalise(hint, getattr(self, f.name)))

    def inconsistencies(self) -> Iterator[tuple[str, str]]:
        """(field, or "" for the whole record; message) for what spans several fields."""
        return iter(())

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        out: dict[str, Any] = {}
        for f, _ in _fields(type(self)):
            value, spec = getattr(self, f.name), _spec(f)
            if (value is None and not spec.null) or (spec.flag and not value):
                continue
            out[f.name] = _encode(value)
        return out

    @classmethod
    def decode(cls: type[R], data: Any, home: str) -> tuple[R | None, list[str]]:
        """The record read from loaded JSON, or None and every problem found in it.

        ``home`` names the directory that relative paths start from, for the problems.
        """
        record, problems = _decode(cls, data, "", home)
        return (None, problems) if problems else (record, [])

    def paths(self, where: str = "") -> Iterator[tuple[str, str]]:
        """(location, relative path) for every path the record and those inside it name."""
        for f, _ in _fields(type(self)):
            value, spec, at = getattr(self, f.name), _spec(f), _join(where, f.name)
            if spec.path:
                base = getattr(self, spec.under) if spec.under else ""
                if base is None:
                    continue  # relative to a path the document does not name
                for location, rel in _leaves(value, at):
                    yield location, f"{base.rstrip('/')}/{rel}" if base else rel
            else:
                for location, inner in _leaves(value, at):
                    if isinstance(inner, Record):
                        yield from inner.paths(location)


# -- constraints ------------------------------------------------------------------------------


def nonempty(value: Any, where: str) -> list[str]:
    return [] if value else [f"{where}: must not be empty"]


def not_negative(value: int, where: str) -> list[str]:
    return [] if value >= 0 else [f"{where}: must not be negative"]


def equal_to(expected: str) -> Check:
    def run(value: str, where: str) -> list[str]:
        return [] if value == expected else _expected(where, f"the string {expected!r}", value)

    return run


def one_of(allowed: Collection[str]) -> Check:
    def run(value: str, where: str) -> list[str]:
        return [] if value in allowed else [
            f"{where}: {value!r} is not one of {', '.join(sorted(allowed))}"
        ]

    return run


def matching(pattern: re.Pattern[str], description: str) -> Check:
    def run(value: str, where: str) -> list[str]:
        return [] if pattern.fullmatch(value) else [f"{where}: {value!r} is not {description}"]

    return run


def each(check: Check) -> Check:
    """`check` applied to every item of an array."""

    def run(value: tuple[Any, ...], where: str) -> list[str]:
        return [p for i, item in enumerate(value) for p in check(item, f"{where}[{i}]")]

    return run


def _path_problem(rel: str, home: str) -> str | None:
    """What is wrong with `rel` as a path relative to the directory `home`, if anything."""
    if not rel:
        return "is an empty path"
    if "\\" in rel:
        return "must use '/' separators"
    pure = PurePosixPath(rel)
    if pure.is_absolute():
        return f"must be relative to {home}"
    if ".." in pure.parts:
        return "must not contain '..'"
    return None


# -- the walk over types ----------------------------------------------------------------------


@functools.cache
def _fields(cls: type[Record]) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f, hints[f.name]) for f in dataclasses.fields(cls))


def _spec(f: dataclasses.Field[Any]) -> _Spec:
    return f.metadata.get(_METADATA_KEY, _PLAIN)


def _without_none(hint: Any) -> tuple[Any, bool]:
    """(the type without None, whether None was part of it)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (UnionType, typing.Union) and NoneType in args:
        return typing.Union[tuple(arg for arg in args if arg is not NoneType)], True
    return hint, False


def _normalise(hint: Any, value: Any) -> Any:
    hint, _ = _without_none(hint)
    origin = typing.get_origin(hint)
    if value is None:
        return None
    if origin is tuple:
        return tuple(_normalise(typing.get_args(hint)[0], item) for item in value)
    if origin is Mapping:
        item = typing.get_args(hint)[1]
        return {name: _normalise(item, value[name]) for name in sorted(value)}
    return value


def _encode(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, Mapping):
        return {name: _encode(item) for name, item in value.items()}
    return value


def _leaves(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    """(location, value) for every value inside arrays and objects."""
    if isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{where}[{i}]")
    elif isinstance(value, Mapping):
        for name, item in value.items():
            yield from _leaves(item, f"{where}.{name}")
    elif value is not None:
        yield where, value


_SCALARS: dict[type, str] = {str: "a string", bool: "a boolean", int: "an integer"}


def _decode(hint: Any, data: Any, where: str, home: str) -> tuple[Any, list[str]]:
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(data, list):
            return None, _expected(where, "an array", data)
        items = [_decode(typing.get_args(hint)[0], item, f"{where}[{i}]", home)
                 for i, item in enumerate(data)]
        return tuple(item for item, _ in items), [p for _, found in items for p in found]
    if origin is Mapping:
        if not isinstance(data, dict):
            return None, _expected(where, "an object", data)
        entries = {name: _decode(typing.get_args(hint)[1], item, f"{where}.{name}", home)
                   for name, item in data.items()}
        problems = [p for _, found in entries.values() for p in found]
        return {name: entries[name][0] for name in sorted(entries)}, problems
    if isinstance(hint, type) and issubclass(hint, Record):
        return _decode_record(hint, data, where, home)
    # bool is an int in Python, never in JSON.
    if type(data) is not hint:
        return None, _expected(where, _SCALARS[hint], data)
    return data, []


def _decode_record(cls: type[Record], data: Any, where: str, home: str) -> tuple[Any, list[str]]:
    if not isinstance(data, dict):
        return None, _expected(where, "an object", data)
    problems: list[str] = []
    values: dict[str, Any] = {}
    for f, hint in _fields(cls):
        spec, at = _spec(f), _join(where, f.name)
        hint, optional = _without_none(hint)
        if data.get(f.name) is None:
            if not (optional or spec.flag):
                problems.append(f"{at}: {'must not be null' if f.name in data else 'missing required key'}")
            values[f.name] = False if spec.flag else None
            continue
        value, found = _decode(hint, data[f.name], at, home)
        if not found:
            found = [p for check in spec.checks for p in check(value, at)]
        if not found and spec.path:
            found = [f"{location}: {rel!r} {problem}" for location, rel in _leaves(value, at)
                     if (problem := _path_problem(rel, home))]
        problems += found
        values[f.name] = value
    names = {f.name for f, _ in _fields(cls)}
    problems += [f"{_join(where, name)}: {cls.RETIRED.get(name, 'unknown key')}"
                 for name in data if name not in names]
    if problems:
        return None, problems
    record = cls(**values)
    return record, [f"{_join(where, name)}: {message}"
                    for name, message in record.inconsistencies()]


def kind(value: Any) -> str:
    """The JSON name of `value`'s type."""
    if value is None:
        return "null"
    for python_type, name in ((bool, "boolean"), (int, "integer"), (float, "number"),
                              (str, "string"), (list, "array"), (dict, "object")):
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def _expected(where: str, what: str, value: Any) -> list[str]:
    return [f"{where}: expected {what}, got {kind(value)} {value!r}"]


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where and name else where or name
