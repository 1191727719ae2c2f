"""Checks that are one script run by the archive's interpreter: it passes when the script does."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pbs.smoke.result import CheckResult, failed, last_line, passed, tail
from pbs.smoke.tree import InstallTree


def scripted(
    tree: InstallTree,
    name: str,
    script: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    python: Path | None = None,
) -> CheckResult:
    """Run scripts/<script>.py; its last output line is the summary, its tail the failure."""
    result = tree.script(script, *args, step=name, env=env, python=python)
    if result.returncode != 0:
        return failed(name, f"exit code {result.returncode}:\n{tail(result.output)}")
    return passed(name, last_line(result.output))
