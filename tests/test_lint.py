"""pyflakes over pbs's own code: a name used but never defined fails here, not an hour into a
build (a CPython stage once called a module it no longer imported)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pbs

PACKAGE = Path(pbs.__file__).parent


def test_pbs_code_has_no_undefined_or_unused_names() -> None:
    # The scripts the built Python runs import modules only to prove they import.
    files = [p for p in PACKAGE.rglob("*.py") if "scripts" not in p.relative_to(PACKAGE).parts]
    result = subprocess.run([sys.executable, "-m", "pyflakes", *files],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
