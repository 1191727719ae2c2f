from __future__ import annotations

import dataclasses
import re
import shutil
from importlib import resources
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pbs.catalog import Catalog, Python, load_catalog
from pbs.catalog.model import BoltOmission, DebianLocation
from pbs.errors import CatalogError, UsageError


def test_catalog_is_consistent(catalog: Catalog) -> None:
    assert catalog.problems() == []


def test_a_build_reads_its_own_cpython_first_and_the_libraries_it_needs(catalog: Catalog) -> None:
    library = next(s for s in catalog.sources if s.role != "python")
    newer_only = dataclasses.replace(library, version="0-newer-only",
                                     requires_python=SpecifierSet(">=3.14"))
    extended = dataclasses.replace(catalog, sources=(*catalog.sources, newer_only))
    target = catalog.target(None)
    for python in catalog.pythons:
        sources = extended.sources_for(python, target)
        assert (sources[0].name, sources[0].version) == ("cpython", str(python.version))
        assert all(s.role != "python" for s in sources[1:])
        # A prerelease of 3.14 needs what 3.14 needs.
        assert (newer_only in sources) == (python.version.release >= (3, 14)), python


def test_injected_inconsistencies_are_found(catalog: Catalog) -> None:
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
    target = catalog.target(None)
    for python in catalog.pythons:
        compiler = catalog.options.compiler_for(python.version, target.libc)
        options = catalog.parse_options("pgo+lto", python, target)
        args = catalog.options.configure_args(options, python.version, target)
        assert args[:2] == ("--enable-optimizations", *compiler.lto_configure), python
        noopt = catalog.parse_options("noopt", python, target)
        assert not any(a.startswith("--with-lto") for a in
                       catalog.options.configure_args(noopt, python.version, target))

    rules = catalog.options.python_compilers
    overlapping = dataclasses.replace(rules[0], requires_python=SpecifierSet(">=3.11"),
                                      compiler="icc")
    options = dataclasses.replace(catalog.options, python_compilers=(*rules, overlapping))
    problems = "\n".join(dataclasses.replace(catalog, options=options).problems())
    assert "compiler 'icc' is not one of clang, gcc" in problems
    assert "python 3.14.7 on glibc matches 2 compiler rules, not one" in problems


def test_musl_builds_take_clang_for_every_version(catalog: Catalog) -> None:
    """The gcc wrapper is glibc's (the host gcc over a glibc sysroot): 3.11 takes it on glibc
    only."""
    python = catalog.python("3.11")
    glibc, musl = catalog.target(None), catalog.target("x86_64-unknown-linux-musl")
    assert catalog.options.compiler_for(python.version, glibc.libc).name == "gcc"
    assert catalog.options.compiler_for(python.version, musl.libc).name == "clang"
    options = catalog.parse_options("lto", python, musl)
    assert "--with-lto=thin" in catalog.options.configure_args(options, python.version, musl)


def test_a_bolt_omission_leaves_flags_out_only_for_its_versions_and_bases(
        catalog: Catalog) -> None:
    flag = catalog.options.bolt.apply[-1]
    omission = BoltOmission(requires_python=SpecifierSet(">=3.14"), bases=("pgo",), flags=(flag,))
    options = dataclasses.replace(catalog.options, bolt_omissions=(omission,))
    extended = dataclasses.replace(catalog, options=options)
    target = catalog.target(None)
    applied = {}
    for python in catalog.pythons:
        for base in options.bolt.bases:
            spec = options.bolt_for(extended.parse_options(base, python, target), target,
                                    python.version)
            if spec is not None:
                applied[python.version.release[:2], base] = flag in spec.apply
    assert applied[(3, 14), "pgo"] is False
    assert applied[(3, 14), "pgo+lto"] is True
    assert applied[(3, 11), "pgo"] is True
    unknown = dataclasses.replace(omission, bases=("debug",))
    problems = dataclasses.replace(
        catalog, options=dataclasses.replace(options, bolt_omissions=(unknown,))).problems()
    assert any("bases it does not optimize: debug" in p for p in problems)


def test_a_static_build_is_not_bolt_optimized(catalog: Catalog) -> None:
    musl = catalog.target("x86_64-unknown-linux-musl")
    python = catalog.python("3.14")
    dynamic = catalog.parse_options("pgo+lto", python, musl)
    static = catalog.parse_options("pgo+lto+static", python, musl)
    assert catalog.options.bolt_for(dynamic, musl, python.version) is not None
    assert catalog.options.bolt_for(static, musl, python.version) is None
    options = dataclasses.replace(catalog.options, bolt_excluded_suffixes=("shared",))
    problems = dataclasses.replace(catalog, options=options).problems()
    assert "BOLT excludes unknown options suffixes: shared" in problems


