"""The PYTHON.json of an unpacked distribution, checked against its files before any of it is
used: a format-8 document (metadata.py's schema) whose every named path exists inside the
distribution's `python/` directory, symlinks followed. `pbs link`, `pbs test` and
`pbs validate` read it only through here."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pbs.errors import PbsError
from pbs.metadata import (
    FILE_NAME,
    FORMAT_VERSION,
    PythonJsonError,
    referenced_paths,
    schema_problems,
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


def load_python_json(python: Path, source: str) -> dict[str, Any]:
    """The PYTHON.json of the unpacked distribution whose python/ directory is `python`.

    Raises UnusablePythonJson naming `source` (the archive) and what is wrong.
    """
    document, problems = check_python_json(python)
    if document is None or problems:
        raise UnusablePythonJson(problems, f"python/{FILE_NAME} of {source}")
    return document


def check_python_json(python: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The parsed PYTHON.json of an unpacked distribution (None if it is not a JSON object)
    and every problem with it, checked against the files under `python`."""
    path = python / FILE_NAME
    if not _inside(path, python):
        return None, [f"{FILE_NAME} leads outside {python} through a symlink"]
    if not path.is_file():
        return None, [f"{FILE_NAME} is {'not a regular file' if path.exists() else 'missing'}"]
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        return None, [f"not valid JSON: {exc}"]
    problems = schema_problems(data, root=python)
    if not isinstance(data, dict):
        return None, problems
    return data, problems + _escaping_paths(data, python, problems)


def _escaping_paths(data: dict[str, Any], python: Path, known: list[str]) -> list[str]:
    """Named paths that exist but lead out of `python` through a symlink (a `..` or absolute
    path is a schema problem already)."""
    found = []
    for where, rel in referenced_paths(data):
        reported = any(problem.startswith(f"{where}: ") for problem in known)
        path = python / rel
        if not reported and os.path.lexists(path) and not _inside(path, python):
            found.append(f"{where}: {rel!r} leads outside {python} through a symlink")
    return found


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, with every symlink followed, lies within `root`."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))
