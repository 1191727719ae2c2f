"""The engine of `pbs test`: runs a built archive's interpreter through checks of what the
distribution promises (every module imports, TLS, SQLite, terminals, venv/pip, relocation,
a bare chroot, CPython's own tests) and reports each as passed, failed or skipped."""

from pbs.smoke.engine import test_archive
from pbs.smoke.result import CheckResult, render

__all__ = ["CheckResult", "render", "test_archive"]
