"""Archive names, written and read, and which build keeps a shared install_only name."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbs.catalog import Catalog
from pbs.errors import UsageError
from pbs.names import ArchiveNames, parse_archive_name
from pbs.release import install_only_decision

TRIPLE = "x86_64-unknown-linux-gnu"
STEM = f"cpython-3.14.7+20261121-{TRIPLE}"


def names(catalog: Catalog, options: str, version: str = "3.14.7") -> ArchiveNames:
    return ArchiveNames(version=version, tag="20261121", triple=TRIPLE, options=options,
                        variant=catalog.release.variant(options))


@pytest.mark.parametrize(("options", "variant"), [
    ("pgo+lto", ""),
    ("noopt", ""),
    ("freethreaded+pgo+lto", "freethreaded"),
    ("debug", "debug"),
    ("freethreaded+debug", "freethreaded+debug"),
])
def test_install_only_names_carry_the_variant_as_the_reference_project_does(
        catalog: Catalog, options: str, variant: str) -> None:
    built = names(catalog, options)
    infix = f"-{variant}" if variant else ""
    assert built.full() == f"{STEM}-{options}-full.tar.zst"
    assert built.install_only() == f"{STEM}{infix}-install_only.tar.gz"
    assert built.install_only_stripped() == f"{STEM}{infix}-install_only_stripped.tar.gz"


def test_a_variant_must_be_made_of_the_options_parts() -> None:
    with pytest.raises(UsageError, match="not part of the options"):
        ArchiveNames(version="3.14.7", tag="t", triple=TRIPLE, options="noopt",
                     variant="freethreaded")


@pytest.mark.parametrize("options", ["pgo+lto", "freethreaded+debug", "debug", "noopt"])
def test_written_names_read_back(catalog: Catalog, options: str) -> None:
    built = names(catalog, options, version="3.15.0rc1")
    full = parse_archive_name(built.full())
    assert (full.version, full.release, full.tag, full.triple, full.build, full.flavor) == (
        "3.15.0rc1", (3, 15, 0, "rc1"), "20261121", TRIPLE, options, "full")
    for name, flavor in ((built.install_only(), "install_only"),
                         (built.install_only_stripped(), "install_only_stripped")):
        parsed = parse_archive_name(name)
        assert (parsed.build, parsed.flavor) == (catalog.release.variant(options), flavor)
        assert parsed.stem == full.stem


def test_a_static_build_is_known_by_any_of_its_archive_names(catalog: Catalog) -> None:
    musl = "x86_64-unknown-linux-musl"
    static = ArchiveNames(version="3.14.7", tag="t", triple=musl, options="noopt+static",
                          variant=catalog.release.variant("noopt+static"))
    dynamic = ArchiveNames(version="3.14.7", tag="t", triple=musl, options="noopt",
                           variant=catalog.release.variant("noopt"))
    for built, expected in ((static, True), (dynamic, False)):
        for name in (built.full(), built.install_only(), built.install_only_stripped()):
            assert parse_archive_name(name).static is expected, name


@pytest.mark.parametrize(("name", "message"), [
    ("cpython-3.14.tar.gz", "not an archive name"),
    (f"cpython-3.14.7-{TRIPLE}-install_only.tar.gz", "not an archive name"),
    (f"{STEM}-install_only.tar.zst", "install_only archives are .tar.gz files"),
    (f"{STEM}-full.tar.zst", "carries its build options"),
    (f"{STEM}-pgo+lto-full.tar.gz", "full archives are .tar.zst files"),
])
def test_names_that_do_not_parse_are_refused(name: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_archive_name(name)


def publish(out: Path, built: ArchiveNames, *, install_only: bool = True) -> None:
    out.mkdir(exist_ok=True)
    (out / built.full()).write_bytes(b"full")
    if install_only:
        (out / built.install_only()).write_bytes(b"install_only")


def test_a_build_alone_writes_its_install_only_archives(catalog: Catalog, tmp_path) -> None:
    decision = install_only_decision(tmp_path / "new", names(catalog, "noopt"), catalog.release)
    assert decision.write and decision.note is None


def test_a_rebuild_of_the_same_configuration_replaces_them_silently(
        catalog: Catalog, tmp_path) -> None:
    publish(tmp_path, names(catalog, "noopt"))
    decision = install_only_decision(tmp_path, names(catalog, "noopt"), catalog.release)
    assert decision.write and decision.note is None


def test_a_noopt_build_keeps_the_release_configurations_install_only(
        catalog: Catalog, tmp_path) -> None:
    publish(tmp_path, names(catalog, "pgo+lto"))
    decision = install_only_decision(tmp_path, names(catalog, "noopt"), catalog.release)
    assert not decision.write
    assert decision.note == (
        f"{STEM}-install_only.tar.gz and its stripped twin stay the pgo+lto build's (kept in the "
        "order pgo+lto, pgo, lto, noopt); this noopt build writes only its full archive")


def test_the_release_configuration_takes_them_and_says_so(catalog: Catalog, tmp_path) -> None:
    publish(tmp_path, names(catalog, "noopt"))
    decision = install_only_decision(tmp_path, names(catalog, "pgo+lto"), catalog.release)
    assert decision.write
    assert decision.note is not None and "now hold this pgo+lto build" in decision.note
    assert "noopt" in decision.note


def test_other_variants_and_versions_share_nothing(catalog: Catalog, tmp_path) -> None:
    publish(tmp_path, names(catalog, "freethreaded+pgo+lto"))
    publish(tmp_path, names(catalog, "pgo+lto", version="3.14.6"))
    publish(tmp_path, names(catalog, "noopt"), install_only=False)
    (tmp_path / "cpython-unrelated.tar.zst").write_bytes(b"")
    decision = install_only_decision(tmp_path, names(catalog, "noopt"), catalog.release)
    assert decision.write and decision.note is None
