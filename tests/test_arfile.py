"""Static libraries read member by member: names (long ones too), dates and owners."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pbs.arfile import members, undated_problems
from pbs.catalog import Catalog
from pbs.errors import PbsError
from pbs.toolchain import llvm_bin

LONG_NAME = "a_member_name_longer_than_sixteen_characters.o"


def archive(catalog: Catalog, tmp_path: Path, flags: str) -> Path:
    for name, body in (("short.o", b"one"), (LONG_NAME, b"three")):
        (tmp_path / name).write_bytes(body)
    out = tmp_path / f"lib{flags}.a"
    subprocess.run([llvm_bin(catalog.toolchain.llvm_major) / "llvm-ar", flags, out, "short.o",
                    LONG_NAME], cwd=tmp_path, check=True)
    return out


def test_members_in_order_with_their_bytes(catalog: Catalog, tmp_path: Path) -> None:
    read = members(archive(catalog, tmp_path, "rcsD"))
    assert [(m.name, m.data) for m in read] == [("short.o", b"one"), (LONG_NAME, b"three")]


def test_an_archive_with_dates_is_not_deterministic(catalog: Catalog, tmp_path: Path) -> None:
    assert undated_problems(archive(catalog, tmp_path, "rcsD")) == []
    problems = undated_problems(archive(catalog, tmp_path, "rcsU"))
    assert len(problems) == 2 and problems[0].startswith("short.o dated ")


def test_what_is_not_an_archive_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.a").write_bytes(b"!<thin>\n")
    with pytest.raises(PbsError, match="not a static library"):
        members(tmp_path / "x.a")
