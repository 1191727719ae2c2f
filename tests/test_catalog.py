from __future__ import annotations

import re

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pbs.catalog import Catalog, Python
from pbs.errors import UsageError


def test_catalog_is_consistent(catalog: Catalog) -> None:
    assert catalog.problems() == []


def test_every_artifact_is_pinned_and_obtainable(catalog: Catalog) -> None:
    for source in catalog.sources:
        assert source.license and source.license_files, source.key
        for artifact in source.artifacts:
            assert re.fullmatch(r"[0-9a-f]{64}", artifact.sha256), artifact.file
            assert artifact.urls or artifact.debian or artifact.pypi, artifact.file


def test_issue_versions_are_catalogued(catalog: Catalog) -> None:
    versions = {str(p.version) for p in catalog.pythons}
    assert {"3.11.2", "3.13.15", "3.14.7", "3.15.0rc1"} <= versions


def test_every_python_has_its_source_and_full_library_set(catalog: Catalog) -> None:
    target = catalog.target(None)
    for python in catalog.pythons:
        names = [s.name for s in catalog.sources_for(python, target)]
        assert names[0] == "cpython"
        assert catalog.sources_for(python, target)[0].version == str(python.version)
        for library in ("openssl", "sqlite", "libffi", "zlib", "bzip2", "xz", "ncurses",
                        "libedit", "libuuid", "mpdecimal", "bdb", "tcl", "tk", "libX11",
                        "pip"):
            assert library in names, (python.version, library)
        assert ("zstd" in names) == (python.version >= Version("3.14"))


def test_injected_inconsistencies_are_found(catalog: Catalog) -> None:
    import dataclasses

    source = catalog.sources[0]
    broken_artifact = dataclasses.replace(source.artifacts[0], sha256="abc", urls=(), debian=None)
    broken = dataclasses.replace(source, license="", artifacts=(broken_artifact,))
    orphan = Python(version=Version("3.9.1"))
    bad = dataclasses.replace(
        catalog,
        sources=(broken, *catalog.sources[1:], catalog.sources[1]),
        pythons=(*catalog.pythons, orphan),
        setup_py_rules=("_ctypes _ctypes/_ctypes.c -DHAVE_FFI_PREP_CIF_VAR=1",),
    )
    problems = "\n".join(bad.problems())
    assert "has no license" in problems
    assert "sha256 is not 64 lowercase hex digits" in problems
    assert "names no location" in problems
    assert "is listed twice" in problems
    assert "python 3.9.1 has no 'cpython' source" in problems
    assert "contains '=': makesetup would read it as a variable definition" in problems


def test_each_python_has_one_compiler_and_its_lto(catalog: Catalog) -> None:
    import dataclasses

    target = catalog.target(None)
    for python in catalog.pythons:
        compiler = catalog.options.compiler_for(python.version)
        options = catalog.parse_options("pgo+lto", python, target)
        args = catalog.options.configure_args(options, python.version)
        assert args[:2] == ("--enable-optimizations", *compiler.lto_configure), python
        noopt = catalog.parse_options("noopt", python, target)
        assert not any(a.startswith("--with-lto") for a in
                       catalog.options.configure_args(noopt, python.version))
    assert catalog.options.compiler_for(Version("3.11.2")).name == "gcc"
    assert catalog.options.compiler_for(Version("3.14.7")).name == "clang"

    rules = catalog.options.python_compilers
    overlapping = dataclasses.replace(rules[0], requires_python=SpecifierSet(">=3.11"),
                                      compiler="icc")
    options = dataclasses.replace(catalog.options, python_compilers=(*rules, overlapping))
    problems = "\n".join(dataclasses.replace(catalog, options=options).problems())
    assert "compiler 'icc' is not one of clang, gcc" in problems
    assert "python 3.14.7 matches 2 compiler rules, not one" in problems


