"""What an archive weighs: its bytes, its members' bytes unpacked, and its biggest files.

Read from the archive itself as a stream, nothing unpacked to disk. Archives pbs writes are
reproducible, so one measurement is the figure: there is no spread to sample.
"""

from __future__ import annotations

import heapq
import tarfile
from dataclasses import asdict, dataclass
from pathlib import Path

import zstandard

# The flavor is the name's last part before the extension, as pbs names its archives.
FLAVORS = ("full", "install_only", "install_only_stripped")


@dataclass(frozen=True, kw_only=True)
class FileSize:
    path: str  # the member's name in the archive
    bytes: int


@dataclass(frozen=True, kw_only=True)
class ArchiveSize:
    name: str
    flavor: str
    archive_bytes: int
    unpacked_bytes: int  # the regular files' sizes added up (links are not counted)
    files: int
    biggest: tuple[FileSize, ...]  # the largest regular files, largest first

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ArchiveSize:
        return cls(name=data["name"], flavor=data["flavor"],
                   archive_bytes=data["archive_bytes"], unpacked_bytes=data["unpacked_bytes"],
                   files=data["files"],
                   biggest=tuple(FileSize(**entry) for entry in data["biggest"]))


def flavor_of(archive: Path) -> str:
    """full, install_only or install_only_stripped, from a pbs archive's file name."""
    stem = archive.name.split(".tar.", 1)[0]
    for flavor in sorted(FLAVORS, key=len, reverse=True):
        if stem.endswith(f"-{flavor}"):
            return flavor
    raise ValueError(f"{archive.name} is not named as a pbs archive flavor ({', '.join(FLAVORS)})")


def measure(archive: Path, *, top: int) -> ArchiveSize:
    """The sizes of `archive` (.tar.gz or .tar.zst) and its `top` biggest files."""
    with archive.open("rb") as raw:
        if archive.name.endswith(".tar.zst"):
            with zstandard.ZstdDecompressor().stream_reader(raw) as stream, \
                    tarfile.open(fileobj=stream, mode="r|") as tar:
                members = [(m.size, m.name) for m in tar if m.isreg()]
        else:
            with tarfile.open(fileobj=raw, mode="r|*") as tar:
                members = [(m.size, m.name) for m in tar if m.isreg()]
    biggest = heapq.nlargest(top, members)
    return ArchiveSize(name=archive.name, flavor=flavor_of(archive),
                       archive_bytes=archive.stat().st_size,
                       unpacked_bytes=sum(size for size, _ in members), files=len(members),
                       biggest=tuple(FileSize(path=name, bytes=size) for size, name in biggest))
