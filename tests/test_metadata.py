"""PYTHON.json model: round trips, the exact key names of the format, and the schema check."""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path

import pytest

from pbs.distribution_json import check_python_json, load_python_json
from pbs.metadata import (
    FORMAT_VERSION,
    BuildInfo,
    CoreInfo,
    ExtensionVariant,
    Link,
    PythonJson,
    PythonJsonError,
    HOME,
    dumps,
    parse,
    read_python_json,
    write_python_json,
)

# The top-level keys python-build-standalone documents for format 8 on Linux.
DOCUMENTED_TOP_KEYS = {
    "version",
    "target_triple",
    "optimizations",
    "build_options",
    "python_tag",
    "python_abi_tag",
    "python_platform_tag",
    "python_implementation_cache_tag",
    "python_implementation_hex_version",
    "python_implementation_name",
    "python_implementation_version",
    "python_version",
    "python_major_minor_version",
    "python_paths",
    "python_paths_abstract",
    "python_config_vars",
    "python_exe",
    "python_stdlib_platform_config",
    "python_stdlib_test_packages",
    "python_suffixes",
    "python_bytecode_magic_number",
    "python_symbol_visibility",
    "python_extension_module_loading",
    "libpython_link_mode",
    "crt_features",
    "run_tests",
    "build_info",
    "licenses",
    "license_path",
    "tcl_library_path",
    "tcl_library_paths",
}


def make_doc() -> PythonJson:
    """A small but complete document, shaped like a real x86_64 glibc build."""
    mm = "3.14"
    stdlib = f"install/lib/python{mm}"
    return PythonJson(
        target_triple="x86_64-unknown-linux-gnu",
        optimizations="pgo+lto",
        build_options="pgo+lto",
        python_tag="cp314",
        python_abi_tag="",
        python_platform_tag="linux-x86_64",
        python_implementation_cache_tag="cpython-314",
        python_implementation_hex_version=0x030E07F0,
        python_implementation_name="cpython",
        python_implementation_version=["3", "14", "7", "final", "0"],
        python_version="3.14.7",
        python_major_minor_version=mm,
        python_paths={
            "data": "install",
            "include": f"install/include/python{mm}",
            "platinclude": f"install/include/python{mm}",
            "platlib": f"{stdlib}/site-packages",
            "platstdlib": stdlib,
            "purelib": f"{stdlib}/site-packages",
            "scripts": "install/bin",
            "stdlib": stdlib,
        },
        python_paths_abstract={
            "data": "{base}",
            "stdlib": "{installed_base}/{platlibdir}/python{py_version_short}{abi_thread}",
        },
        python_config_vars={"SOABI": "cpython-314-x86_64-linux-gnu", "Py_ENABLE_SHARED": "1"},
        python_exe=f"install/bin/python{mm}",
        python_stdlib_platform_config=f"{stdlib}/config-{mm}-x86_64-linux-gnu",
        python_stdlib_test_packages=["test"],
        python_suffixes={
            "bytecode": [".pyc"],
            "debug_bytecode": [".pyc"],
            "extension": [".cpython-314-x86_64-linux-gnu.so", ".abi3.so", ".so"],
            "optimized_bytecode": [".pyc"],
            "source": [".py"],
        },
        python_bytecode_magic_number="2b0e0d0a",
        python_symbol_visibility="global-default",
        python_extension_module_loading=["builtin", "shared-library"],
        libpython_link_mode="shared",
        crt_features=["glibc-dynamic", "glibc-max-symbol-version:2.17"],
        run_tests="build/run_tests.py",
        build_info=BuildInfo(
            core=CoreInfo(
                objs=["build/Objects/object.o", "build/Python/ceval.o"],
                links=[Link.system_library("m"), Link.system_library("pthread")],
                static_lib=f"{stdlib}/config-{mm}-x86_64-linux-gnu/libpython{mm}.a",
                shared_lib=f"install/lib/libpython{mm}.so.1.0",
            ),
            extensions={
                "_ssl": [
                    ExtensionVariant(
                        in_core=False,
                        init_fn="PyInit__ssl",
                        objs=["build/Modules/_ssl.o"],
                        links=[
                            Link.static_library("crypto", "build/lib/libcrypto.a"),
                            Link.static_library("ssl", "build/lib/libssl.a"),
                        ],
                        licenses=["Apache-2.0"],
                        license_paths=["licenses/LICENSE.openssl-3.txt"],
                        license_public_domain=False,
                        required=False,
                    )
                ],
                "math": [
                    ExtensionVariant(
                        in_core=False,
                        init_fn="PyInit_math",
                        objs=["build/Modules/mathmodule.o"],
                        links=[Link.system_library("m")],
                        shared_lib=f"{stdlib}/lib-dynload/math.cpython-314-x86_64-linux-gnu.so",
                        required=False,
                    )
                ],
                "_io": [
                    ExtensionVariant(
                        in_core=True,
                        init_fn="PyInit__io",
                        objs=[],
                        links=[],
                        required=True,
                    )
                ],
            },
            inittab_object="build/Modules/config.o",
            inittab_source="build/Modules/config.c",
            inittab_cflags=["-std=c99", "-DNDEBUG", "-DPy_BUILD_CORE"],
            object_file_format="llvm-bitcode:22.1.0",
        ),
        licenses=["Python-2.0", "CNRI-Python"],
        license_path="licenses/LICENSE.cpython.txt",
        tcl_library_path="install/lib",
        tcl_library_paths=["tcl8.6", "tk8.6"],
    )


