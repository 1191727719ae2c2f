"""The release configuration end to end: `pbs build` of CPython 3.14 pgo+lto, whose gate runs
CPython's whole test suite, and the operators that a miscompiled optimized build got wrong.

Marked `optimized`: a pgo+lto build takes about 35 minutes on 2 cores (with the dependencies in
the cache), so it is run by developers (`python3 -m pytest -m optimized`), not by CI. It uses
the default pbs cache, so that it reuses what earlier builds there left.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pbs.sources.extract import extract_archive

pytestmark = [pytest.mark.slow, pytest.mark.optimized]

TAG = "20260102"
INSTALL_ONLY = f"cpython-3.14.7+{TAG}-x86_64-unknown-linux-gnu-install_only.tar.gz"
# The two operations the miscompiled pgo+lto build crashed on or computed wrongly.
SNIPPETS = {
    "class L(list): pass\n(3,) + L([1, 2])": "can only concatenate tuple",
    "import datetime\nclass D(datetime.datetime): pass\nD(2002, 3, 2, 17, 6) + 1":
        "unsupported operand type",
}


@pytest.fixture(scope="module")
def release_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "pbs", "build", "--python", "3.14", "--options", "pgo+lto",
         "--tag", TAG, "--out", str(dist), "-j", str(os.cpu_count() or 1)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return dist, result.stdout


def test_the_release_build_passed_cpythons_whole_test_suite(release_build: tuple[Path, str]) -> None:
    _, output = release_build
    (regrtest,) = [line for line in output.splitlines() if "regrtest" in line]
    # The whole suite runs over 40,000 test cases; the selection a few thousand.
    run = int(regrtest.split("run=")[1].split()[0])
    assert run > 40_000, regrtest
    assert "failed=0" in regrtest, regrtest


@pytest.mark.parametrize("code", list(SNIPPETS))
def test_operators_on_subclasses_of_builtins_raise_type_error(
    release_build: tuple[Path, str], tmp_path: Path, code: str
) -> None:
    dist, _ = release_build
    python = extract_archive(dist / INSTALL_ONLY, tmp_path / "root") / "python"
    result = subprocess.run([python / "bin" / "python3", "-c", code],
                            capture_output=True, text=True, check=False)
    # A crash shows as a negative return code (the signal); a wrong result as success.
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "TypeError" in result.stderr and SNIPPETS[code] in result.stderr, result.stderr
