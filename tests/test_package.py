from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest
import zstandard
from elftools.elf.elffile import ELFFile

from pbs.catalog import load_catalog
from pbs.errors import CommandFailed, PbsError
from conftest import RecordingRunner, killed_leftover
from pbs.package import (
    SHA256SUMS,
    STAGING_PREFIX,
    package,
    recover,
    sha256sums_text,
    write_tar,
)
from pbs.names import ArchiveNames
from pbs.runner import run

SOURCE_DATE_EPOCH = 1_700_000_000
INSTALL_ONLY = load_catalog().release.install_only
LLVM_STRIP = Path("/usr/lib/llvm-22/bin/llvm-strip")
CC = shutil.which("cc")

NAMES = ArchiveNames(
    version="3.14.7",
    tag="20261121",
    triple="x86_64-unknown-linux-gnu",
    options="pgo+lto",
    variant="",
)

needs_toolchain = pytest.mark.skipif(
    CC is None or not LLVM_STRIP.exists(), reason="needs cc and llvm-strip"
)

C_PROGRAM = """
#include <stdio.h>
struct point { int x, y; };
int distance(struct point a, struct point b) { return (a.x - b.x) + (a.y - b.y); }
int main(void) { struct point a = {1, 2}, b = {3, 4}; printf("%d\\n", distance(a, b)); return 0; }
"""