def test_api_exceptions_name_a_libc_and_an_arch_some_target_has(catalog: Catalog) -> None:
    exception = catalog.api.exceptions[0]
    wrong = (dataclasses.replace(exception, libc="uclibc"),
             dataclasses.replace(exception, unless_arch="mips"))
    api = dataclasses.replace(catalog.api, exceptions=wrong)
    problems = dataclasses.replace(catalog, api=api).problems()
    assert f"api.toml: an exception of {exception.module} names libc uclibc, which no " \
           "target has" in problems
    assert f"api.toml: an exception of {exception.module} names arch mips, which no " \
           "target has" in problems


def test_setup_rules_only_for_the_setup_py_era(catalog: Catalog) -> None:
    rules = ("_dbm _dbmmodule.c -ldb",)
    era = dataclasses.replace(catalog, setup_py_python=SpecifierSet("<3.12"), setup_py_rules=rules)
    assert era.setup_rules_for(Version("3.11.2")) == rules
    # PEP 440: `<3.12` leaves out 3.12's own prereleases, which already have Setup.stdlib.in.
    assert era.setup_rules_for(Version("3.12.0rc1")) is None
    assert era.setup_rules_for(Version("3.12.0")) is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("3.14", "3.14.2"), ("3.14.1", "3.14.1"), ("3.15", "3.15.0rc1"), ("3.13", "3.13.9"),
     (None, "3.14.2")],
)
def test_python_lookup(catalog: Catalog, spec: str | None, expected: str) -> None:
    versions = ("3.14.1", "3.15.0rc1", "3.13.9", "3.14.2")
    listed = dataclasses.replace(catalog, pythons=tuple(Python(version=Version(v)) for v in versions))
    assert str(listed.python(spec).version) == expected


def test_default_python_is_newest_final_release(catalog: Catalog) -> None:
    default = catalog.python(None).version
    assert not default.is_prerelease
    assert default == max(p.version for p in catalog.pythons if not p.version.is_prerelease)


def test_unknown_python_lists_valid_versions(catalog: Catalog) -> None:
    with pytest.raises(UsageError) as caught:
        catalog.python("3.9")
    message = str(caught.value)
    assert "'3.9'" in message
    assert all(f"{p.minor} ({p.version})" in message for p in catalog.pythons)
    assert "\n" not in message
    assert caught.value.exit_code == 2


def test_a_target_allows_only_libraries_its_sysroot_provides(catalog: Catalog) -> None:
    import dataclasses

    target = catalog.target(None)
    widened = dataclasses.replace(target,
                                  allowed_libraries=(*target.allowed_libraries, "libz.so.1"))
    problems = dataclasses.replace(catalog, targets=(widened,)).problems()
    # (api.toml's musl exceptions now name a libc no target has: not this test's concern)
    assert [p for p in problems if p.startswith("target")] == [
        f"target {target.triple} allows libraries its sysroot lacks: libz.so.1"]


def test_the_build_machine_runs_natively_and_foreign_targets_under_an_emulator(
    catalog: Catalog,
) -> None:
    native = catalog.build_machine
    foreign = next(target for target in catalog.targets if target.arch != native.arch)
    assert native.emulator is None and catalog.cpython_cross_configure(native) == ()
    assert foreign.emulator is not None
    own = catalog.cpython_targets[foreign.triple].cpython_configure
    assert set(own) < set(catalog.cpython_cross_configure(foreign))
    unemulated = dataclasses.replace(foreign, emulator=None)
    emulated = dataclasses.replace(native, emulator=foreign.emulator)
    problems = "\n".join(dataclasses.replace(catalog, targets=(emulated, unemulated)).problems())
    assert f"the first target, {native.triple}, is the build machine's own" in problems
    assert f"target {foreign.triple} is foreign to the build machine and names no emulator" in problems


def test_unknown_target_lists_valid_targets(catalog: Catalog) -> None:
    with pytest.raises(UsageError) as caught:
        catalog.target("mips64el-unknown-linux-gnuabi64")
    assert "'mips64el-unknown-linux-gnuabi64'" in str(caught.value)
    assert all(target.triple in str(caught.value) for target in catalog.targets)


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


