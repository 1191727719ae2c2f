"""`python -m pbs.apinames PYTHON` records the public names of PYTHON, a build of a catalogued
CPython against the build machine's own glibc, as the reference of its version
(catalog/api.toml says which modules; pbs.smoke.api compares archives with it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pbs.catalog import load_catalog
from pbs.errors import PbsError, UsageError
from pbs.runner import Runner, run
from pbs.smoke.api import public_names, reference_path


def record_reference(python: str, runner: Runner, log: Path) -> Path:
    """Write `python`'s names as the reference of its CPython version, which pbs must build."""
    catalog = load_catalog()
    found = public_names(python, catalog.api.modules, runner=runner, log=log)
    version = found.python
    if version not in {p.version for p in catalog.pythons}:
        raise UsageError(f"{python} is CPython {version}, which pbs does not build; the reference "
                         "must come from the same source as pbs's build")
    path = reference_path(version)
    path.write_text(json.dumps(
        {"python": str(version), "build": found.build, "names": found.names}, indent=1) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m pbs.apinames PYTHON  (a build of a catalogued CPython against "
              "this machine's glibc)", file=sys.stderr)
        return 2
    try:
        path = record_reference(args[0], run, Path("/dev/null"))
    except PbsError as exc:
        print(f"pbs.apinames: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
