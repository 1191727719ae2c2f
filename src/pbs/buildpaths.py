"""The one scan for build-machine paths in a tree's files, shared by relocation (which must
leave none), the toolchain step and `pbs validate` (which report any).

Files are read as bytes: a path compiled into a binary counts as much as one in a text file.
A build path is a string found anywhere in a file (a path pbs was given or built in) or a
pattern whose match is one (a directory of this machine, the cache's staging layout).
"""

from __future__ import annotations

import importlib.util
import os
import re
import site
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from pbs.cache import LAYOUT_PATTERNS

BuildPath = str | re.Pattern[bytes]

# Directories too general to be a leak: the stdlib names /tmp/, /home/ and /mnt/ in dozens of
# files. A machine path that is a top-level directory, one of these, or holds one, is not
# looked for.
SYSTEM_DIRS = ("/usr/bin", "/usr/lib", "/usr/local", "/usr/share", "/var/lib", "/var/tmp")


def regular_files(root: Path) -> Iterator[Path]:
    """Every regular file below `root`; symlinks are not followed (their targets are scanned
    where they lie)."""
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path


def machine_paths(*packages: str) -> tuple[str, ...]:
    """The directories of this machine that a build could leak: the current and home
    directories, the Python pbs runs on (its prefixes and site-packages), pbs's own code and
    the installed `packages` (zig's), each as given and resolved; none a system directory."""
    found = [os.getcwd(), str(Path.home()), sys.prefix, sys.base_prefix, sys.exec_prefix,
             sys.base_exec_prefix, *site.getsitepackages(), site.getusersitepackages(),
             # The directory holding the pbs package: site-packages, or a source checkout.
             str(Path(__file__).resolve().parent.parent)]
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin is not None:
            found.append(str(Path(spec.origin).parent))
    paths = {path for given in found for path in (given, os.path.realpath(given))}
    return tuple(sorted(path for path in paths if not _general(path)))


def machine_needles(*packages: str) -> list[BuildPath]:
    """machine_paths as patterns, and the cache's staging layout wherever the cache is.

    A directory is found only as a whole path (followed by "/", NUL or the end): /work/main
    is not in /work/mainly, nor /root in test data's "</root>". The home directory is found
    only with a hidden entry (~/.local, ~/.cache, ~/.pyenv: where tools keep what a build
    leaks), as stdlib tests use sample paths such as /root/its/here.
    """
    homes = {str(Path.home()), os.path.realpath(Path.home())} - {"/"}
    return [
        *(_whole_path(path) for path in machine_paths(*packages) if path not in homes),
        *(_hidden_entries(home) for home in sorted(homes)),
        *LAYOUT_PATTERNS,
    ]


def named_in(path: Path, build_paths: Iterable[BuildPath]) -> list[str]:
    """The build paths that the file `path` contains (for a pattern, the text it matched)."""
    # An empty path would be found in every file.
    needles = [build_path for build_path in build_paths if build_path]
    if not needles:
        return []
    data = path.read_bytes()
    return [found for needle in needles if (found := _find(data, needle))]


def files_naming(root: Path, build_paths: Iterable[BuildPath]) -> list[Path]:
    """The regular files under `root` that contain any of `build_paths`, sorted."""
    build_paths = list(build_paths)
    return sorted(path for path in regular_files(root) if named_in(path, build_paths))


def excerpt(path: Path, build_paths: Iterable[BuildPath]) -> str:
    """The bytes around the first of `build_paths` that `path` names, to show where it is."""
    data = path.read_bytes()
    for found in named_in(path, build_paths)[:1]:
        at = data.find(found.encode())
        return repr(data[max(0, at - 60): at + len(found) + 60])
    return ""


def _find(data: bytes, needle: BuildPath) -> str | None:
    if isinstance(needle, str):
        return needle if needle.encode() in data else None
    match = needle.search(data)
    return match.group().decode(errors="replace") if match else None


def _whole_path(path: str) -> re.Pattern[bytes]:
    return re.compile(re.escape(os.fsencode(path)) + rb"(?=[/\0]|\Z)")


def _hidden_entries(directory: str) -> re.Pattern[bytes]:
    """A hidden entry of `directory`, matched by its name: /root/.local."""
    return re.compile(re.escape(os.fsencode(directory)) + rb"/\.[\w+-][\w.+-]*")


def _general(path: str) -> bool:
    """A top-level directory (`/`, /usr, /home), a system directory, or one that holds one."""
    return path.rstrip("/").count("/") <= 1 or any(
        system == path or system.startswith(path.rstrip("/") + "/") for system in SYSTEM_DIRS)
