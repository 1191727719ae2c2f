"""Safe unpacking of source archives: the only way pbs turns an archive into a tree."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import secrets
import shutil
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO, Protocol, cast

import zstandard

from pbs.errors import PbsError, UnsafeArchive

# Archive suffix -> compression of the tar inside it.
_TAR_SUFFIXES = {
    ".tar.gz": "gz",
    ".tgz": "gz",
    ".tar.xz": "xz",
    ".tar.bz2": "bz2",
    ".tar.zst": "zst",
    ".tar": "",
}
_DEB_SUFFIX = ".deb"
SUPPORTED_SUFFIXES = (*_TAR_SUFFIXES, _DEB_SUFFIX)

# The ar member of a .deb that holds the installed files -> its compression.
_DEB_DATA_MEMBERS = {
    "data.tar": "",
    "data.tar.gz": "gz",
    "data.tar.xz": "xz",
    "data.tar.bz2": "bz2",
    "data.tar.zst": "zst",
}
_AR_MAGIC = b"!<arch>\n"
_AR_HEADER_SIZE = 60
_CHUNK_SIZE = 1 << 16

# What a damaged or mislabelled archive raises while it is read (gzip and bz2 use
# OSError, which also covers write failures such as a full disk; the detail tells).
_READ_ERRORS = (
    tarfile.TarError,
    EOFError,
    OSError,
    zlib.error,
    lzma.LZMAError,
    zstandard.ZstdError,
)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def extract_archive(archive: Path, dest: Path) -> Path:
    """Unpack `archive` into the new directory `dest` and return `dest`.

    The format follows the file name (see SUPPORTED_SUFFIXES); for a .deb the
    payload (its data.tar.*) is what gets unpacked. Members are unpacked in a
    hidden staging directory beside `dest` that is renamed to `dest` only once
    every member is in place, so `dest` either holds the whole archive or does
    not exist. Raises UnsafeArchive for members that could write outside `dest`
    or are devices/FIFOs, and PbsError if `dest` exists or the archive is
    unreadable; in every failure the staging directory is removed.
    """
    if os.path.lexists(dest):
        raise PbsError(f"cannot extract {archive.name}: {dest} already exists")
    suffix = _suffix_of(archive)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Same parent as dest, so the final rename stays on one filesystem and is atomic.
    staging = dest.parent / f".{dest.name}.partial-{secrets.token_hex(6)}"
    staging.mkdir()
    try:
        _unpack(archive, suffix, staging)
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def source_root(extracted: Path) -> Path:
    """Return the directory that holds the sources inside an extracted archive.

    Source tarballs wrap everything in one top directory (`Python-3.12.4/`); when
    `extracted` contains exactly one entry and it is a real directory, that entry
    is returned, otherwise `extracted` itself. A .deb's payload usually holds only
    `./usr/...`, so for a .deb this returns `extracted/usr`.
    """
    entries = list(extracted.iterdir())
    # A lone symlink is not descended into: the caller should see the real tree.
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return extracted


def _suffix_of(archive: Path) -> str:
    name = archive.name.lower()
    for suffix in SUPPORTED_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    raise PbsError(
        f"cannot extract {archive.name}: unsupported archive type "
        f"(supported: {', '.join(SUPPORTED_SUFFIXES)})"
    )


def _unpack(archive: Path, suffix: str, staging: Path) -> None:
    try:
        with _open_tar(archive, suffix) as tar:
            _Unpacker(archive, staging).run(tar)
    except _READ_ERRORS as exc:
        raise PbsError(f"cannot read archive {archive.name}: {exc}") from exc


@contextmanager
def _open_tar(archive: Path, suffix: str) -> Iterator[tarfile.TarFile]:
    """Open `archive` as a forward-only tar stream, whatever its outer format."""
    with archive.open("rb") as f:
        if suffix == _DEB_SUFFIX:
            payload, compression = _deb_payload(f, archive)
        else:
            payload, compression = f, _TAR_SUFFIXES[suffix]
        stream = _decompressed(payload, compression)
        with tarfile.open(fileobj=cast(IO[bytes], stream), mode="r|") as tar:
            yield tar
            # tarfile stops at the end-of-archive block and ignores what follows;
            # reading on makes the decompressor check its end marker and checksum,
            # so a file cut off after a member boundary is still reported.
            while stream.read(_CHUNK_SIZE):
                pass


def _decompressed(stream: _Readable, compression: str) -> _Readable:
    """Wrap `stream` so that reading it yields the tar bytes.

    The stdlib file classes are used rather than tarfile's own "r|gz" and friends:
    they decode multi-stream files (pbzip2, concatenated gzip) and raise EOFError
    when the compressed data ends early.
    """
    raw = cast(BinaryIO, stream)
    if compression == "gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if compression == "xz":
        return lzma.LZMAFile(raw)
    if compression == "bz2":
        return bz2.BZ2File(raw)
    if compression == "zst":
        # Some compressors emit several frames; together they are the tar.
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return stream


def _deb_payload(f: BinaryIO, archive: Path) -> tuple[_Readable, str]:
    """Position `f` at the data.tar.* member of a .deb (an ar archive); return a reader over it."""

    def corrupt(detail: str) -> PbsError:
        return PbsError(f"cannot read archive {archive.name}: {detail}")

    if f.read(len(_AR_MAGIC)) != _AR_MAGIC:
        raise corrupt("not a Debian package (no ar header)")
    while True:
        header = f.read(_AR_HEADER_SIZE)
        if not header:
            raise corrupt(f"no {' / '.join(_DEB_DATA_MEMBERS)} member")
        size_field = header[48:58].strip()
        if len(header) != _AR_HEADER_SIZE or header[58:60] != b"`\n" or not size_field.isdigit():
            raise corrupt("damaged ar member header")
        # Names are space-padded; GNU ar also ends them with "/".
        name = header[:16].decode("ascii", "replace").rstrip(" ").removesuffix("/")
        size = int(size_field)
        if name in _DEB_DATA_MEMBERS:
            return _Slice(f, size), _DEB_DATA_MEMBERS[name]
        # Member data is padded to an even length.
        f.seek(size + size % 2, os.SEEK_CUR)


class _Slice:
    """Reads at most `size` bytes from `f`: one ar member, streamed rather than copied out."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f = f
        self._left = size

    def read(self, size: int = -1, /) -> bytes:
        if size < 0 or size > self._left:
            size = self._left
        data = self._f.read(size)
        self._left -= len(data)
        return data


