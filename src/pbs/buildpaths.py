"""The one scan for build-machine paths in a tree's files, shared by relocation (which must
leave none) and `pbs validate` (which reports any).

Files are read as bytes: a path compiled into a binary counts as much as one in a text file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path


def regular_files(root: Path) -> Iterator[Path]:
    """Every regular file below `root`; symlinks are not followed (their targets are scanned
    where they lie)."""
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path


def named_in(path: Path, build_paths: Iterable[str]) -> list[str]:
    """The build paths that the file `path` contains."""
    # An empty path would be found in every file.
    needles = [build_path for build_path in build_paths if build_path]
    if not needles:
        return []
    data = path.read_bytes()
    return [needle for needle in needles if needle.encode() in data]


def files_naming(root: Path, build_paths: Iterable[str]) -> list[Path]:
    """The regular files under `root` that contain any of `build_paths`, sorted."""
    build_paths = list(build_paths)
    return sorted(path for path in regular_files(root) if named_in(path, build_paths))


def excerpt(path: Path, build_paths: Iterable[str]) -> str:
    """The bytes around the first of `build_paths` that `path` names, to show where it is."""
    data = path.read_bytes()
    for build_path in named_in(path, build_paths)[:1]:
        at = data.find(build_path.encode())
        return repr(data[max(0, at - 60): at + len(build_path) + 60])
    return ""
