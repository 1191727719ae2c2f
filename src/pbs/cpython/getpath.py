"""Prefix discovery from the running executable (an edit of CPython's Modules/getpath.py).

CPython finds its prefix by searching up from the directory the executable was *named* in.
Where that is not the tree (a venv whose `home` is a directory of symlinks into it, as uv's
`~/.local/bin` is; an argv[0] that names no file, as `exec -a` and some process managers give),
the search fails and the prefix falls back to the compiled-in `/install`: `Failed to import
encodings module`. On Linux the kernel knows the real executable (`/proc/self/exe`); this edit
searches from there when, and only when, the named directory holds no standard library.
"""

from __future__ import annotations

from pathlib import Path

from pbs.errors import PbsError

# Every CPython getpath.py (3.11 on) computes prefix in this block, inside the `else:` of
# `if py_setpath:`, after the runtime library's directory was tried.
ANCHOR = "    # Detect prefix by looking for zip file\n"

SEARCH_FROM_RUNNING_EXECUTABLE = """\
    # pbs: the tree is relocatable. If the directory the executable was named in holds no
    # standard library (a venv's home made of symlinks, an argv[0] naming no file), search
    # from the executable that is really running.
    if (os_name == 'posix' and not prefix and STDLIB_LANDMARKS
            and not (executable_dir and search_up(executable_dir, *STDLIB_LANDMARKS))):
        try:
            running_dir = dirname(realpath('/proc/self/exe'))
        except OSError:
            running_dir = ''
        if running_dir and search_up(running_dir, *STDLIB_LANDMARKS):
            executable_dir = running_dir

"""


def search_from_running_executable(source_dir: Path) -> None:
    """Edit `source_dir`'s Modules/getpath.py (make refreezes it, as the file is newer)."""
    getpath = source_dir / "Modules" / "getpath.py"
    text = getpath.read_text()
    if text.count(ANCHOR) != 1:
        raise PbsError(f"{getpath} has no single '{ANCHOR.strip()}' line to search for the "
                       "prefix from the running executable before")
    getpath.write_text(text.replace(ANCHOR, SEARCH_FROM_RUNNING_EXECUTABLE + ANCHOR))