def make_data() -> dict:
    return make_doc().to_dict()


def materialise(root: Path, data: dict, *, skip: set[str] = frozenset()) -> None:
    """Create every path the document names under root (directories for the directory-ish
    ones), except those in `skip`."""
    directories = set(data["python_paths"].values()) | {
        data["tcl_library_path"],
        data["python_stdlib_platform_config"],
        *(f"{data['tcl_library_path']}/{p}" for p in data["tcl_library_paths"]),
    }
    for _, rel in referenced_paths(data):
        if rel in skip:
            continue
        target = root / rel
        if rel in directories:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"")


def referenced_paths(data: dict) -> list[tuple[str, str]]:
    doc, problems = parse(data)
    assert doc is not None, problems
    return list(doc.paths())


def schema_problems(data: object) -> list[str]:
    return parse(data)[1]


def from_data(data: dict) -> PythonJson:
    doc, problems = parse(data)
    assert doc is not None, problems
    return doc


def tree_problems(root: Path, data: dict) -> list[str]:
    """What check_python_json finds in `data` written to `root`/PYTHON.json."""
    (root / "PYTHON.json").write_text(json.dumps(data))
    return check_python_json(root)[1]


def only(problems: list[str], needle: str) -> list[str]:
    return [p for p in problems if needle in p]


# ------------------------------------------------------------------------- round trips


def test_to_dict_parse_round_trip():
    doc = make_doc()
    again = from_data(doc.to_dict())
    assert again == doc
    assert again.to_dict() == doc.to_dict()


