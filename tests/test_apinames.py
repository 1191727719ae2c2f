"""The system-level API comparison: reference lists, exceptions, and the command that records."""

from __future__ import annotations

import json
import sys

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pbs import apinames
from pbs.smoke import api
from pbs.smoke.api import REFERENCES, compare
from pbs.catalog import ApiException, ApiSpec, Catalog, load_catalog

X86_64 = load_catalog().target(None)
SPEC = ApiSpec(modules=("os",), exceptions=(
    ApiException(module="os", names=("SPAWN_*",), python=SpecifierSet(">=3.13"), reason="why"),
))


def test_a_missing_name_fails_unless_an_exception_covers_it_for_that_version() -> None:
    reference = {"os": ["SPAWN_CLOSEFROM", "memfd_create", "open"]}
    built = {"os": ["open", "NEWER"]}
    (newer,) = compare(reference, built, SPEC, Version("3.13.1"), X86_64)
    assert (newer.present, newer.missing, newer.excepted, newer.extra) == (
        1, ("memfd_create",), {"SPAWN_CLOSEFROM": "why"}, ("NEWER",))
    (older,) = compare(reference, built, SPEC, Version("3.11.2"), X86_64)
    assert older.missing == ("SPAWN_CLOSEFROM", "memfd_create")


def test_an_exception_for_one_c_library_or_architecture_applies_there_only(
    catalog: Catalog,
) -> None:
    spec = ApiSpec(modules=("os", "mmap"), exceptions=(
        ApiException(module="os", names=("RTLD_DEEPBIND",), python=SpecifierSet(">=3.11"),
                     reason="glibc's", libc="musl"),
        ApiException(module="mmap", names=("MAP_32BIT",), python=SpecifierSet(">=3.11"),
                     reason="x86's", unless_arch="x86_64"),
    ))
    reference = {"os": ["RTLD_DEEPBIND"], "mmap": ["MAP_32BIT"]}
    built: dict[str, list[str] | None] = {"os": [], "mmap": []}
    lacking = {triple: [(m.missing, m.excepted) for m in compare(
                   reference, built, spec, Version("3.14.7"), catalog.target(triple))]
               for triple in ("x86_64-unknown-linux-musl", "x86_64-unknown-linux-gnu",
                              "aarch64-unknown-linux-gnu")}
    assert lacking == {
        "x86_64-unknown-linux-musl": [((), {"RTLD_DEEPBIND": "glibc's"}), (("MAP_32BIT",), {})],
        "x86_64-unknown-linux-gnu": [(("RTLD_DEEPBIND",), {}), (("MAP_32BIT",), {})],
        "aarch64-unknown-linux-gnu": [(("RTLD_DEEPBIND",), {}), ((), {"MAP_32BIT": "x86's"})],
    }


def test_a_module_the_build_lacks_misses_every_name() -> None:
    (module,) = compare({"os": ["open"]}, {"os": None}, SPEC, Version("3.14.0"), X86_64)
    assert module.missing == ("open",)


def test_each_reference_is_of_a_catalogued_version_and_lists_every_module(
    catalog: Catalog,
) -> None:
    references = sorted(REFERENCES.glob("*.json"))
    assert references
    for path in references:
        data = json.loads(path.read_text())
        assert Version(data["python"]) in {p.version for p in catalog.pythons}, path.name
        assert path.name == f"{data['python']}.json"
        assert sorted(data["names"]) == sorted(catalog.api.modules), path.name


def test_recording_refuses_a_python_pbs_does_not_build(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setattr(api, "REFERENCES", tmp_path)
    # The interpreter running the tests is not a catalogued release (or is: then it records).
    code = apinames.main([sys.executable])
    err = capsys.readouterr().err
    if code == 0:
        assert list(tmp_path.glob("*.json"))
    else:
        assert code == 2 and err.count("\n") == 1 and "which pbs does not build" in err


def test_the_command_needs_one_interpreter(capsys: pytest.CaptureFixture[str]) -> None:
    assert apinames.main([]) == 2
    assert "usage: python -m pbs.apinames PYTHON" in capsys.readouterr().err
