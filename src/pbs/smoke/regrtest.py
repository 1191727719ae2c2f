"""CPython's own regression tests, run with the archive's interpreter, and their summary."""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import Version

from pbs.catalog import RegrtestPlan
from pbs.smoke.result import CheckResult, failed, passed, skipped
from pbs.smoke.tree import InstallTree

NAME = "regrtest"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_COUNT = re.compile(r"(\w+)=([\d,]+)")
_FAILED_HEADING = re.compile(r"^\d+ tests? failed:$")
# Before 3.12 regrtest counts only files, in lines like "All 18 tests OK." and "1 test failed:".
_FILE_COUNT = re.compile(r"^(?:All )?(\d+) tests? (OK|failed|skipped)\b")
# Generous: a worker is killed (and the file counted failed) only when a file truly hangs.
_TIMEOUT = 900
# With -w, a file that fails among parallel workers is run once more, alone; regrtest then
# reports "FAILURE then SUCCESS" when the second run passed (a test sensitive to load, as
# CPython's own CI treats it), and the rerun files are named in the check's detail.
_PASSED_ON_RERUN = "FAILURE then SUCCESS"
_RERUN_HEADING = re.compile(r"^\d+ re-run tests?:$")


@dataclass(frozen=True, kw_only=True)
class Summary:
    """regrtest's closing "Total tests:" / "Total test files:" / "Result:" lines (3.12+), or
    before 3.12 its "N tests OK." / "N tests failed:" / "Tests result:" lines."""

    tests: dict[str, int]  # run, failures, skipped (test cases); empty before 3.12
    files: dict[str, int]  # run, failed, skipped, resource_denied, env_changed, ...
    result: str  # SUCCESS, FAILURE, "FAILURE, ENV CHANGED", NO TESTS RAN, ...
    failed_files: tuple[str, ...]  # the files regrtest lists under "N tests failed:"
    rerun_files: tuple[str, ...] = ()  # the files it ran a second time (-w)

    @property
    def passed(self) -> bool:
        return self.result in ("SUCCESS", _PASSED_ON_RERUN)

    def describe(self) -> str:
        files = " ".join(f"{key}={value}" for key, value in self.files.items())
        if not self.tests:
            return f"files: {files}"
        run, failures, skips = (self.tests.get(k, 0) for k in ("run", "failures", "skipped"))
        text = f"run={run} passed={run - failures - skips} failed={failures} skipped={skips}"
        return f"{text}; files: {files}"


def parse_summary(output: str) -> Summary | None:
    tests: dict[str, int] = {}
    files: dict[str, int] = {}
    result = None
    lists: dict[str, list[str]] = {"failed": [], "rerun": []}
    in_list = None
    for line in _ANSI.sub("", output).splitlines():
        if counted := _FILE_COUNT.match(line):
            files.setdefault(counted[2].lower(), int(counted[1]))
        # "2 tests failed:" or "1 re-run test:", then the names, indented, over several lines.
        if _FAILED_HEADING.match(line) or _RERUN_HEADING.match(line):
            in_list = "failed" if _FAILED_HEADING.match(line) else "rerun"
            continue
        if in_list and line.startswith("    "):
            lists[in_list] += line.split()
            continue
        in_list = None
        if line.startswith("Total tests:"):
            tests = _counts(line)
        elif line.startswith("Total test files:"):
            files = _counts(line)
        elif line.startswith(("Result: ", "Tests result: ")):
            result = line.split(": ", 1)[1].strip()
    if result is None or not (tests or files):
        return None
    return Summary(tests=tests, files=files, result=result, failed_files=tuple(lists["failed"]),
                   rerun_files=tuple(lists["rerun"]))


def _counts(line: str) -> dict[str, int]:
    # "run=19/19 (filtered)": the first number counts what ran.
    return {key: int(value.replace(",", "")) for key, value in _COUNT.findall(line)}


def command(plan: RegrtestPlan, available: set[str], version: Version, libc: str,
            options: tuple[str, ...], *, full: bool, emulated: bool = False) -> list[str]:
    """regrtest's arguments: the selection (or, with `full`, everything but the skipped files);
    `emulated` when the interpreter runs under an emulator."""
    args = [
        "-m",
        "test",
        "-j2",
        "-w",
        "--timeout",
        str(_TIMEOUT),
        "-u",
        ",".join(plan.resources),
    ]
    for pattern in plan.skip_patterns(version, libc, options, emulated=emulated):
        args += ["-i", pattern]
    skipped = plan.files_skipped(options)
    if full:
        # With -x, the names that follow are the files *not* to run.
        return [*args, "-x", *skipped]
    return [*args, *(name for name in plan.selection
                     if name in available and name not in skipped)]


def check(tree: InstallTree, plan: RegrtestPlan, *, full: bool, libc: str,
          options: tuple[str, ...]) -> CheckResult:
    test_dir = tree.stdlib / "test"
    if not (test_dir / "libregrtest").is_dir():
        return skipped(NAME, "the archive has no test suite (install_only archives carry none)")
    available = {path.name.removesuffix(".py") for path in test_dir.glob("test_*")}
    # lib/python3.X, or python3.Xt when free-threaded
    version = Version(tree.stdlib.name.removeprefix("python").removesuffix("t"))
    arguments = command(plan, available, version, libc, options, full=full,
                        emulated=tree.emulator is not None)
    result = tree.run([tree.python, *arguments], step=NAME)
    summary = parse_summary(result.output)
    if summary is None:
        return failed(NAME, f"no regrtest summary (exit code {result.returncode}); see {tree.log}")
    if result.returncode != 0 or not summary.passed:
        names = " ".join(summary.failed_files) or "none listed"
        return failed(
            NAME,
            f"{summary.result}: {summary.describe()}; failed: {names}; see {tree.log}",
        )
    if summary.rerun_files:
        return passed(NAME, f"{summary.describe()}; passed when run again alone: "
                            f"{' '.join(summary.rerun_files)}")
    return passed(NAME, summary.describe())
