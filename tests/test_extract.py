"""extract_archive / source_root against real archives built here, good and hostile."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import tarfile
from pathlib import Path

import pytest
import zstandard

from pbs.errors import PbsError, UnsafeArchive
from pbs.sources.extract import SUPPORTED_SUFFIXES, extract_archive, source_root

MTIME = 1_700_000_000
Member = tuple[tarfile.TarInfo, bytes | None]


def reg(name: str, data: bytes = b"", mode: int = 0o644) -> Member:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, MTIME
    return info, data


def dir_(name: str, mode: int = 0o755) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, MTIME
    return info, None


def sym(name: str, target: str) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, MTIME
    return info, None


def hard(name: str, target: str) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.mtime = tarfile.LNKTYPE, target, 0o644, MTIME
    return info, None


def special(name: str, kind: bytes) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = kind, 1, 3
    return info, None


def tar_bytes(members: list[Member], compression: str = "") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def ar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    """An ar archive as dpkg-deb writes it: magic, then 60-byte headers and even-padded data."""
    out = [b"!<arch>\n"]
    for name, data in members:
        header = (
            f"{name:<16}{MTIME:<12}{0:<6}{0:<6}{0o100644:<8o}{len(data):<10}`\n".encode()
        )
        assert len(header) == 60
        out += [header, data, b"\n" * (len(data) % 2)]
    return b"".join(out)


def deb_bytes(members: list[Member], name_end: str = "") -> bytes:
    control = tar_bytes([reg("./control", b"Package: demo\nVersion: 1.0\n")], "gz")
    return ar_bytes(
        [
            (f"debian-binary{name_end}", b"2.0\n"),
            (f"control.tar.gz{name_end}", control),
            # dpkg skips "_" members; an odd size exercises the padding byte.
            (f"_odd{name_end}", b"odd"),
            (f"data.tar.xz{name_end}", tar_bytes(members, "xz")),
        ]
    )


TAR_COMPRESSION = {".tar.gz": "gz", ".tgz": "gz", ".tar.xz": "xz", ".tar.bz2": "bz2", ".tar": ""}


def write_archive(path: Path, members: list[Member]) -> Path:
    name = path.name
    if name.endswith(".deb"):
        data = deb_bytes(members)
    elif name.endswith(".tar.zst"):
        data = zstandard.ZstdCompressor().compress(tar_bytes(members))
    else:
        suffix = next(s for s in TAR_COMPRESSION if name.endswith(s))
        data = tar_bytes(members, TAR_COMPRESSION[suffix])
    path.write_bytes(data)
    return path


SOURCE_TREE = [
    dir_("pkg-1.0"),
    reg("pkg-1.0/configure", b"#!/bin/sh\necho configured\n", 0o755),
    reg("pkg-1.0/README", b"hello\n"),
    dir_("pkg-1.0/lib"),
    reg("pkg-1.0/lib/libfoo.so.1", b"\x7fELF"),
    sym("pkg-1.0/lib/libfoo.so", "libfoo.so.1"),
    hard("pkg-1.0/README.copy", "pkg-1.0/README"),
]
TAR_SUFFIXES = [".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".tar.zst", ".tar"]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """Parent of the destination; after a failure it must be left empty."""
    return tmp_path / "out"


def assert_nothing_left(out: Path) -> None:
    # Neither dest nor a hidden .partial staging directory may survive a failure.
    assert list(out.iterdir()) == []


def assert_source_tree(top: Path) -> None:
    assert (top / "README").read_bytes() == b"hello\n"
    assert (top / "configure").read_bytes().startswith(b"#!/bin/sh")
    assert stat.S_IMODE((top / "configure").stat().st_mode) == 0o755
    assert stat.S_IMODE((top / "README").stat().st_mode) == 0o644
    link = top / "lib" / "libfoo.so"
    assert link.is_symlink() and os.readlink(link) == "libfoo.so.1"
    assert link.read_bytes() == b"\x7fELF"
    assert (top / "README.copy").stat().st_ino == (top / "README").stat().st_ino
    assert (top / "README").stat().st_mtime == MTIME


@pytest.mark.parametrize("suffix", TAR_SUFFIXES)
def test_extracts_every_tar_format(tmp_path: Path, out: Path, suffix: str) -> None:
    archive = write_archive(tmp_path / f"pkg-1.0{suffix}", SOURCE_TREE)
    dest = out / "src"

    assert extract_archive(archive, dest) == dest

    assert source_root(dest) == dest / "pkg-1.0"
    assert_source_tree(dest / "pkg-1.0")
    assert [p.name for p in out.iterdir()] == ["src"]  # staging directory renamed away


@pytest.mark.parametrize("name_end", ["", "/"], ids=["dpkg-names", "gnu-ar-names"])
def test_extracts_deb_payload(tmp_path: Path, out: Path, name_end: str) -> None:
    payload = [
        dir_("./"),
        dir_("./usr"),
        dir_("./usr/bin"),
        reg("./usr/bin/tool", b"#!/bin/sh\n", 0o755),
        dir_("./usr/lib"),
        reg("./usr/lib/libx.so.1", b"lib"),
        sym("./usr/lib/libx.so", "libx.so.1"),
    ]
    archive = tmp_path / "demo_1.0_amd64.deb"
    archive.write_bytes(deb_bytes(payload, name_end))

    dest = extract_archive(archive, out / "deb")

    assert sorted(p.name for p in dest.iterdir()) == ["usr"]  # control files are not unpacked
    assert source_root(dest) == dest / "usr"
    assert (dest / "usr/bin/tool").read_bytes() == b"#!/bin/sh\n"
    assert os.access(dest / "usr/bin/tool", os.X_OK)
    assert os.readlink(dest / "usr/lib/libx.so") == "libx.so.1"
    assert (dest / "usr/lib/libx.so").read_bytes() == b"lib"


def test_deb_without_data_member_is_unreadable(tmp_path: Path, out: Path) -> None:
    archive = tmp_path / "empty.deb"
    archive.write_bytes(ar_bytes([("debian-binary", b"2.0\n")]))

    with pytest.raises(PbsError, match=r"cannot read archive empty\.deb: no data\.tar"):
        extract_archive(archive, out / "d")
    assert_nothing_left(out)


def test_modes_mtimes_and_ownership(tmp_path: Path, out: Path) -> None:
    setuid = reg("p/suid", b"x", 0o4755)
    setuid[0].uid, setuid[0].gid = 4321, 8765
    archive = write_archive(
        tmp_path / "p.tar",
        [
            dir_("p", 0o555),
            reg("p/readonly", b"r", 0o444),
            setuid,
            dir_("p/sub", 0o750),
            reg("p/sub/f", b"f"),
        ],
    )

    dest = extract_archive(archive, out / "d")

    mode = lambda rel: stat.S_IMODE((dest / rel).stat().st_mode)  # noqa: E731
    assert mode("p/suid") == 0o755  # setuid dropped, permission bits kept
    assert mode("p/readonly") == 0o444
    assert mode("p/sub") == 0o750
    assert mode("p") == 0o755  # the owner always keeps write access to directories
    assert (dest / "p/suid").stat().st_uid == os.getuid()  # archive owner never applied
    assert (dest / "p/suid").stat().st_gid == os.getgid()
    # Directory mtimes survive the children written into them afterwards.
    assert (dest / "p").stat().st_mtime == MTIME
    assert (dest / "p/sub").stat().st_mtime == MTIME


def test_later_member_replaces_earlier_without_following_symlink(tmp_path: Path, out: Path) -> None:
    archive = write_archive(
        tmp_path / "dup.tar.gz",
        [reg("p/a", b"A"), sym("p/l", "a"), reg("p/l", b"L"), reg("p/b", b"1"), reg("p/b", b"2")],
    )

    dest = extract_archive(archive, out / "d")

    assert (dest / "p/a").read_bytes() == b"A"  # not written through the old symlink
    assert not (dest / "p/l").is_symlink() and (dest / "p/l").read_bytes() == b"L"
    assert (dest / "p/b").read_bytes() == b"2"


def test_archive_without_directory_entries(tmp_path: Path, out: Path) -> None:
    members = [reg("./a/b/c.txt", b"c"), reg("top.txt", b"t")]
    archive = write_archive(tmp_path / "flat.tar.xz", members)

    dest = extract_archive(archive, out / "d")

    assert (dest / "a/b/c.txt").read_bytes() == b"c"
    assert source_root(dest) == dest  # two entries: no single top directory


def test_symlink_loops_are_inert_and_kept(tmp_path: Path, out: Path) -> None:
    members = [reg("p/f", b"f"), sym("p/self", "self"), sym("p/a", "b"), sym("p/b", "a")]
    archive = write_archive(tmp_path / "loops.tar.gz", members)

    dest = extract_archive(archive, out / "d")

    assert os.readlink(dest / "p/self") == "self"
    assert (os.readlink(dest / "p/a"), os.readlink(dest / "p/b")) == ("b", "a")
    assert (dest / "p/f").read_bytes() == b"f"


def test_source_root_single_file_is_not_a_root(tmp_path: Path, out: Path) -> None:
    dest = extract_archive(write_archive(tmp_path / "one.tgz", [reg("only.txt", b"x")]), out / "d")

    assert source_root(dest) == dest


# case -> (members after a harmless one, the member named in the error, the reason given)
HOSTILE = {
    "parent-escape": ([reg("../x", b"x")], "../x", "contains a '..' component"),
    "absolute-name": ([reg("/etc/x", b"x")], "/etc/x", "is an absolute path"),
    "nested-parent-escape": (
        [dir_("a"), reg("a/../../x", b"x")],
        "a/../../x",
        "contains a '..' component",
    ),
    "symlink-absolute": (
        [sym("lib", "/usr/lib")],
        "lib",
        "is a symlink to '/usr/lib', which is an absolute path",
    ),
    "symlink-escape": (
        [dir_("a"), sym("a/up", "../..")],
        "a/up",
        "is a symlink to '../..', which resolves outside the destination",
    ),
    # The loop stops symlink resolution; the ".." after it still climb out.
    "symlink-escape-via-loop": (
        [sym("loop", "loop"), sym("l", "loop/../..")],
        "l",
        "is a symlink to 'loop/../..', which resolves outside the destination",
    ),
    "hardlink-absolute": (
        [hard("passwd", "/etc/passwd")],
        "passwd",
        "is a hard link to '/etc/passwd', which is an absolute path",
    ),
    "hardlink-escape": (
        [hard("h", "../outside")],
        "h",
        "is a hard link to '../outside', which contains a '..' component",
    ),
    "hardlink-not-earlier": (
        [hard("h", "later"), reg("later", b"x")],
        "h",
        "is a hard link to 'later', which is not an earlier file",
    ),
    "char-device": ([special("null", tarfile.CHRTYPE)], "null", "is a character device"),
    "block-device": ([special("sda", tarfile.BLKTYPE)], "sda", "is a block device"),
    "fifo": ([special("pipe", tarfile.FIFOTYPE)], "pipe", "is a FIFO"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_members_are_refused(tmp_path: Path, out: Path, case: str) -> None:
    members, bad_name, reason = HOSTILE[case]
    archive = write_archive(tmp_path / "evil.tar.gz", [reg("ok.txt", b"fine"), *members])

    with pytest.raises(UnsafeArchive) as raised:
        extract_archive(archive, out / "d")
    prefix = f"refusing to extract evil.tar.gz: member '{bad_name}' "
    assert str(raised.value).startswith(prefix + reason)
    assert_nothing_left(out)
    assert not (tmp_path / "x").exists() and not (tmp_path / "outside").exists()


@pytest.mark.parametrize("suffix", [*TAR_SUFFIXES, ".deb"])
def test_hostile_member_refused_in_every_format(tmp_path: Path, out: Path, suffix: str) -> None:
    archive = write_archive(tmp_path / f"evil{suffix}", [reg("ok.txt", b"fine"), reg("../x", b"x")])

    with pytest.raises(UnsafeArchive, match=r"member '\.\./x'"):
        extract_archive(archive, out / "d")
    assert_nothing_left(out)
    assert not (tmp_path / "x").exists()


def test_write_through_symlink_to_outside_is_refused(tmp_path: Path, out: Path) -> None:
    outside = tmp_path / "somewhere"
    outside.mkdir()
    members = [sym("evil", str(outside)), reg("evil/payload", b"pwned")]
    archive = write_archive(tmp_path / "evil.tar.gz", members)

    with pytest.raises(UnsafeArchive, match="member 'evil' "):
        extract_archive(archive, out / "d")
    assert list(outside.iterdir()) == []
    assert_nothing_left(out)


def test_write_through_symlink_redirected_by_later_symlink_is_refused(
    tmp_path: Path, out: Path
) -> None:
    # Each symlink is inside when written ("x" does not exist yet, so "x/.." is the root),
    # but once x -> "." exists, l -> x/.. is the parent of the destination.
    archive = write_archive(
        tmp_path / "evil.tar.gz", [sym("l", "x/.."), sym("x", "."), reg("l/payload", b"pwned")]
    )

    with pytest.raises(UnsafeArchive, match="member 'l/payload' would be written through"):
        extract_archive(archive, out / "d")
    assert not (out / "payload").exists() and not (tmp_path / "payload").exists()
    assert_nothing_left(out)


def test_symlink_redirected_to_outside_is_refused_at_the_end(tmp_path: Path, out: Path) -> None:
    archive = write_archive(tmp_path / "evil.tar.gz", [sym("l", "x/.."), sym("x", ".")])

    with pytest.raises(UnsafeArchive, match="member 'l' is a symlink that resolves outside"):
        extract_archive(archive, out / "d")
    assert_nothing_left(out)


def test_tarfile_filter_rejection_becomes_unsafe_archive(
    tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python 3.11.2 (Debian 12's) has no data filter, nor its errors: pbs then relies on its own
    # checks alone. The filter and its error class are supplied here, so that the path that obeys
    # a newer Python's filter runs on every Python.
    class FilterError(Exception):
        pass

    def reject(member: tarfile.TarInfo, dest_path: str) -> tarfile.TarInfo:
        raise FilterError(f"{member.name!r} would be extracted outside {dest_path!r}")

    monkeypatch.setattr(tarfile, "FilterError", FilterError, raising=False)
    monkeypatch.setattr(tarfile, "data_filter", reject, raising=False)
    archive = write_archive(tmp_path / "p.tar.gz", [reg("p/a", b"a")])

    with pytest.raises(UnsafeArchive, match="member 'p/a' is rejected by tarfile's data filter"):
        extract_archive(archive, out / "d")
    assert_nothing_left(out)


@pytest.mark.parametrize("suffix", [*TAR_SUFFIXES, ".deb"])
def test_truncated_archive_is_unreadable(tmp_path: Path, out: Path, suffix: str) -> None:
    archive = write_archive(tmp_path / f"big{suffix}", [reg("big/blob", os.urandom(64 * 1024))])
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])

    with pytest.raises(PbsError, match=f"cannot read archive big{suffix}: "):
        extract_archive(archive, out / "d")
    assert_nothing_left(out)


@pytest.mark.parametrize("suffix", [".tar.gz", ".tar.xz", ".tar.bz2"])
def test_compressed_stream_cut_after_last_member_is_unreadable(
    tmp_path: Path, out: Path, suffix: str
) -> None:
    archive = write_archive(tmp_path / f"p{suffix}", SOURCE_TREE)
    # Every member still decodes; only the compressor's end marker/checksum is gone.
    archive.write_bytes(archive.read_bytes()[:-4])

    with pytest.raises(PbsError, match=f"cannot read archive p{suffix}: "):
        extract_archive(archive, out / "d")
    assert_nothing_left(out)


MULTI_STREAM = {
    ".tar.gz": gzip.compress,
    ".tar.xz": lzma.compress,
    ".tar.bz2": bz2.compress,
    ".tar.zst": zstandard.ZstdCompressor().compress,
}


@pytest.mark.parametrize("suffix", MULTI_STREAM)
def test_multi_stream_compression_is_read_whole(tmp_path: Path, out: Path, suffix: str) -> None:
    # pbzip2, concatenated gzip and multi-frame zstd: one tar split across streams.
    raw = tar_bytes(SOURCE_TREE)
    compress = MULTI_STREAM[suffix]
    archive = tmp_path / f"pkg-1.0{suffix}"
    archive.write_bytes(compress(raw[:1024]) + compress(raw[1024:]))

    dest = extract_archive(archive, out / "d")

    assert_source_tree(dest / "pkg-1.0")


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_non_archive_is_unreadable(tmp_path: Path, out: Path, suffix: str) -> None:
    archive = tmp_path / f"notes{suffix}"
    archive.write_text("this is not an archive\n" * 40)

    with pytest.raises(PbsError, match=f"cannot read archive notes{suffix}: ") as raised:
        extract_archive(archive, out / "d")
    assert not isinstance(raised.value, UnsafeArchive)
    assert_nothing_left(out)


def test_existing_dest_is_refused(tmp_path: Path, out: Path) -> None:
    archive = write_archive(tmp_path / "p.tar.gz", [reg("p/a", b"a")])
    dest = out / "d"
    dest.mkdir(parents=True)
    (dest / "keep").write_text("mine")

    with pytest.raises(PbsError, match="already exists"):
        extract_archive(archive, dest)
    assert [p.name for p in out.iterdir()] == ["d"]
    assert (dest / "keep").read_text() == "mine"


def test_unknown_suffix_lists_supported_ones(tmp_path: Path, out: Path) -> None:
    archive = tmp_path / "pkg.zip"
    archive.write_bytes(b"PK\x03\x04")

    with pytest.raises(PbsError, match="pkg.zip") as raised:
        extract_archive(archive, out / "d")
    assert all(suffix in str(raised.value) for suffix in SUPPORTED_SUFFIXES)
    assert not out.exists()
