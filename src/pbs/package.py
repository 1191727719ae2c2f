"""Staged distribution tree → full / install_only / install_only_stripped archives.

Every archive is deterministic: the same tree gives the same bytes whatever the files'
mtimes on disk, the order their directories were created in, or who owns them.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import secrets
import shutil
import stat
import tarfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Literal, get_args

import zstandard

from pbs import interrupt
from pbs.cache import held_directory, notice, sweep_held
from pbs.catalog.model import InstallOnlySpec
from pbs.errors import PbsError
from pbs.names import ArchiveNames
from pbs.runner import Runner

Compression = Literal["zst", "gz"]

# Level 10 compresses within ~1% of level 15 at several times its speed (measured on a
# stdlib tree); a single thread because multithreaded zstd output can differ run to run.
_ZSTD_LEVEL = 10
_GZIP_LEVEL = 9
_CHUNK_SIZE = 1 << 20
_ELF_MAGIC = b"\x7fELF"
SHA256SUMS = "SHA256SUMS"
# The staging directory inside the output directory, and in it the list of the archives it
# publishes, written once they are all ready.
STAGING_PREFIX = ".package-"
_PUBLISHING = "PUBLISHING"

def package(
    dist_root: Path, out_dir: Path, names: ArchiveNames, *, mtime: int, strip: Path, log: Path,
    runner: Runner, install_only: InstallOnlySpec | None,
    check: Callable[[list[Path]], None] | None = None,
) -> list[Path]:
    """Write the full, install_only and install_only_stripped archives of `dist_root`, the
    latter two without what `install_only` leaves out (the full archive alone when it is None).

    `dist_root/python` holds PYTHON.json, install/, build/ and licenses/. `strip` is an
    llvm-strip binary, run by `runner` with `log`. `mtime` (normally
    SOURCE_DATE_EPOCH) becomes every member's mtime. Everything is first written in a
    staging directory inside `out_dir`, so a failure leaves no new archive behind.
    `dist_root` is never modified. `check`, if given, is called with the staged archives
    before they are moved; whatever it raises stops the publication too.

    The archives and `out_dir/SHA256SUMS` (naming them, replaced last) are published as one
    set: an interruption meanwhile waits for the end of the moves, and if the process is
    killed during them, the next run into `out_dir` finishes them (`recover`).
    Returns the archives' paths in the order full, install_only, install_only_stripped.
    """
    python = dist_root / "python"
    install = python / "install"
    for required in (python / "PYTHON.json", install):
        if not required.exists():
            raise PbsError(f"cannot package {dist_root}: {required} is missing")
    with held_directory(out_dir, STAGING_PREFIX) as staging:
        built = [staging / names.full()]
        stripped: dict[PurePosixPath, Path] = {}
        if install_only is not None:
            built += [staging / names.install_only(), staging / names.install_only_stripped()]
            # Strip first: it runs an external tool, the likeliest step to fail.
            stripped = _strip_elf_files(install, staging / "stripped", install_only.leaves_out,
                                        strip=strip, log=log, runner=runner)
        write_tar(python, built[0], arcname_root="python", compression="zst", mtime=mtime)
        if install_only is not None:
            for archive, replacements in zip(built[1:], ({}, stripped)):
                write_tar(install, archive, arcname_root="python", compression="gz",
                          mtime=mtime, exclude=install_only.leaves_out,
                          replacements=replacements)
        if check is not None:
            check(built)
        with interrupt.deferred():
            ready = staging / _PUBLISHING
            with _atomic_file(ready) as tmp:
                tmp.write_text("".join(f"{archive.name}\n" for archive in built))
            _publish(staging, out_dir)
    return [out_dir / archive.name for archive in built]


def recover(out_dir: Path) -> None:
    """Deal with what killed runs left in `out_dir`: finish a publication that had begun,
    remove the other staging directories."""
    sweep_held(out_dir, STAGING_PREFIX, salvage=lambda staging: _publish(staging, out_dir))


def _publish(staging: Path, out_dir: Path) -> None:
    """Move the archives a staging directory lists as ready into `out_dir`, SHA256SUMS last.

    The new SHA256SUMS is written before anything moves, so only renames remain. Safe to
    repeat: an archive a killed run already moved is found in `out_dir`.
    """
    ready = staging / _PUBLISHING
    if not ready.is_file():
        return  # killed before its archives were all ready: nothing of it is published
    names = [name for name in ready.read_text().split() if PurePosixPath(name).name == name]
    archives = [staging / name if os.path.lexists(staging / name) else out_dir / name
                for name in names]
    sums = staging / SHA256SUMS
    sums.write_text(sha256sums_text(out_dir / SHA256SUMS, archives))
    staged = [archive for archive in archives if archive.parent == staging]
    for archive in staged:
        os.replace(archive, out_dir / archive.name)
    os.replace(sums, out_dir / SHA256SUMS)
    if len(staged) < len(archives):
        notice(f"finished publishing {', '.join(names)} in {out_dir}, which a killed run had "
               "begun")


def write_tar(
    entries_root: Path,
    archive: Path,
    *,
    arcname_root: str,
    compression: Compression,
    mtime: int,
    exclude: Callable[[PurePosixPath], bool] = lambda path: False,
    replacements: Mapping[PurePosixPath, Path] | None = None,
) -> None:
    """Archive the tree `entries_root` as `archive`, its members under `arcname_root`.

    Members come in path order, each directory before its contents; all get mtime
    `mtime`, owner 0/0 with empty names, and their permission bits from disk. Symlinks
    stay symlinks; hard links become regular files. `exclude` is asked about each path
    relative to `entries_root`; an excluded directory drops its whole subtree.
    `replacements` maps such relative paths of regular files to files whose bytes are
    archived instead (the member keeps the original's mode). The archive is written
    beside `archive` and renamed into place, so a failure leaves no partial file.
    """
    if compression not in get_args(Compression):
        raise PbsError(f"cannot write {archive.name}: unknown compression {compression!r}")
    if not entries_root.is_dir():
        raise PbsError(f"cannot archive {entries_root}: not a directory")
    replacements = replacements or {}
    with _atomic_file(archive) as tmp_archive, _temporary_beside(archive, ".tar") as tmp_tar:
        # The uncompressed tar goes to disk first so zstd can record the content size.
        with tarfile.open(tmp_tar, "w", format=tarfile.PAX_FORMAT) as tar:
            for relative in [PurePosixPath("."), *_walk(entries_root, exclude)]:
                _add_member(
                    tar,
                    entries_root / relative,
                    arcname=(PurePosixPath(arcname_root) / relative).as_posix(),
                    mtime=mtime,
                    content=replacements.get(relative),
                )
        _compress(tmp_tar, tmp_archive, compression)


def sha256sums_text(sums: Path, archives: Sequence[Path]) -> str:
    """The SHA256SUMS file `sums` (`sha256sum -c` format) once it names `archives`.

    Lines of other files are kept, so several builds into one directory accumulate; a file
    named again gets its new digest. Archives are named by file name; lines are sorted.
    """
    digests = read_sha256sums(sums) if sums.exists() else {}
    for archive in archives:
        digests[archive.name] = sha256_of(archive)
    return "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))


def _walk(root: Path, exclude: Callable[[PurePosixPath], bool]) -> Iterator[PurePosixPath]:
    """Paths under `root`, relative to it, sorted, each directory before its contents."""

    def visit(directory: Path, relative: PurePosixPath) -> Iterator[PurePosixPath]:
        # Sorting the names, not trusting scandir, hides the order files were created in.
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            child = relative / entry.name
            if exclude(child):
                continue
            yield child
            if entry.is_dir(follow_symlinks=False):
                yield from visit(Path(entry.path), child)

    return visit(root, PurePosixPath())


def _add_member(
    tar: tarfile.TarFile, path: Path, *, arcname: str, mtime: int, content: Path | None
) -> None:
    # TarInfo is built by hand: gettarinfo would record owners, real mtimes and hard links.
    st = path.lstat()
    info = tarfile.TarInfo(arcname)
    info.mode = stat.S_IMODE(st.st_mode)
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif stat.S_ISLNK(st.st_mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path)
        tar.addfile(info)
    elif stat.S_ISREG(st.st_mode):
        with (content or path).open("rb") as data:
            info.size = os.fstat(data.fileno()).st_size
            tar.addfile(info, data)
    else:
        raise PbsError(f"cannot archive {path}: not a file, directory or symlink")


def _compress(source: Path, target: Path, compression: Compression) -> None:
    with source.open("rb") as src, target.open("wb") as dst:
        if compression == "zst":
            compressor = zstandard.ZstdCompressor(
                level=_ZSTD_LEVEL, threads=0, write_content_size=True
            )
            compressor.copy_stream(src, dst, size=source.stat().st_size)
        else:
            # No file name and a zero timestamp in the header: only the content counts.
            with gzip.GzipFile(
                filename="", mode="wb", fileobj=dst, compresslevel=_GZIP_LEVEL, mtime=0
            ) as gz:
                shutil.copyfileobj(src, gz, _CHUNK_SIZE)


def _strip_elf_files(
    install: Path, staging: Path, leaves_out: Callable[[PurePosixPath], bool], *, strip: Path,
    log: Path, runner: Runner,
) -> dict[PurePosixPath, Path]:
    """Stripped copies of the ELF files install_only ships (those `leaves_out` does not),
    keyed by path under install/."""
    staging.mkdir()
    stripped: dict[PurePosixPath, Path] = {}
    for index, relative in enumerate(_walk(install, leaves_out)):
        path = install / relative
        if path.is_symlink() or not path.is_file() or not _is_elf(path):
            continue
        # Numbered names keep the staging directory flat; the tree's layout lives in the keys.
        output = staging / f"{index}-{relative.name}"
        runner(
            [strip, "--strip-debug", "-o", output, path],
            step=f"strip {relative}",
            log=log,
        )
        stripped[relative] = output
    return stripped


def _is_elf(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(_ELF_MAGIC)) == _ELF_MAGIC


def read_sha256sums(path: Path) -> dict[str, str]:
    digests: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        digest, separator, name = line.partition("  ")
        if not separator or len(digest) != 64 or not name:
            raise PbsError(f"{path}:{number}: not a sha256sum line: {line!r}")
        digests[name] = digest
    return digests


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _temporary_beside(target: Path, suffix: str) -> Iterator[Path]:
    """A fresh path in `target`'s directory, removed on exit whatever happens."""
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}{suffix}"
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _atomic_file(target: Path) -> Iterator[Path]:
    """A temporary path that replaces `target` if the block succeeds (same filesystem)."""
    with _temporary_beside(target, ".partial") as tmp:
        yield tmp
        os.replace(tmp, target)