@pytest.fixture(scope="session")
def elf_binaries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny executable and shared object, both with debug info."""
    if CC is None:
        pytest.skip("needs cc")
    work = tmp_path_factory.mktemp("elf")
    source = work / "hello.c"
    source.write_text(C_PROGRAM)
    executable, shared = work / "hello", work / "_hello.so"
    subprocess.run([CC, "-g", "-O0", "-o", executable, source], check=True)
    subprocess.run([CC, "-g", "-shared", "-fPIC", "-o", shared, source], check=True)
    return {"executable": executable, "shared": shared}


# The staged tree, as (path under dist_root/python, content, mode). Content None marks a
# directory, a "->" prefix a symlink, a Path a file to copy.
TREE: list[tuple[str, str | Path | None, int]] = [
    ("PYTHON.json", '{"version": "8"}\n', 0o644),
    ("licenses/LICENSE.cpython.txt", "PSF\n", 0o644),
    ("build/core/main.o", "object\n", 0o644),
    ("build/lib/libz.a", "!<arch>\n", 0o644),
    ("install/bin/python3", "->python3.14", 0o777),
    ("install/include/python3.14/Python.h", "/* header */\n", 0o644),
    ("install/lib/python3.14/os.py", "import sys\n", 0o644),
    ("install/lib/python3.14/__pycache__/os.cpython-314.pyc", "bytecode\n", 0o644),
    ("install/lib/python3.14/__pycache__/os.cpython-314.opt-1.pyc", "bytecode\n", 0o644),
    ("install/lib/python3.14/idlelib/__init__.py", "", 0o644),
    ("install/lib/python3.14/idlelib/idle_test/test_config.py", "pass\n", 0o644),
    ("install/lib/python3.14/test/__init__.py", "", 0o644),
    ("install/lib/python3.14/test/test_os.py", "pass\n", 0o644),
    ("install/lib/python3.14/test/data", None, 0o755),
    ("install/lib/python3.14/unittest/__init__.py", "", 0o644),
    ("install/lib/python3.14/config-3.14-x86_64-linux-gnu/Makefile", "CC=cc\n", 0o644),
    ("install/lib/python3.14/config-3.14-x86_64-linux-gnu/libpython3.14.a", "!<arch>\n", 0o644),
    ("install/lib/python3.14/site-packages", None, 0o755),
    ("install/share/man/man1/python3.14.1", ".TH\n", 0o644),
]


# An extension module only the stdlib's tests import: the full archive alone ships it.
TEST_EXTENSION = "install/lib/python3.14/lib-dynload/_testcapi.cpython-314-x86_64-linux-gnu.so"


def make_dist(
    root: Path,
    elf_binaries: dict[str, Path],
    *,
    reverse: bool = False,
    stamp: int = 1_000_000_000,
) -> Path:
    """Stage a small distribution tree; `reverse` and `stamp` vary only disk details."""
    python = root / "python"
    entries = list(TREE)
    entries.append(("install/bin/python3.14", elf_binaries["executable"], 0o755))
    so = "install/lib/python3.14/lib-dynload/_hello.cpython-314-x86_64-linux-gnu.so"
    entries.append((so, elf_binaries["shared"], 0o755))
    entries.append((TEST_EXTENSION, elf_binaries["shared"], 0o755))
    for relative, content, mode in reversed(entries) if reverse else entries:
        path = python / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir(exist_ok=True)
        elif isinstance(content, Path):
            shutil.copyfile(content, path)
        elif content.startswith("->"):
            path.symlink_to(content[2:])
            continue
        else:
            path.write_text(content)
        path.chmod(mode)
    for path in [python, *python.rglob("*")]:
        os.utime(path, (stamp, stamp), follow_symlinks=False)
        stamp += 7
    return root


def read_tar(archive: Path) -> list[tarfile.TarInfo]:
    with open_tar(archive) as tar:
        return tar.getmembers()


def member_bytes(archive: Path, name: str) -> bytes:
    with open_tar(archive) as tar:
        extracted = tar.extractfile(name)
        assert extracted is not None
        return extracted.read()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_tar(archive: Path) -> tarfile.TarFile:
    data = archive.read_bytes()
    if archive.name.endswith(".zst"):
        data = zstandard.ZstdDecompressor().decompress(data)
    else:
        data = gzip.decompress(data)
    return tarfile.open(fileobj=io.BytesIO(data))


@pytest.fixture
def dist(tmp_path: Path, elf_binaries: dict[str, Path]) -> Path:
    return make_dist(tmp_path / "dist-root", elf_binaries)


@pytest.fixture
def packaged(dist: Path, tmp_path: Path) -> list[Path]:
    if not LLVM_STRIP.exists():
        pytest.skip("needs llvm-strip")
    return package(
        dist,
        tmp_path / "out",
        NAMES,
        mtime=SOURCE_DATE_EPOCH,
        strip=LLVM_STRIP,
        log=tmp_path / "logs" / "package.log",
        runner=run,
        install_only=INSTALL_ONLY,
    )


# --- package ---------------------------------------------------------------------------


def test_a_build_that_keeps_anothers_install_only_writes_its_full_archive_alone(
        dist: Path, tmp_path: Path, recorder: RecordingRunner) -> None:
    out = tmp_path / "out"
    archives = package(dist, out, NAMES, mtime=SOURCE_DATE_EPOCH, strip=LLVM_STRIP,
                       log=tmp_path / "package.log", runner=recorder, install_only=None)
    assert [p.name for p in archives] == [NAMES.full()]
    assert sorted(os.listdir(out)) == sorted([SHA256SUMS, NAMES.full()])
    assert recorder.commands == []  # nothing to strip


@needs_toolchain
def test_package_writes_the_three_archives(packaged: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert [p.name for p in packaged] == [
        NAMES.full(),
        NAMES.install_only(),
        NAMES.install_only_stripped(),
    ]
    # Nothing but the archives and SHA256SUMS: no staging directory or temporary file.
    assert sorted(os.listdir(out)) == sorted([SHA256SUMS, *(p.name for p in packaged)])
    assert (out / SHA256SUMS).read_text() == "".join(
        f"{sha256(archive)}  {archive.name}\n" for archive in sorted(packaged)
    )


@needs_toolchain
def test_full_archive_holds_the_whole_tree(packaged: list[Path]) -> None:
    names = [m.name for m in read_tar(packaged[0])]
    assert names[0] == "python"
    for expected in (
        "python/PYTHON.json",
        "python/build/core/main.o",
        "python/licenses/LICENSE.cpython.txt",
        "python/install/bin/python3.14",
        "python/install/lib/python3.14/test/test_os.py",
        "python/install/lib/python3.14/config-3.14-x86_64-linux-gnu/libpython3.14.a",
    ):
        assert expected in names


@needs_toolchain
def test_install_only_moves_install_up_and_drops_tests_their_modules_libpython_a_and_bytecode(
    packaged: list[Path],
) -> None:
    full = [m.name for m in read_tar(packaged[0])]
    assert "python/install/lib/python3.14/__pycache__/os.cpython-314.pyc" in full
    assert f"python/{TEST_EXTENSION}" in full
    for archive in packaged[1:]:
        names = [m.name for m in read_tar(archive)]
        assert all(name == "python" or name.startswith("python/") for name in names)
        assert "python/bin/python3.14" in names
        assert "python/lib/python3.14/os.py" in names
        assert "python/lib/python3.14/idlelib/__init__.py" in names
        assert "python/lib/python3.14/unittest/__init__.py" in names
        assert "python/lib/python3.14/config-3.14-x86_64-linux-gnu/Makefile" in names
        assert "python/lib/python3.14/site-packages" in names
        assert not any("/test" in name.removeprefix("python/lib/python3.14") for name in names)
        assert not any("idle_test" in name or name.endswith(".a") for name in names)
        assert not any("__pycache__" in name for name in names)
        assert "python/lib/python3.14/lib-dynload/_hello.cpython-314-x86_64-linux-gnu.so" in names
        assert not any("_testcapi" in name for name in names)
        assert not any(name.startswith(("python/install", "python/build")) for name in names)
        assert "python/PYTHON.json" not in names


@needs_toolchain
def test_members_are_sorted_owned_by_root_and_dated_source_date_epoch(
    packaged: list[Path],
) -> None:
    for archive in packaged:
        members = read_tar(archive)
        paths = [PurePosixPath(m.name).parts for m in members]
        assert paths == sorted(paths)
        for member in members:
            assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
            assert member.mtime == SOURCE_DATE_EPOCH
            assert member.type in (tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE)


@needs_toolchain
def test_modes_and_symlinks_are_kept(packaged: list[Path]) -> None:
    members = {m.name: m for m in read_tar(packaged[1])}
    link = members["python/bin/python3"]
    assert link.issym() and link.linkname == "python3.14"
    assert members["python/bin/python3.14"].mode == 0o755
    assert members["python/lib/python3.14/os.py"].mode == 0o644
    assert members["python/lib/python3.14/site-packages"].isdir()


@needs_toolchain
def test_compression_headers_are_fixed(packaged: list[Path]) -> None:
    full = packaged[0].read_bytes()
    tar_size = len(zstandard.ZstdDecompressor().decompress(full))
    assert zstandard.frame_content_size(full) == tar_size
    header = packaged[1].read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] & 0x08 == 0  # no FNAME field
    assert header[4:8] == b"\0\0\0\0"  # mtime 0


@needs_toolchain
def test_package_is_byte_identical_whatever_the_disk_order_and_mtimes(
    tmp_path: Path, elf_binaries: dict[str, Path]
) -> None:
    first = make_dist(tmp_path / "a", elf_binaries)
    second = make_dist(tmp_path / "b", elf_binaries, reverse=True, stamp=1_600_000_000)
    runs = [
        package(
            root,
            tmp_path / out,
            NAMES,
            mtime=SOURCE_DATE_EPOCH,
            strip=LLVM_STRIP,
            log=tmp_path / "log",
            runner=run,
            install_only=INSTALL_ONLY,
        )
        for root, out in ((first, "out1"), (first, "out2"), (second, "out3"))
    ]
    digests = [[sha256(archive) for archive in archives] for archives in runs]
    assert digests[0] == digests[1] == digests[2]


@needs_toolchain
def test_stripped_archive_has_no_debug_info(
    packaged: list[Path], dist: Path, elf_binaries: dict[str, Path]
) -> None:
    so = "lib/python3.14/lib-dynload/_hello.cpython-314-x86_64-linux-gnu.so"
    for relative, original in (("bin/python3.14", "executable"), (so, "shared")):
        # Stripping worked on copies: the staged tree is untouched.
        staged = dist / "python/install" / relative
        assert staged.read_bytes() == elf_binaries[original].read_bytes()
        member = f"python/{relative}"
        unstripped = member_bytes(packaged[1], member)
        stripped = member_bytes(packaged[2], member)
        assert len(stripped) < len(unstripped)
        assert ELFFile(io.BytesIO(unstripped)).get_section_by_name(".debug_info") is not None
        assert ELFFile(io.BytesIO(stripped)).get_section_by_name(".debug_info") is None
    modes = {m.name: m.mode for m in read_tar(packaged[2])}
    assert modes["python/bin/python3.14"] == 0o755
    assert member_bytes(packaged[2], "python/lib/python3.14/os.py") == b"import sys\n"


def test_failed_strip_leaves_no_archive(dist: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(CommandFailed, match="cannot run"):
        package(
            dist,
            out,
            NAMES,
            mtime=SOURCE_DATE_EPOCH,
            strip=tmp_path / "no-such-strip",
            log=tmp_path / "log",
            runner=run,
            install_only=INSTALL_ONLY,
        )
    assert os.listdir(out) == []


@needs_toolchain
def test_a_failed_check_of_the_staged_archives_publishes_nothing(dist: Path, tmp_path: Path) -> None:
    seen: list[str] = []

    def refuse(staged: list[Path]) -> None:
        seen.extend(archive.name for archive in staged if archive.is_file())
        raise PbsError("the archives failed their checks")

    out = tmp_path / "out"
    with pytest.raises(PbsError, match="failed their checks"):
        package(dist, out, NAMES, mtime=SOURCE_DATE_EPOCH, strip=LLVM_STRIP,
                log=tmp_path / "log", runner=run, check=refuse,
                install_only=INSTALL_ONLY)
    assert seen == [NAMES.full(), NAMES.install_only(), NAMES.install_only_stripped()]
    assert list(out.iterdir()) == []


def test_missing_python_json_is_reported(tmp_path: Path) -> None:
    (tmp_path / "dist/python/install").mkdir(parents=True)
    with pytest.raises(PbsError, match="PYTHON.json is missing"):
        package(
            tmp_path / "dist",
            tmp_path / "out",
            NAMES,
            mtime=0,
            strip=LLVM_STRIP,
            log=tmp_path / "log",
            runner=run,
            install_only=INSTALL_ONLY,
        )


# --- write_tar -------------------------------------------------------------------------


def test_hard_links_become_regular_files(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a").write_text("same bytes\n")
    os.link(tree / "a", tree / "b")
    archive = tmp_path / "t.tar.gz"
    write_tar(tree, archive, arcname_root="root", compression="gz", mtime=5)
    members = {m.name: m for m in read_tar(archive)}
    assert members["root/b"].isreg() and members["root/b"].size == len("same bytes\n")
    assert member_bytes(archive, "root/b") == b"same bytes\n"


def test_excluded_directory_drops_its_subtree(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "keep").mkdir(parents=True)
    (tree / "drop/deep").mkdir(parents=True)
    (tree / "keep/f").write_text("x")
    (tree / "drop/deep/f").write_text("x")
    archive = tmp_path / "t.tar.zst"
    exclude: Callable[[PurePosixPath], bool] = lambda p: p == PurePosixPath("drop")
    write_tar(tree, archive, arcname_root="r", compression="zst", mtime=5, exclude=exclude)
    assert [m.name for m in read_tar(archive)] == ["r", "r/keep", "r/keep/f"]


def test_unarchivable_member_leaves_nothing_behind(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "file").write_text("x")
    os.mkfifo(tree / "pipe")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PbsError, match="not a file, directory or symlink"):
        write_tar(tree, out / "t.tar.gz", arcname_root="r", compression="gz", mtime=0)
    assert os.listdir(out) == []


def test_unknown_compression_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PbsError, match="unknown compression"):
        write_tar(
            tmp_path,
            tmp_path / "t.tar.xz",
            arcname_root="r",
            compression="xz",  # type: ignore[arg-type]
            mtime=0,
        )


# --- SHA256SUMS ------------------------------------------------------------------------


def test_sha256sums_are_sorted_and_merged(tmp_path: Path) -> None:
    sums = tmp_path / "out" / "SHA256SUMS"
    sums.parent.mkdir()
    b, a = tmp_path / "b.tar.gz", tmp_path / "a.tar.zst"
    b.write_bytes(b"bee")
    a.write_bytes(b"ay")
    sums.write_text(sha256sums_text(sums, [b, a]))
    assert sums.read_text() == f"{sha256(a)}  a.tar.zst\n{sha256(b)}  b.tar.gz\n"

    # A second build: rebuilds a.tar.zst and adds c.tar.gz; b's line stays.
    a.write_bytes(b"ay again")
    c = tmp_path / "c.tar.gz"
    c.write_bytes(b"sea")
    sums.write_text(sha256sums_text(sums, [c, a]))
    assert sums.read_text() == (
        f"{sha256(a)}  a.tar.zst\n{sha256(b)}  b.tar.gz\n{sha256(c)}  c.tar.gz\n"
    )
    if shutil.which("sha256sum"):
        for archive in (a, b, c):
            shutil.copy(archive, sums.parent)
        subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=sums.parent,
                       check=True)


def test_malformed_sha256sums_is_reported(tmp_path: Path) -> None:
    (tmp_path / "SHA256SUMS").write_text("not a digest line\n")
    archive = tmp_path / "x.tar.gz"
    archive.write_bytes(b"x")
    with pytest.raises(PbsError, match="not a sha256sum line"):
        sha256sums_text(tmp_path / "SHA256SUMS", [archive])


# --- publication as one set ------------------------------------------------------------

# Packages `dist` into `out`, and once the first archive has been moved into `out`, sends
# itself `signal`: a crash (SIGKILL) or an interruption (SIGTERM) at the worst moment.
INTERRUPTED_PACKAGING = """
import os, signal, sys
from pathlib import Path
from pbs import interrupt
from pbs.catalog import load_catalog
from pbs.names import ArchiveNames
from pbs.package import package
from pbs.runner import run