@pytest.mark.parametrize(
    ("package", "path"),
    [("tk8.6", "pool/main/t/tk8.6/f.tar.gz"), ("libffi", "pool/main/libf/libffi/f.tar.gz")],
)
def test_debian_pool_paths(package: str, path: str) -> None:
    assert DebianLocation(package=package, file="f.tar.gz").pool_path == path


def test_unreadable_catalog_file_is_one_line_naming_it(tmp_path: Path) -> None:
    root = _copy_of_catalog(tmp_path)
    (root / "pythons.toml").write_text("[[python]\nversion = 3.14.7\n")
    with pytest.raises(CatalogError, match=r"cannot read catalog file .*pythons\.toml") as caught:
        load_catalog(root)
    assert "\n" not in str(caught.value)


def test_missing_field_is_one_line_naming_it(tmp_path: Path) -> None:
    root = _copy_of_catalog(tmp_path)
    modules = root / "modules.toml"
    era = "[modules.setup_py_era]\npython = "
    modules.write_text(modules.read_text().replace(era, era.replace("python", "versions")))
    with pytest.raises(CatalogError, match="missing field 'python'") as caught:
        load_catalog(root)
    assert "\n" not in str(caught.value)


def _copy_of_catalog(tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    shutil.copytree(Path(str(resources.files("pbs.catalog"))), root)
    return root


def test_a_target_is_built_only_with_its_option_bases(catalog: Catalog) -> None:
    """As one with zig's builtins would be: it has no profile runtime, so no PGO."""
    foreign = next(target for target in catalog.targets if target.emulator is not None)
    bases = ("noopt", "lto", "debug")
    catalog = dataclasses.replace(catalog, cpython_targets={
        **catalog.cpython_targets,
        foreign.triple: dataclasses.replace(catalog.cpython_targets[foreign.triple],
                                            option_bases=bases)})
    python = catalog.python("3.14")
    refused = next(base for base in catalog.options.bases if base not in bases)
    with pytest.raises(UsageError, match=f"^{foreign.triple} is built only as .*, not {refused}$"):
        catalog.parse_options(f"freethreaded+{refused}", python, foreign)
    accepted = catalog.parse_options(f"freethreaded+{bases[0]}", python, foreign)
    assert accepted.base == bases[0] and accepted.freethreaded
    assert catalog.parse_options(refused, python, catalog.build_machine).base == refused


@pytest.mark.parametrize("level", ["v2", "v3", "v4"])
def test_an_x86_64_level_differs_from_the_baseline_in_its_level_only(catalog: Catalog,
                                                                     level: str) -> None:
    baseline = catalog.target("x86_64-unknown-linux-gnu")
    target = catalog.target(f"x86_64_{level}-unknown-linux-gnu")
    assert target.cflags == (f"-march=x86-64-{level}",) and baseline.cflags == ("-march=x86-64",)
    assert dataclasses.replace(target, triple=baseline.triple, march=baseline.march) == baseline
    assert target.emulator is None and not catalog.cpython_targets[target.triple].option_bases
    # The dependencies' keys hash the whole target, so every level builds its own.
    assert repr(target) != repr(baseline)


def test_a_target_like_no_target_is_one_line(tmp_path: Path) -> None:
    root = _copy_of_catalog(tmp_path)
    targets = root / "targets.toml"
    targets.write_text(targets.read_text().replace('like = "x86_64-unknown-linux-gnu"\nmarch = "x86-64-v3"',
                                                   'like = "x86_64-unknown-linux-none"\nmarch = "x86-64-v3"'))
    with pytest.raises(CatalogError, match="x86_64_v3-unknown-linux-gnu: like names no target "
                                           "of its own: x86_64-unknown-linux-none"):
        load_catalog(root)


def test_a_march_of_no_level_is_found(catalog: Catalog) -> None:
    target = dataclasses.replace(catalog.target("x86_64_v3-unknown-linux-gnu"), march="x86-64-v5")
    bad = dataclasses.replace(catalog, targets=(*catalog.targets[:2], target, *catalog.targets[3:]))
    assert bad.problems() == [f"target {target.triple}: march x86-64-v5 is no level of isa.toml"]


def test_the_tail_calling_interpreter_only_where_clang_has_its_calling_convention(
    catalog: Catalog,
) -> None:
    """preserve_none: clang 22 has it for x86-64 and AArch64; 3.14's configure stops without."""
    python = next(p for p in catalog.pythons if p.version.release[:2] == (3, 14))
    for target in catalog.targets:
        options = catalog.parse_options("noopt", python, target)
        args = catalog.options.configure_args(options, python.version, target)
        assert ("--with-tail-call-interp" in args) == (target.arch in {"x86_64", "aarch64"})