def test_setup_rules_only_for_the_setup_py_era(catalog: Catalog) -> None:
    rules = catalog.setup_rules_for(Version("3.11.2"))
    assert rules is not None
    assert {rule.split()[0] for rule in rules} == {"_ctypes", "_curses", "_curses_panel", "_dbm",
                                                  "readline"}
    assert catalog.setup_rules_for(Version("3.14.7")) is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("3.14", "3.14.7"), ("3.14.7", "3.14.7"), ("3.15", "3.15.0rc1"), ("3.11", "3.11.2"),
     (None, "3.14.7")],
)
def test_python_lookup(catalog: Catalog, spec: str | None, expected: str) -> None:
    assert str(catalog.python(spec).version) == expected


def test_default_python_is_newest_final_release(catalog: Catalog) -> None:
    default = catalog.python(None).version
    assert not default.is_prerelease
    assert default == max(p.version for p in catalog.pythons if not p.version.is_prerelease)


def test_unknown_python_lists_valid_versions(catalog: Catalog) -> None:
    with pytest.raises(UsageError) as caught:
        catalog.python("3.9")
    message = str(caught.value)
    assert "'3.9'" in message and "3.14 (3.14.7)" in message and "3.11 (3.11.2)" in message
    assert "\n" not in message
    assert caught.value.exit_code == 2


def test_a_target_allows_only_libraries_its_sysroot_provides(catalog: Catalog) -> None:
    import dataclasses

    target = catalog.target(None)
    widened = dataclasses.replace(target,
                                  allowed_libraries=(*target.allowed_libraries, "libz.so.1"))
    problems = dataclasses.replace(catalog, targets=(widened,)).problems()
    assert problems == [f"target {target.triple} allows libraries its sysroot lacks: libz.so.1"]


def test_the_wheel_platform_follows_the_sysconfig_platform(catalog: Catalog) -> None:
    import dataclasses

    target = dataclasses.replace(catalog.target(None), platform="macosx-11.0-arm64")
    assert target.wheel_platform == "macosx_11_0_arm64"


def test_unknown_target_lists_valid_targets(catalog: Catalog) -> None:
    with pytest.raises(UsageError, match="x86_64-unknown-linux-gnu") as caught:
        catalog.target("riscv64-unknown-linux-gnu")
    assert "'riscv64-unknown-linux-gnu'" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "python", "expected"),
    [("noopt", "3.14", "noopt"), ("pgo+lto", "3.14", "pgo+lto"), ("debug", "3.11", "debug"),
     ("freethreaded+pgo+lto", "3.13", "freethreaded+pgo+lto"), (None, "3.14", "pgo+lto")],
)
def test_options_grammar(catalog: Catalog, text: str | None, python: str, expected: str) -> None:
    options = catalog.parse_options(text, catalog.python(python), catalog.target(None))
    assert str(options) == expected
    assert options.freethreaded == expected.startswith("freethreaded+")


@pytest.mark.parametrize(
    ("text", "python", "message"),
    [("fast", "3.14", "unknown build options 'fast'; valid options: noopt, lto, pgo, pgo+lto"),
     ("lto+pgo", "3.14", "unknown build options"),
     ("freethreaded+noopt", "3.11", "needs Python >=3.13, not 3.11.2"),
     ("noopt+static", "3.14", "needs a musl target")],
)
def test_bad_options_are_refused(catalog: Catalog, text: str, python: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        catalog.parse_options(text, catalog.python(python), catalog.target(None))


def test_debian_pool_paths(catalog: Catalog) -> None:
    tk = catalog.source("tk", "8.6.18").artifacts[0].debian
    assert tk is not None and tk.pool_path == "pool/main/t/tk8.6/tk8.6_8.6.18.orig.tar.gz"
    libffi = catalog.source("libffi", "3.4.8").artifacts[1].debian
    assert libffi is not None
    assert libffi.pool_path == "pool/main/libf/libffi/libffi_3.4.8.orig.tar.gz"