def test_a_read_document_is_written_back_byte_for_byte(tmp_path: Path):
    """What the writer wrote, read and written again, is the same file: nothing is lost,
    reordered or added on the way through the model."""
    data = make_data()
    data["build_info"]["extensions"]["_ssl"][0]["links"].append(
        {"name": "z", "path_dynamic": "install/lib/libz.so", "framework": True}
    )
    data["build_info"]["extensions"]["math"][0]["license_public_domain"] = False
    data["python_abi_tag"] = None
    text = json.dumps(data, sort_keys=True, indent=4) + "\n"
    (tmp_path / "PYTHON.json").write_text(text)
    doc = read_python_json(tmp_path / "PYTHON.json")
    assert dumps(doc) == text
    write_python_json(doc, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == text


def test_lists_are_normalised_to_tuples():
    doc = make_doc()
    assert doc.crt_features == ("glibc-dynamic", "glibc-max-symbol-version:2.17")
    assert isinstance(doc.build_info.extensions["_ssl"], tuple)
    assert isinstance(doc.build_info.core.links, tuple)
    assert list(doc.build_info.extensions) == ["_io", "_ssl", "math"]  # sorted by name


def test_write_read_round_trip(tmp_path: Path):
    doc = make_doc()
    path = tmp_path / "PYTHON.json"
    write_python_json(doc, path)
    assert read_python_json(path) == doc

    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text == json.dumps(doc.to_dict(), sort_keys=True, indent=4) + "\n"
    assert '\n    "build_info": {\n        "core": {' in text  # 4-space indent, sorted keys
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["PYTHON.json"]  # no temp left


def test_write_is_deterministic(tmp_path: Path):
    write_python_json(make_doc(), tmp_path / "a.json")
    write_python_json(make_doc(), tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_write_refuses_invalid_document_and_keeps_old_file(tmp_path: Path):
    path = tmp_path / "PYTHON.json"
    path.write_text("old\n")
    bad = make_doc()
    object.__setattr__(bad, "version", "7")
    with pytest.raises(PythonJsonError, match="version"):
        write_python_json(bad, path)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["PYTHON.json"]


def test_read_reports_invalid_json_and_invalid_document(tmp_path: Path):
    path = tmp_path / "PYTHON.json"
    path.write_text("{not json")
    with pytest.raises(PythonJsonError, match="not valid JSON"):
        read_python_json(path)

    data = make_data()
    del data["build_info"]["core"]
    path.write_text(json.dumps(data))
    with pytest.raises(PythonJsonError) as info:
        read_python_json(path)
    assert str(path) in str(info.value)
    assert info.value.problems == ["build_info.core: missing required key"]

    path.write_text("[]")
    with pytest.raises(PythonJsonError, match="expected a JSON object"):
        read_python_json(path)


def test_parse_reports_every_problem():
    data = make_data()
    data["version"] = "7"
    del data["python_tag"]
    assert parse(data) == (None, [
        "version: expected the string '8', got string '7'",
        "python_tag: missing required key",
    ])


# ------------------------------------------------------------------------- key names


def test_top_level_keys_are_the_documented_ones():
    data = make_data()
    assert set(data) == DOCUMENTED_TOP_KEYS
    assert data["version"] == FORMAT_VERSION == "8"
    for key in ("python_paths", "build_info", "python_exe", "libpython_link_mode",
                "python_implementation_hex_version", "python_bytecode_magic_number"):
        assert key in data


def test_build_info_key_names():
    info = make_data()["build_info"]
    assert set(info) == {
        "core", "extensions", "inittab_object", "inittab_source", "inittab_cflags",
        "object_file_format",
    }
    assert info["inittab_object"] == "build/Modules/config.o"
    assert set(info["core"]) == {"objs", "links", "static_lib", "shared_lib"}

    ssl = info["extensions"]["_ssl"][0]
    assert set(ssl) == {
        "in_core", "init_fn", "objs", "links", "required", "variant", "licenses",
        "license_paths", "license_public_domain",
    }
    assert ssl["in_core"] is False
    assert ssl["init_fn"] == "PyInit__ssl"
    assert ssl["variant"] == "default"
    assert ssl["links"][0] == {"name": "crypto", "path_static": "build/lib/libcrypto.a"}
    assert info["core"]["links"][0] == {"name": "m", "system": True}

    math = info["extensions"]["math"][0]
    assert "shared_lib" in math and "static_lib" not in math and "licenses" not in math


def test_optional_values_are_omitted_but_abi_tag_stays_nullable():
    doc = from_data({**make_data(), "python_abi_tag": None})
    data = doc.to_dict()
    assert data["python_abi_tag"] is None
    trimmed = make_data()
    for key in ("licenses", "license_path", "tcl_library_path", "tcl_library_paths",
                "python_stdlib_platform_config"):
        del trimmed[key]
    assert set(from_data(trimmed).to_dict()) == set(trimmed)
    assert schema_problems(trimmed) == []


def test_link_shapes():
    assert Link(name="x", path_dynamic="install/lib/libx.so", system=False).to_dict() == {
        "name": "x", "path_dynamic": "install/lib/libx.so",
    }
    assert Link.decode({"name": "m", "system": True}, HOME) == (Link.system_library("m"), [])
    framework, _ = Link.decode({"name": "y", "framework": True}, HOME)
    assert framework is not None and framework.framework is True


# ------------------------------------------------------------------------- schema check


def test_minimal_valid_document_passes():
    assert schema_problems(make_data()) == []


def test_valid_document_with_tree_on_disk_passes(tmp_path: Path):
    data = make_data()
    materialise(tmp_path, data)
    assert tree_problems(tmp_path, data) == []


def test_missing_top_level_key():
    data = make_data()
    del data["python_paths"]
    assert schema_problems(data) == ["python_paths: missing required key"]


def test_missing_nested_keys():
    data = make_data()
    del data["build_info"]["extensions"]["_ssl"][0]["init_fn"]
    del data["build_info"]["core"]["links"][1]["name"]
    del data["build_info"]["inittab_object"]
    problems = schema_problems(data)
    assert "build_info.extensions._ssl[0].init_fn: missing required key" in problems
    assert "build_info.core.links[1].name: missing required key" in problems
    assert "build_info.inittab_object: missing required key" in problems


@pytest.mark.parametrize("version", ["7", 8, None])
def test_wrong_version(version):
    data = make_data()
    data["version"] = version
    problems = schema_problems(data)
    assert len(problems) == 1 and problems[0].startswith("version:")


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d.update(python_implementation_hex_version="0x30e07f0"),
         "python_implementation_hex_version: expected an integer"),
        (lambda d: d.update(python_implementation_hex_version=True),
         "python_implementation_hex_version: expected an integer"),
        (lambda d: d.update(python_paths=["install"]), "python_paths: expected an object"),
        (lambda d: d.update(crt_features="glibc-dynamic"), "crt_features: expected an array"),
        (lambda d: d["python_config_vars"].update(SIZEOF_VOID_P=8),
         "python_config_vars.SIZEOF_VOID_P: expected a string"),
        (lambda d: d["build_info"]["extensions"]["math"][0].update(in_core="no"),
         "build_info.extensions.math[0].in_core: expected a boolean"),
        (lambda d: d["build_info"]["core"].update(objs="build/Python/ceval.o"),
         "build_info.core.objs: expected an array"),
        (lambda d: d["build_info"]["core"]["links"][0].update(system="yes"),
         "build_info.core.links[0].system: expected a boolean"),
        (lambda d: d.update(libpython_link_mode="dynamic"), "libpython_link_mode: 'dynamic'"),
        (lambda d: d.update(python_symbol_visibility="hidden"), "python_symbol_visibility:"),
        (lambda d: d.update(python_bytecode_magic_number="xyz"),
         "python_bytecode_magic_number: 'xyz' is not a hexadecimal string"),
        (lambda d: d.update(python_extension_module_loading=["shared-library"]),
         "python_extension_module_loading: must contain 'builtin'"),
        (lambda d: d["build_info"].update(object_file_format="wasm"),
         "build_info.object_file_format: 'wasm'"),
        (lambda d: d["python_suffixes"].pop("extension"),
         "python_suffixes: missing key 'extension'"),
        (lambda d: d.update(python_major_minor_version="3.13"),
         "python_major_minor_version: '3.13' does not match python_version '3.14.7'"),
        (lambda d: d.update(python_exe=None), "python_exe: must not be null"),
    ],
)
def test_wrong_types_and_values(mutate, where):
    data = make_data()
    mutate(data)
    problems = schema_problems(data)
    assert len(only(problems, where)) == 1, problems
    assert len(problems) == 1, problems


