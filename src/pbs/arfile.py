"""The members of a static library (a System V/GNU `ar` archive), read without running a tool.

Two uses: a deterministic archive stores every member dated 0, owned by 0/0 (what `llvm-ar`
writes unless told `U`), which the dependency steps check; and the toolchain renames the
members of zig's archives, whose names are paths into zig's cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pbs.errors import PbsError

MAGIC = b"!<arch>\n"
_HEADER_SIZE = 60
# Index members: the symbol tables (32- and 64-bit) and GNU's table of long member names.
_SYMBOL_TABLES = frozenset({"/", "/SYM64/"})
_LONG_NAMES = "//"


@dataclass(frozen=True, kw_only=True)
class Member:
    name: str  # as stored: a long name resolved, without GNU's trailing "/"
    mtime: int
    uid: int
    gid: int
    data: bytes


def members(archive: Path) -> list[Member]:
    """The object members of `archive`, in order; its symbol table and long-name table are not
    members. PbsError if it is not an archive pbs can read (a thin archive, say)."""
    data = archive.read_bytes()
    if not data.startswith(MAGIC):
        raise PbsError(f"{archive} is not a static library (no {MAGIC!r} header)")
    found: list[Member] = []
    long_names = b""
    at = len(MAGIC)
    while at < len(data):
        header = data[at:at + _HEADER_SIZE]
        if len(header) < _HEADER_SIZE or header[58:60] != b"`\n":
            raise PbsError(f"{archive}: malformed member header at byte {at}")
        raw_name = header[:16].decode("ascii", errors="replace").rstrip(" ")
        size = _number(header[48:58], archive)
        body = data[at + _HEADER_SIZE:at + _HEADER_SIZE + size]
        at += _HEADER_SIZE + size + size % 2  # members start on even offsets
        if raw_name in _SYMBOL_TABLES:
            continue
        if raw_name == _LONG_NAMES:
            long_names = body
            continue
        found.append(Member(
            name=_resolve(raw_name, long_names, archive),
            mtime=_number(header[16:28], archive),
            uid=_number(header[28:34], archive),
            gid=_number(header[34:40], archive),
            data=body,
        ))
    return found


def undated_problems(archive: Path) -> list[str]:
    """What makes `archive` depend on when and by whom it was built: members with a date or
    an owner (empty if it is deterministic)."""
    return [
        f"{member.name} dated {member.mtime}, owned by {member.uid}/{member.gid}"
        for member in members(archive)
        if (member.mtime, member.uid, member.gid) != (0, 0, 0)
    ]


def _resolve(raw_name: str, long_names: bytes, archive: Path) -> str:
    if raw_name.startswith("#1/"):
        raise PbsError(f"{archive}: BSD-style member names are not supported")
    if raw_name.startswith("/") and raw_name[1:].isdigit():
        start = int(raw_name[1:])
        end = long_names.find(b"\n", start)
        name = long_names[start:end if end >= 0 else None].decode(errors="replace")
    else:
        name = raw_name
    return name.removesuffix("/")


def _number(field: bytes, archive: Path) -> int:
    text = field.decode("ascii", errors="replace").strip()
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise PbsError(f"{archive}: malformed member header field {text!r}") from None
