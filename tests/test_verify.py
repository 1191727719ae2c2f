"""What makes `pbs build` refuse to publish its archives."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbs.smoke import CheckResult
from pbs.validate import Problem, Report
from pbs.verify import ArchivesRejected, Verification, reject_failures

CLEAN = Report(files_checked=3, elf_files_checked=1, problems=())


def test_clean_archives_and_passed_tests_are_accepted(tmp_path: Path) -> None:
    verification = Verification(
        validations={"a.tar.gz": CLEAN},
        tests=(CheckResult("imports", "passed", "103 modules"),
               CheckResult("chroot", "skipped", "needs root")),
    )
    reject_failures(verification, tmp_path / "checks.log")


def test_every_problem_and_failed_test_is_named(tmp_path: Path) -> None:
    bad = Report(files_checked=3, elf_files_checked=1,
                 problems=(Problem("python/bin/python3.14", "glibc", "GLIBC_2.34 > 2.17"),))
    verification = Verification(
        validations={"a.tar.gz": CLEAN, "b.tar.gz": bad},
        tests=(CheckResult("imports", "failed", "cannot import _ssl"),),
    )
    with pytest.raises(ArchivesRejected) as caught:
        reject_failures(verification, tmp_path / "checks.log")
    message = str(caught.value)
    assert "failed 2 checks, so none was written" in message
    assert "b.tar.gz: python/bin/python3.14: glibc: GLIBC_2.34 > 2.17" in message
    assert "test imports: cannot import _ssl" in message
    assert "a.tar.gz" not in message


def test_a_long_list_is_cut_and_counted(tmp_path: Path) -> None:
    problems = tuple(Problem(f"f{i:02}", "build-path", "/cache") for i in range(25))
    verification = Verification(
        validations={"a.tar.gz": Report(files_checked=25, elf_files_checked=0, problems=problems)},
        tests=(),
    )
    with pytest.raises(ArchivesRejected, match="and 5 more"):
        reject_failures(verification, tmp_path / "checks.log")