def test_extension_needs_a_variant_and_unique_variant_names():
    data = make_data()
    data["build_info"]["extensions"]["math"] = []
    data["build_info"]["extensions"]["_ssl"].append(
        copy.deepcopy(data["build_info"]["extensions"]["_ssl"][0])
    )
    problems = schema_problems(data)
    assert "build_info.extensions.math: an extension needs at least one variant" in problems
    assert "build_info.extensions._ssl: variant 'default' is listed more than once" in problems


def test_malformed_links():
    data = make_data()
    links = data["build_info"]["extensions"]["math"][0]["links"]
    links.append({"name": "z"})
    links.append({"name": "w", "system": True, "framework": True})
    links.append({"name": ""})
    links.append("m")
    problems = schema_problems(data)
    where = "build_info.extensions.math[0].links"
    assert only(problems, f"{where}[1]: link 'z' names no way to find the library")
    assert only(problems, f"{where}[2]: a link cannot be both a system library and a framework")
    assert only(problems, f"{where}[3].name: must not be empty")
    assert only(problems, f"{where}[4]: expected an object")
    assert len(problems) == 4


def test_unknown_superseded_and_misplaced_keys():
    data = make_data()
    data["build_info"]["extensions"]["_ssl"][0]["build-mode"] = "static"
    data["link_mode"] = "shared"
    data["build_info"]["core"]["inittab_source"] = "build/Modules/config.c"
    assert schema_problems(data) == [
        "build_info.core.inittab_source: belongs in build_info, not in core",
        "build_info.extensions._ssl[0].build-mode: unknown key",
        "link_mode: superseded key from an older format; use 'libpython_link_mode'",
    ]