def _name_problem(name: str) -> str | None:
    """Why `name` cannot be placed below the extraction root, or None if it can."""
    path = PurePosixPath(name)
    if path.is_absolute():
        return "is an absolute path"
    if ".." in path.parts:
        return "contains a '..' component"
    return None


def _real(path: Path) -> Path:
    """`path` with every symlink that exists on disk followed.

    Not Path.resolve(): on Python 3.11 it raises RuntimeError on a symlink loop,
    and loops are inert (the kernel refuses to follow them), not an error.
    """
    return Path(os.path.realpath(path))


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, with every symlink that exists on disk followed, lies within `root`."""
    return _real(path).is_relative_to(root)


class _Unpacker:
    """Validates and writes the members of one tar stream, in a single pass, into `staging`."""

    def __init__(self, archive: Path, staging: Path) -> None:
        self._archive = archive
        self._root = _real(staging)
        # Hard links may only point at files this archive already wrote.
        self._files: set[PurePosixPath] = set()
        # Real location -> member name of every symlink written, re-checked at the end.
        self._symlinks: dict[Path, str] = {}
        # Directory modes and mtimes are applied last: writing children changes
        # the mtime, and a read-only mode would block the children.
        self._directories: list[tuple[Path, tarfile.TarInfo]] = []

    def run(self, tar: tarfile.TarFile) -> None:
        for member in tar:
            self._extract(tar, member)
        # A symlink that was inside when written can be redirected by a later
        # one (`l -> x/..`, then `x -> .`); only the final tree tells.
        for path, name in self._symlinks.items():
            if path.is_symlink() and not _inside(path, self._root):
                raise self._refuse(
                    name, "is a symlink that resolves outside the destination once extracted"
                )
        for path, member in self._directories:
            # The owner keeps full access, so later build steps and cleanup can work here.
            os.chmod(path, (member.mode & 0o777) | 0o700)
            os.utime(path, (member.mtime, member.mtime))

    def _refuse(self, name: str, reason: str) -> UnsafeArchive:
        return UnsafeArchive(f"refusing to extract {self._archive.name}: member '{name}' {reason}")

    def _extract(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        problem = _name_problem(member.name)
        if problem:
            raise self._refuse(member.name, problem)
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
            raise self._refuse(member.name, _special_kind(member))
        rel = PurePosixPath(member.name)  # drops "./" and duplicate slashes
        if not rel.parts:
            if member.isdir():
                return  # the archive's "./" entry: the staging directory already is that
            raise self._refuse(member.name, "names the destination directory itself")

        # Resolve the parent on disk now, so an already-extracted symlink on the
        # way (`evil -> /tmp`, then `evil/payload`) is seen for what it is.
        parent = _real((self._root / rel).parent)
        if not parent.is_relative_to(self._root):
            raise self._refuse(
                member.name, "would be written through a symlink that leads outside the destination"
            )
        target = parent / rel.name
        link_source = self._check_link(member, parent)
        self._stdlib_check(member)

        parent.mkdir(parents=True, exist_ok=True)
        # A later member replaces an earlier one, as with tar; unlinking first
        # also keeps the write from following a symlink left at this name.
        if target.is_symlink() or target.is_file():
            target.unlink()
        if member.isdir():
            target.mkdir(exist_ok=True)
            self._directories.append((target, member))
        elif member.issym():
            os.symlink(member.linkname, target)
            os.utime(target, (member.mtime, member.mtime), follow_symlinks=False)
            self._symlinks[target] = member.name
        else:
            _write_file(tar, member, target, link_source)
        if member.isreg() or member.islnk():
            self._files.add(rel)
        else:
            self._files.discard(rel)

    def _check_link(self, member: tarfile.TarInfo, parent: Path) -> Path | None:
        """Refuse links that lead out of the tree; return a hard link's source file."""
        link = member.linkname
        if member.issym():
            if PurePosixPath(link).is_absolute():
                raise self._refuse(
                    member.name, f"is a symlink to '{link}', which is an absolute path"
                )
            if not _inside(parent / link, self._root):
                raise self._refuse(
                    member.name, f"is a symlink to '{link}', which resolves outside the destination"
                )
            return None
        if member.islnk():
            problem = _name_problem(link)
            if problem is None and PurePosixPath(link) not in self._files:
                problem = "is not an earlier file in the archive"
            if problem is None and not _inside(self._root / link, self._root):
                problem = "resolves outside the destination"
            if problem:
                raise self._refuse(member.name, f"is a hard link to '{link}', which {problem}")
            return _real(self._root / link)
        return None

    def _stdlib_check(self, member: tarfile.TarInfo) -> None:
        """Second line of defence: tarfile's own "data" filter must agree (Python 3.11.4+)."""
        data_filter = getattr(tarfile, "data_filter", None)
        if data_filter is None:
            return
        try:
            data_filter(member, str(self._root))
        except tarfile.FilterError as exc:
            raise self._refuse(member.name, f"is rejected by tarfile's data filter: {exc}") from exc


def _write_file(
    tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, link_source: Path | None
) -> None:
    """Write a regular file or hard link member, with its permission bits and mtime."""
    if link_source is not None:
        os.link(link_source, target)
    else:
        source = tar.extractfile(member)
        assert source is not None  # only None for non-regular members
        # "x" (O_EXCL) also refuses to follow a symlink at target.
        with source, open(target, "xb") as out:
            shutil.copyfileobj(source, out)
    # Permission bits only: no setuid/setgid/sticky. Ownership is never applied,
    # even as root: the files belong to whoever runs the build.
    os.chmod(target, member.mode & 0o777)
    os.utime(target, (member.mtime, member.mtime))


def _special_kind(member: tarfile.TarInfo) -> str:
    if member.ischr():
        return "is a character device"
    if member.isblk():
        return "is a block device"
    if member.isfifo():
        return "is a FIFO"
    return f"has unsupported tar type {member.type!r}"
