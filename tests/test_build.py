"""`pbs build` end to end: a real CPython 3.14 noopt build, its archives, and their use."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import E2E_ARCHIVES, E2E_TAG, TINY_EXTENSION, E2EBuild, pbs

from pbs.catalog import load_catalog
from pbs.distribution_json import check_python_json
from pbs.metadata import dumps
from pbs.pipeline import release_epoch
from pbs.sources.extract import extract_archive

pytestmark = pytest.mark.slow

TAG = E2E_TAG
TRIPLE = "x86_64-unknown-linux-gnu"
ARCHIVES = E2E_ARCHIVES


@pytest.fixture(scope="module")
def cache(e2e_build: E2EBuild) -> Path:
    return e2e_build.cache


@pytest.fixture(scope="module")
def dist(e2e_build: E2EBuild) -> Path:
    return e2e_build.dist


@pytest.fixture(scope="module")
def python_dir(tmp_path_factory, dist: Path) -> Path:
    """install_only extracted somewhere else than anything the build used."""
    root = tmp_path_factory.mktemp("elsewhere") / "some where"
    return extract_archive(dist / ARCHIVES[1], root) / "python"


@pytest.fixture(scope="module")
def full(tmp_path_factory, dist: Path) -> Path:
    return extract_archive(dist / ARCHIVES[0], tmp_path_factory.mktemp("full") / "root") / "python"


def run(python: Path, *args: str, cwd: Path | None = None) -> str:
    result = subprocess.run([str(python), *args], capture_output=True, text=True, cwd=cwd, check=False,
                            env={"PATH": os.environ["PATH"]})
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_build_validated_and_tested_its_archives(e2e_build: E2EBuild) -> None:
    lines = e2e_build.output.splitlines()
    for name in ARCHIVES:
        (summary,) = [line for line in lines if line.startswith(f"validate {name}: checked ")]
        assert summary.endswith(": 0 problems")
    # The checks table's caption counts the outcomes: none failed, and regrtest ran.
    assert any(line.strip().startswith("0 failed") or ", 0 failed" in line for line in lines)
    (regrtest,) = [line for line in lines if "regrtest" in line]
    assert "passed" in regrtest


def test_archives_and_checksums(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir())
    assert names == sorted([*ARCHIVES, "SHA256SUMS", "python-downloads.json"])
    lines = (dist / "SHA256SUMS").read_text().splitlines()
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest
    assert len(lines) == 3


def test_every_extension_module_in_python_json_imports(python_dir: Path, full: Path) -> None:
    doc = json.loads((full / "PYTHON.json").read_text())
    names = sorted(doc["build_info"]["extensions"])
    for expected in ("_ssl", "_hashlib", "_sqlite3", "_ctypes", "_lzma", "_bz2", "zlib", "readline",
                     "_curses", "_curses_panel", "_dbm", "_uuid", "_decimal", "_tkinter", "_zstd"):
        assert expected in names
    # install_only leaves the test-only modules out; the full archive's own tree has them all.
    left_out = load_catalog().release.install_only.test_extensions
    assert left_out & set(names)
    script = "import importlib, sys\nfor n in sys.argv[1:]: importlib.import_module(n)\nprint('ok')"
    assert run(full / "install" / "bin" / "python3", "-c", script, *names) == "ok\n"
    assert run(python_dir / "bin" / "python3", "-c", script,
               *(n for n in names if n not in left_out)) == "ok\n"
    assert doc["build_info"]["extensions"]["_ssl"][0]["in_core"] is True


def test_runs_from_anywhere_and_through_a_symlink(python_dir: Path, tmp_path: Path) -> None:
    link = tmp_path / "py"
    link.symlink_to(python_dir / "bin" / "python3")
    for python in (python_dir / "bin" / "python3", link):
        out = run(python, "-c", "import sys, ssl; print(sys.version); print(sys.prefix)", cwd=tmp_path)
        version, prefix = out.splitlines()
        assert version.startswith("3.14.7")
        assert Path(prefix) == python_dir


def test_sys_version_shows_the_release_date(python_dir: Path) -> None:
    day = datetime.datetime.fromtimestamp(release_epoch(TAG), datetime.UTC)
    # __DATE__'s form: "Jan  1 2026", the day padded with a space.
    assert f"{day:%b} {day.day:2d} {day.year}" in run(python_dir / "bin" / "python3", "-VV")


def test_tcl_finds_its_library(python_dir: Path) -> None:
    out = run(python_dir / "bin" / "python3", "-c",
              "import tkinter; t = tkinter.Tcl(); print(t.eval('info patchlevel'));"
              " print(t.eval('info library')); print(t.eval('package require http'))")
    patchlevel, library, http = out.splitlines()
    assert patchlevel == "8.6.18"
    assert Path(library).resolve().is_relative_to(python_dir.resolve())
    assert http.startswith("2.")


def _wheel(directory: Path) -> Path:
    wheel = directory / "hello_pbs-1.0-py3-none-any.whl"
    files = {
        "hello_pbs.py": "GREETING = 'hello from a wheel'\n",
        "hello_pbs-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: hello-pbs\nVersion: 1.0\n",
        "hello_pbs-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr("hello_pbs-1.0.dist-info/RECORD", "".join(f"{n},,\n" for n in files)
                         + "hello_pbs-1.0.dist-info/RECORD,,\n")
    return wheel


def test_venv_and_pip_install_of_a_local_wheel(python_dir: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(python_dir / "bin" / "python3", "-m", "venv", str(venv))
    run(venv / "bin" / "python", "-m", "pip", "install", "--no-index", str(_wheel(tmp_path)))
    assert run(venv / "bin" / "python", "-c", "import hello_pbs; print(hello_pbs.GREETING)") == (
        "hello from a wheel\n")
    # pip's own script finds its interpreter through the relocatable shebang.
    assert "pip" in run(python_dir / "bin" / "pip3", "--version")


HOST_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CA_SCRIPT = ("import ssl; print(ssl.get_default_verify_paths().openssl_cafile);"
             " print(ssl.create_default_context().cert_store_stats()['x509_ca'])")


@pytest.mark.skipif(os.geteuid() != 0 or not HOST_BUNDLE.is_file() or not shutil.which("unshare"),
                    reason="needs root (a private mount namespace and chroot) and the host's CA bundle")
@pytest.mark.parametrize("bundle", load_catalog().target(TRIPLE).ca_bundles)
def test_ssl_finds_the_ca_bundle_of_each_distribution_layout(
    python_dir: Path, tmp_path: Path, bundle: str
) -> None:
    # A root that has the host's /usr but an /etc holding nothing but this layout's bundle.
    root = tmp_path / "root"
    (root / "usr").mkdir(parents=True)
    (root / "python").mkdir()
    for name in ("bin", "lib", "lib64"):
        (root / name).symlink_to(f"usr/{name}")
    (root / bundle.lstrip("/")).parent.mkdir(parents=True)
    shutil.copy(HOST_BUNDLE, root / bundle.lstrip("/"))
    script = (f"mount --bind /usr '{root}/usr' && mount --bind '{python_dir}' '{root}/python' && "
              f"exec chroot '{root}' /python/bin/python3 -c \"{CA_SCRIPT}\"")
    result = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True,
                            check=False, env={"PATH": os.environ["PATH"]})
    assert result.returncode == 0, result.stderr[-3000:]
    cafile, certificates = result.stdout.split()
    assert cafile == bundle
    assert int(certificates) > 100


def test_c_extension_builds_with_the_system_compiler(python_dir: Path, tmp_path: Path) -> None:
    python = python_dir / "bin" / "python3"
    # As setuptools does: flags from the config vars, headers from the install's own paths.
    config = json.loads(run(python, "-c", "import json, sysconfig; v = {k: sysconfig.get_config_var(k) for k in ('CC', 'CFLAGS', 'CCSHARED', 'LDSHARED', 'EXT_SUFFIX', 'AR', 'CXX')}; v['INCLUDEPY'] = sysconfig.get_paths()['include']; print(json.dumps(v))"))
    assert config["CC"].split()[0] == "cc" and config["CXX"].split()[0] == "c++"
    assert config["AR"] == "ar"
    (tmp_path / "tiny.c").write_text(TINY_EXTENSION)
    subprocess.run(f"{config['CC']} {config['CFLAGS']} {config['CCSHARED']} -I'{config['INCLUDEPY']}' "
                   f"-c tiny.c -o tiny.o", shell=True, cwd=tmp_path, check=True)
    subprocess.run(f"{config['LDSHARED']} tiny.o -o tiny{config['EXT_SUFFIX']}", shell=True,
                   cwd=tmp_path, check=True)
    assert run(python, "-c", "import tiny; print(tiny.twice(21))", cwd=tmp_path) == "42\n"


def test_no_file_names_the_build_machine(python_dir: Path, full: Path, cache: Path) -> None:
    # The build's staging directories, the toolchain and the sources are all in the cache.
    needles = [str(cache).encode()]
    for root in (python_dir, full):
        offenders = [
            p for p in root.rglob("*")
            if p.is_file() and not p.is_symlink() and any(n in p.read_bytes() for n in needles)
        ]
        assert offenders == []


def test_python_json_states_what_the_interpreter_says(full: Path, python_dir: Path) -> None:
    data = json.loads((full / "PYTHON.json").read_text())
    script = "import sys, sysconfig; print(sysconfig.get_platform()); print(sys.abiflags)"
    platform, abiflags = run(python_dir / "bin" / "python3", "-c", script).splitlines()
    # What python-build-standalone writes and its validator requires, e.g. linux-x86_64.
    assert data["python_platform_tag"] == platform
    assert data["python_abi_tag"] == f"{data['python_tag']}{abiflags}"


def test_python_json_is_valid_and_names_only_existing_paths(full: Path) -> None:
    data = json.loads((full / "PYTHON.json").read_text())
    document, problems = check_python_json(full)
    assert problems == []
    # Read into the model and written again, the document is the same file.
    assert document is not None and dumps(document) == (full / "PYTHON.json").read_text()
    assert data["version"] == "8"
    assert data["python_version"] == "3.14.7"
    assert data["target_triple"] == TRIPLE
    assert (full / "licenses").is_dir() and len(list((full / "licenses").iterdir())) > 10


def test_a_second_build_gives_byte_identical_archives(dist: Path, cache: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    # The archives were validated and tested when first built; this is about their bytes.
    result = pbs("build", "--python", "3.14", "--options", "noopt", "--tag", TAG, "--out", again,
                 "--no-test", cache=cache)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in (*ARCHIVES, "SHA256SUMS"):
        assert (again / name).read_bytes() == (dist / name).read_bytes(), name
