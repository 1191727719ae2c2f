"""Unit tests of the makesetup reader on small Setup texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbs.cpython.makesetup import (
    Comment,
    Marker,
    Rule,
    Section,
    Variable,
    applied_rules,
    module_rules,
    parse,
)
from pbs.errors import PbsError


def test_rules_start_static_and_follow_the_section_markers() -> None:
    lines = module_rules(parse(
        "posix posixmodule.c\n*shared*\n_testcapi _testcapimodule.c\n"
        "*disabled*\n_gdbm _gdbmmodule.c\n*static*\narray arraymodule.c\n"
    ))
    assert [(rule.name, rule.section) for rule in lines] == [
        ("posix", Section.STATIC), ("_testcapi", Section.SHARED),
        ("_gdbm", Section.DISABLED), ("array", Section.STATIC),
    ]
    assert [rule.built for rule in lines] == [True, True, False, True]


def test_a_rule_keeps_its_words_and_names_its_c_sources() -> None:
    (rule,) = parse("_ctypes _ctypes/_ctypes.c _ctypes/cfield.c -DHAVE_FFI -lffi $(LIBFFI_LIBS)\n")
    assert rule == Rule(name="_ctypes", section=Section.STATIC, words=(
        "_ctypes/_ctypes.c", "_ctypes/cfield.c", "-DHAVE_FFI", "-lffi", "$(LIBFFI_LIBS)"))
    assert rule.sources == ("_ctypes/_ctypes.c", "_ctypes/cfield.c")
    assert rule.line == "_ctypes _ctypes/_ctypes.c _ctypes/cfield.c -DHAVE_FFI -lffi $(LIBFFI_LIBS)"


def test_a_backslash_continues_a_rule_across_lines_and_comments() -> None:
    (rule,) = parse("_ssl _ssl.c \\\n    # the libraries\n    -lssl \\\n  -lcrypto\n")
    assert rule.words == ("_ssl.c", "-lssl", "-lcrypto")


def test_any_line_with_an_equals_sign_is_a_variable() -> None:
    # makesetup reads `-DX=1` in a rule as a definition too; the catalog rejects such rules.
    assert parse("srcdir = ../Modules\n_foo foo.c -DX=1\n") == (
        Variable("srcdir", "../Modules"), Variable("_foo foo.c -DX", "1"))


def test_comments_are_prose_or_rules_configure_commented_out() -> None:
    lines = parse(
        "# Test modules\n#\n# needs -lffi and foo.c\n#_gdbm _gdbmmodule.c\n"
        "#@MODULE__DBM_TRUE@_dbm _dbmmodule.c\narray arraymodule.c  # always\n"
    )
    assert lines[:3] == (Comment("# Test modules"), Comment("#"), Comment("# needs -lffi and foo.c"))
    assert [(r.name, r.commented, r.built) for r in lines[3:]] == [
        ("_gdbm", True, False), ("_dbm", True, False), ("array", False, True)]
    assert lines[5].words == ("arraymodule.c",)
    assert [r.name for r in module_rules(lines)] == ["array"]
    assert [r.name for r in module_rules(lines, commented=True)] == ["_gdbm", "_dbm", "array"]


def test_a_template_keeps_its_rules_and_leaves_the_build_type_to_configure() -> None:
    lines = parse("*shared*\n*@MODULE_BUILDTYPE@*\n@MODULE__SSL_TRUE@_ssl _ssl.c\n")
    assert lines[1] == Marker(None)
    assert lines[2] == Rule(name="_ssl", words=("_ssl.c",), section=Section.SHARED)


def test_a_line_without_a_module_name_is_an_error() -> None:
    with pytest.raises(PbsError, match="'foo.c bar' is no Setup line"):
        parse("foo.c bar\n")


def test_files_read_as_one_and_the_first_rule_for_a_module_wins(tmp_path: Path) -> None:
    local = tmp_path / "Setup.local"
    local.write_text("*shared*\n_testcapi _testcapimodule.c\n*disabled*\n_tkinter\n")
    stdlib = tmp_path / "Setup.stdlib"
    # No marker of its own: the section carries over from Setup.local, as in makesetup.
    stdlib.write_text("_json _json.c\n*static*\n_testcapi _testcapimodule.c\n_tkinter _tkinter.c\n")
    applied = applied_rules([local, stdlib])
    assert {name: rule.section for name, rule in applied.items()} == {
        "_testcapi": Section.SHARED, "_tkinter": Section.DISABLED, "_json": Section.DISABLED}