def test_apple_keys_only_beside_an_apple_triple():
    data = {**make_data(), "apple_sdk_version": "14.0"}
    assert schema_problems(data) == [
        "apple_sdk_version: only allowed for Apple target triples, "
        "not 'x86_64-unknown-linux-gnu'"
    ]
    apple = from_data({**data, "target_triple": "aarch64-apple-darwin"})
    assert apple.apple_sdk_version == "14.0"
    assert apple.to_dict()["apple_sdk_version"] == "14.0"


def test_paths_must_be_relative_and_inside():
    data = make_data()
    data["python_exe"] = "/install/bin/python3"
    data["build_info"]["core"]["objs"][0] = "../outside.o"
    problems = schema_problems(data)
    assert only(problems, "python_exe: '/install/bin/python3' must be relative")
    assert only(problems, "build_info.core.objs[0]: '../outside.o' must not contain '..'")
    assert len(problems) == 2


def test_every_missing_path_is_reported(tmp_path: Path):
    data = make_data()
    problems = tree_problems(tmp_path, data)
    named = {rel for _, rel in referenced_paths(data)}
    assert len(problems) == len(referenced_paths(data))
    assert all("does not exist under" in p for p in problems)
    for rel in ("build/Modules/config.o", "build/lib/libssl.a", "licenses/LICENSE.openssl-3.txt",
                "install/lib/tcl8.6", "build/run_tests.py", "install/bin/python3.14"):
        assert rel in named


@pytest.mark.parametrize(
    ("rel", "where"),
    [
        ("build/Python/ceval.o", "build_info.core.objs[1]"),
        ("install/lib/libpython3.14.so.1.0", "build_info.core.shared_lib"),
        ("build/Modules/config.c", "build_info.inittab_source"),
        ("build/lib/libcrypto.a", "build_info.extensions._ssl[0].links[0].path_static"),
        ("licenses/LICENSE.openssl-3.txt", "build_info.extensions._ssl[0].license_paths[0]"),
        ("install/lib/python3.14/lib-dynload/math.cpython-314-x86_64-linux-gnu.so",
         "build_info.extensions.math[0].shared_lib"),
        ("install/include/python3.14", "python_paths.include"),
        ("install/bin/python3.14", "python_exe"),
        ("licenses/LICENSE.cpython.txt", "license_path"),
        ("install/lib/tk8.6", "tcl_library_paths[1]"),
    ],
)
def test_one_missing_path_on_disk(tmp_path: Path, rel: str, where: str):
    data = make_data()
    materialise(tmp_path, data, skip={rel})
    problems = tree_problems(tmp_path, data)
    # python_paths.include and .platinclude name the same directory.
    assert only(problems, f"{where}: {rel!r} does not exist under {tmp_path}")
    assert all(rel in p for p in problems)


