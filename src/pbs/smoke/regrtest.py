"""CPython's own regression tests, run with the archive's interpreter, and their summary."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pbs.catalog import RegrtestPlan
from pbs.smoke.result import CheckResult, failed, passed, skipped
from pbs.smoke.tree import InstallTree

NAME = "regrtest"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_COUNT = re.compile(r"(\w+)=([\d,]+)")
_FAILED_HEADING = re.compile(r"^\d+ tests? failed:$")
# Generous: a worker is killed (and the file counted failed) only when a file truly hangs.
_TIMEOUT = 900


@dataclass(frozen=True, kw_only=True)
class Summary:
    """regrtest's closing "Total tests:" / "Total test files:" / "Result:" lines."""

    tests: dict[str, int]  # run, failures, skipped (test cases)
    files: dict[str, int]  # run, failed, skipped, resource_denied, env_changed, ...
    result: str  # SUCCESS, FAILURE, "FAILURE, ENV CHANGED", NO TESTS RAN, ...
    failed_files: tuple[str, ...]  # the files regrtest lists under "N tests failed:"

    def describe(self) -> str:
        run, failures, skips = (self.tests.get(k, 0) for k in ("run", "failures", "skipped"))
        text = f"run={run} passed={run - failures - skips} failed={failures} skipped={skips}"
        files = " ".join(f"{key}={value}" for key, value in self.files.items())
        return f"{text}; files: {files}"


def parse_summary(output: str) -> Summary | None:
    tests: dict[str, int] = {}
    files: dict[str, int] = {}
    result = None
    failed_files: list[str] = []
    in_failed_list = False
    for line in _ANSI.sub("", output).splitlines():
        # "2 tests failed:" then the names, indented, over one or more lines.
        if _FAILED_HEADING.match(line):
            in_failed_list = True
            continue
        if in_failed_list and line.startswith("    "):
            failed_files += line.split()
            continue
        in_failed_list = False
        if line.startswith("Total tests:"):
            tests = _counts(line)
        elif line.startswith("Total test files:"):
            files = _counts(line)
        elif line.startswith("Result: "):
            result = line.removeprefix("Result: ").strip()
    if result is None or not tests:
        return None
    return Summary(tests=tests, files=files, result=result, failed_files=tuple(failed_files))


def _counts(line: str) -> dict[str, int]:
    # "run=19/19 (filtered)": the first number counts what ran.
    return {key: int(value.replace(",", "")) for key, value in _COUNT.findall(line)}


def command(plan: RegrtestPlan, available: set[str], *, full: bool) -> list[str]:
    """regrtest's arguments: the selection (or, with `full`, everything but the skipped files)."""
    args = [
        "-m",
        "test",
        "-j2",
        "--timeout",
        str(_TIMEOUT),
        "-u",
        ",".join(plan.resources),
    ]
    for pattern in plan.skip_tests:
        args += ["-i", pattern]
    if full:
        # With -x, the names that follow are the files *not* to run.
        return [*args, "-x", *plan.skip_files]
    return [*args, *(name for name in plan.selection if name in available)]


def check(tree: InstallTree, plan: RegrtestPlan, *, full: bool) -> CheckResult:
    test_dir = tree.stdlib / "test"
    if not (test_dir / "libregrtest").is_dir():
        return skipped(NAME, "the archive has no test suite (install_only archives carry none)")
    available = {path.name.removesuffix(".py") for path in test_dir.glob("test_*")}
    result = tree.run([tree.python, *command(plan, available, full=full)], step=NAME)
    summary = parse_summary(result.output)
    if summary is None:
        return failed(NAME, f"no regrtest summary (exit code {result.returncode}); see {tree.log}")
    if result.returncode != 0 or summary.result != "SUCCESS":
        names = " ".join(summary.failed_files) or "none listed"
        return failed(
            NAME,
            f"{summary.result}: {summary.describe()}; failed: {names}; see {tree.log}",
        )
    return passed(NAME, summary.describe())
