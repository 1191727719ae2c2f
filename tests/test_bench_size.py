"""The size benchmark's reading of archives: what it counts, and how it names flavors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pbs.package import write_tar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from harness import sizes


@pytest.mark.parametrize("compression", ["gz", "zst"])
def test_an_archive_is_measured_by_its_regular_files_not_its_links(
    tmp_path: Path, compression: str
) -> None:
    tree = tmp_path / "tree"
    (tree / "lib").mkdir(parents=True)
    (tree / "lib" / "big").write_bytes(b"x" * 5000)
    (tree / "lib" / "middle").write_bytes(b"y" * 300)
    (tree / "small").write_bytes(b"z" * 7)
    (tree / "link").symlink_to("small")
    name = "cpython-3.14.7+20261129-x86_64-unknown-linux-gnu-install_only"
    archive = tmp_path / f"{name}.tar.{compression}"
    write_tar(tree, archive, arcname_root="python", compression=compression, mtime=0)

    measured = sizes.measure(archive, top=2)

    assert measured.flavor == "install_only"
    assert measured.archive_bytes == archive.stat().st_size
    assert (measured.files, measured.unpacked_bytes) == (3, 5000 + 300 + 7)
    assert [(f.path, f.bytes) for f in measured.biggest] == [("python/lib/big", 5000),
                                                             ("python/lib/middle", 300)]
    assert sizes.ArchiveSize.from_json(measured.to_json()) == measured


def test_flavors_are_told_apart_by_the_name_alone() -> None:
    stem = "cpython-3.13.15+20261129-x86_64-unknown-linux-gnu"
    assert sizes.flavor_of(Path(f"{stem}-pgo+lto-full.tar.zst")) == "full"
    assert sizes.flavor_of(Path(f"{stem}-install_only.tar.gz")) == "install_only"
    assert sizes.flavor_of(Path(f"{stem}-install_only_stripped.tar.gz")) == "install_only_stripped"
    with pytest.raises(ValueError, match="not named as a pbs archive flavor"):
        sizes.flavor_of(Path(f"{stem}.tar.gz"))


@pytest.mark.parametrize(("argv", "error"), [
    (["--python", "9.9"], "unknown Python version '9.9'"),
    (["--options", "bogus"], "unknown build options 'bogus'"),
    (["--top", "0"], "--top wants a positive number of files"),
])
def test_bad_input_is_refused_in_one_line_before_any_work(
    tmp_path: Path, argv: list[str], error: str
) -> None:
    work = tmp_path / "work"
    done = subprocess.run([sys.executable, REPO / "benchmarks" / "size.py", *argv,
                           "--work-dir", work], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert error in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert not work.exists()