def test_dangling_symlink_counts_as_missing(tmp_path: Path):
    data = make_data()
    exe = data["python_exe"]
    materialise(tmp_path, data, skip={exe})
    (tmp_path / exe).symlink_to("python3.14-gone")
    assert tree_problems(tmp_path, data) == [f"python_exe: {exe!r} does not exist under {tmp_path}"]


def test_not_an_object():
    assert schema_problems([]) == ["document: expected a JSON object, got array"]


# ------------------------------------------------------------------------- unpacked distributions


def test_load_checks_the_document_against_the_tree(tmp_path: Path):
    data = make_data()
    materialise(tmp_path, data)
    (tmp_path / "PYTHON.json").write_text(json.dumps(data))
    assert load_python_json(tmp_path, "archive.tar.zst") == make_doc()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "PYTHON.json is missing"),
        (b"\x00\xff\xfe\x80garbage", "not valid JSON: "),
        (b"[" * 100_000, "not valid JSON: "),
        (b"{}", "version: missing required key"),
        (b'"a string"', "document: expected a JSON object, got string"),
    ],
)
def test_load_refuses_what_is_not_a_document_in_one_line(
    tmp_path: Path, content: bytes | None, problem: str
):
    if content is not None:
        (tmp_path / "PYTHON.json").write_bytes(content)
    with pytest.raises(PythonJsonError) as info:
        load_python_json(tmp_path, "cpython-full.tar.zst")
    message = str(info.value)
    assert message.startswith(
        f"python/PYTHON.json of cpython-full.tar.zst is not a valid format-8 PYTHON.json: {problem}"
    )
    assert "\n" not in message


def test_one_line_error_shows_the_first_problems_and_counts_the_rest(tmp_path: Path):
    (tmp_path / "PYTHON.json").write_text("{}")
    with pytest.raises(PythonJsonError) as info:
        load_python_json(tmp_path, "a.tar.zst")
    assert len(info.value.problems) > 5
    assert str(info.value).endswith(f"(and {len(info.value.problems) - 5} more)")


def test_a_symlink_leading_out_of_the_tree_is_refused(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    tree = tmp_path / "python"
    data = make_data()
    materialise(tree, data)
    (tree / "PYTHON.json").write_text(json.dumps(data))
    exe = tree / data["python_exe"]
    exe.unlink()
    exe.symlink_to(outside / "python3")
    (outside / "python3").write_text("")
    with pytest.raises(PythonJsonError, match="python_exe: 'install/bin/python3.14' leads outside"):
        load_python_json(tree, "a.tar.zst")
    # PYTHON.json itself may not be a way out either.
    (outside / "PYTHON.json").write_text(json.dumps(data))
    (tree / "PYTHON.json").unlink()
    (tree / "PYTHON.json").symlink_to(outside / "PYTHON.json")
    assert check_python_json(tree) == (None, [f"PYTHON.json leads outside {tree} through a symlink"])
    (tree / "PYTHON.json").unlink()
    os.mkfifo(tree / "PYTHON.json")
    assert check_python_json(tree) == (None, ["PYTHON.json is not a regular file"])


def _locations(value: object, at: tuple = ()) -> list[tuple]:
    """The key/index path of every value inside `value`, containers included."""
    found = [at]
    if isinstance(value, dict):
        for name, item in value.items():
            found += _locations(item, (*at, name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _locations(item, (*at, i))
    return found


def test_any_value_of_the_wrong_kind_anywhere_is_a_problem_not_a_crash():
    """Each value of a valid document replaced by each kind of JSON value: the document is
    either still valid or refused with one-line problems that say where, never a traceback."""
    data = make_data()
    for at in _locations(data)[1:]:
        for hostile in (None, -1, 1.5, "", "x", [], ["x"], {}, {"x": 1}, True):
            broken = copy.deepcopy(data)
            parent = broken
            for step in at[:-1]:
                parent = parent[step]
            parent[at[-1]] = hostile
            doc, problems = parse(broken)
            assert (doc is None) == bool(problems), (at, hostile)
            assert all(": " in p and "\n" not in p for p in problems), problems