dist, out, log, strip, signum = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), \\
    Path(sys.argv[4]), int(sys.argv[5])
names = ArchiveNames(version="3.14.7", tag="20261121", triple="x86_64-unknown-linux-gnu",
                     options="pgo+lto", variant="")
move = os.replace

def move_then_signal(source, target):
    move(source, target)
    if Path(target).parent == out and Path(target).name.startswith("cpython-"):
        os.replace = move
        os.kill(os.getpid(), signum)

os.replace = move_then_signal
try:
    with interrupt.handled():
        package(dist, out, names, mtime=0, strip=strip, log=log, runner=run,
                install_only=load_catalog().release.install_only)
except interrupt.Interrupted as exc:
    sys.exit(exc.exit_code)
"""


def package_and_signal(dist: Path, out: Path, log: Path, signum: int) -> int:
    return subprocess.run(
        [sys.executable, "-c", INTERRUPTED_PACKAGING, dist, out, log, LLVM_STRIP, str(signum)],
        check=False,
    ).returncode


def assert_whole_set(out: Path, earlier: str) -> None:
    """The three archives and a SHA256SUMS naming them (and what an earlier build left)."""
    names = [NAMES.full(), NAMES.install_only(), NAMES.install_only_stripped()]
    assert sorted(os.listdir(out)) == sorted([*names, SHA256SUMS, "earlier.tar.gz"])
    assert (out / SHA256SUMS).read_text() == "".join(
        f"{sha256(out / name)}  {name}\n" for name in sorted([*names, "earlier.tar.gz"])
    )
    assert earlier in (out / SHA256SUMS).read_text()


def earlier_build(out: Path) -> str:
    out.mkdir()
    (out / "earlier.tar.gz").write_bytes(b"an earlier build's archive")
    line = f"{sha256(out / 'earlier.tar.gz')}  earlier.tar.gz\n"
    (out / SHA256SUMS).write_text(line)
    return line


@needs_toolchain
def test_a_publication_killed_midway_is_finished_by_the_next_run(
    dist: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    earlier = earlier_build(out)
    assert package_and_signal(dist, out, tmp_path / "log", signal.SIGKILL) == -signal.SIGKILL
    # Killed with one archive moved: the set is incomplete and SHA256SUMS not yet replaced.
    staged = list(out.glob(".package-*"))
    assert len(staged) == 1
    assert len([name for name in os.listdir(out) if name.startswith("cpython-")]) == 1
    assert (out / SHA256SUMS).read_text() == earlier
    recover(out)  # what the next `pbs build` into `out` does first
    assert_whole_set(out, earlier)
    assert capfd.readouterr().err.startswith(
        f"pbs: finished publishing {NAMES.full()}, {NAMES.install_only()}, "
        f"{NAMES.install_only_stripped()} in {out}, which a killed run had begun"
    )
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "--check", "--quiet", SHA256SUMS], cwd=out, check=True)


@needs_toolchain
def test_an_interruption_during_publication_waits_for_the_whole_set(
    dist: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    earlier = earlier_build(out)
    # The interruption is raised once the set is out: the process ends as interrupted.
    assert package_and_signal(dist, out, tmp_path / "log", signal.SIGTERM) == 128 + signal.SIGTERM
    assert_whole_set(out, earlier)


def test_a_killed_run_before_publication_leaves_nothing_published(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    leftover = killed_leftover(out, STAGING_PREFIX)
    (leftover / NAMES.full()).write_bytes(b"a staged archive, never declared ready")
    recover(out)
    assert list(out.iterdir()) == []


@needs_toolchain
def test_a_malformed_sha256sums_stops_the_publication_before_any_archive_moves(
    dist: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / SHA256SUMS).write_text("edited by hand\n")
    with pytest.raises(PbsError, match="not a sha256sum line"):
        package(dist, out, NAMES, mtime=SOURCE_DATE_EPOCH, strip=LLVM_STRIP, log=tmp_path / "log",
                runner=run, install_only=INSTALL_ONLY)
    assert os.listdir(out) == [SHA256SUMS]


def test_the_stripped_copies_come_from_the_given_strip(dist: Path, tmp_path: Path,
                                                       recorder: RecordingRunner) -> None:
    strip = Path("/toolchain/llvm-strip")
    recorder.effect = lambda argv: shutil.copyfile(argv[-1], argv[-2])
    package(dist, tmp_path / "out", NAMES, mtime=SOURCE_DATE_EPOCH, strip=strip,
            log=tmp_path / "log", runner=recorder,
            install_only=INSTALL_ONLY)
    install = dist / "python" / "install"
    stripped = sorted(Path(argv[-1]).relative_to(install).as_posix() for argv in recorder.argvs)
    # Only ELF files, and only those install_only ships (not the static libpython or a test
    # extension module).
    assert stripped == ["bin/python3.14",
                        "lib/python3.14/lib-dynload/_hello.cpython-314-x86_64-linux-gnu.so"]
    assert all(argv[:3] == [str(strip), "--strip-debug", "-o"] for argv in recorder.argvs)
    assert {command.log for command in recorder.commands} == {tmp_path / "log"}
