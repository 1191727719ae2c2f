"""What `pbs build` proves about its archives before it publishes them.

Every archive is validated (read, never run); the full archive, which alone carries CPython's
test suite, is also unpacked elsewhere and put to work by `pbs test`. Anything wrong stops the
build, so dist/ only ever receives archives that passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pbs.buildpaths import BuildPath
from pbs.catalog import IsaSpec, Target
from pbs.errors import PbsError
from pbs.loader import ToolchainLibc
from pbs.runner import Runner
from pbs.smoke import CheckResult, test_archive
from pbs.validate import Report, render, validate_archive

# A failure message lists this many problems; the log has them all.
SHOWN_PROBLEMS = 20


class ArchivesRejected(PbsError):
    """A built archive failed validation or a test; none was published."""


@dataclass(frozen=True, kw_only=True)
class Verification:
    validations: dict[str, Report]  # archive file name -> its validation
    tests: tuple[CheckResult, ...]  # of the full archive; empty when tests were not run


def validate_staged(
    staged: Sequence[Path], *, target: Target, forbidden_paths: Sequence[BuildPath],
    isa: IsaSpec, log: Path,
) -> dict[str, Report]:
    """Every archive's validation, each also written to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    validations = {}
    with log.open("a") as sink:
        for archive in staged:
            report = validate_archive(archive, target, forbidden_paths, isa)
            sink.write(f"pbs validate {archive.name}\n" + "\n".join(render(report)) + "\n")
            validations[archive.name] = report
    return validations


def test_staged(staged: Sequence[Path], *, full_regrtest: bool, log: Path,
                runner: Runner, libc: ToolchainLibc | None = None) -> tuple[CheckResult, ...]:
    """`pbs test` of the full archive, the one that carries CPython's test suite (all of it
    with `full_regrtest`, as `pbs test --full`); `libc` as for test_archive."""
    return tuple(test_archive(staged[0], full_regrtest=full_regrtest, log=log, runner=runner,
                              libc=libc))


def reject_failures(verification: Verification, log: Path) -> None:
    """Raise ArchivesRejected naming what failed, if anything did."""
    failures = [
        f"{name}: {problem}"
        for name, report in verification.validations.items()
        for problem in report.problems
    ] + [
        f"test {result.name}: {result.detail}"
        for result in verification.tests
        if result.outcome == "failed"
    ]
    if failures:
        shown = "\n  ".join(failures[:SHOWN_PROBLEMS])
        hidden = len(failures) - SHOWN_PROBLEMS
        more = f"\n  … and {hidden} more" if hidden > 0 else ""
        raise ArchivesRejected(
            f"the built archives failed {len(failures)} checks, so none was written:\n  "
            f"{shown}{more}\nlog: {log}"
        )
