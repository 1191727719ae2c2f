"""The PYTHON.json of an unpacked distribution, checked against its files before any of it is
used: a format-8 document (metadata.py's model) whose every named path exists inside the
distribution's `python/` directory, symlinks followed. `pbs link`, `pbs test` and
`pbs validate` read it only through here."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pbs.errors import PbsError
from pbs.metadata import (
    FILE_NAME,
    FORMAT_VERSION,
    PythonJson,
    PythonJsonError,
    read_python_json,
)

# The one-line error shows this many problems; `problems` holds them all.
SHOWN_PROBLEMS = 5


class UnusablePythonJson(PythonJsonError):
    """A distribution's PYTHON.json that cannot be used, in one line naming the archive."""

    def __init__(self, problems: Iterable[str], source: str) -> None:
        self.problems = list(problems)
        shown = "; ".join(self.problems[:SHOWN_PROBLEMS])
        if len(self.problems) > SHOWN_PROBLEMS:
            shown += f" (and {len(self.problems) - SHOWN_PROBLEMS} more)"
        PbsError.__init__(self, f"{source} is not a valid format-{FORMAT_VERSION} "
                                f"{FILE_NAME}: {shown}")


def load_python_json(python: Path, source: str) -> PythonJson:
    """The PYTHON.json of the unpacked distribution whose python/ directory is `python`.

    Raises UnusablePythonJson naming `source` (the archive) and what is wrong.
    """
    document, problems = check_python_json(python)
    if document is None or problems:
        raise UnusablePythonJson(problems, f"python/{FILE_NAME} of {source}")
    return document


def check_python_json(python: Path) -> tuple[PythonJson | None, list[str]]:
    """The PYTHON.json of an unpacked distribution (None if it does not follow the format)
    and every problem with it, checked against the files under `python`."""
    path = python / FILE_NAME
    if not _inside(path, python):
        return None, [f"{FILE_NAME} leads outside {python} through a symlink"]
    if not path.is_file():
        return None, [f"{FILE_NAME} is {'not a regular file' if path.exists() else 'missing'}"]
    try:
        document = read_python_json(path)
    except PythonJsonError as exc:
        return None, exc.problems
    return document, _tree_problems(document, python)


def _tree_problems(document: PythonJson, python: Path) -> list[str]:
    """Named paths that are missing under `python`, or lead out of it through a symlink (a
    `..` or absolute path is a schema problem already)."""
    problems = []
    for where, rel in document.paths():
        path = python / rel
        if not path.exists():
            problems.append(f"{where}: {rel!r} does not exist under {python}")
        elif not _inside(path, python):
            problems.append(f"{where}: {rel!r} leads outside {python} through a symlink")
    return problems


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, with every symlink followed, lies within `root`."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))
