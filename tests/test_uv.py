"""uv installs pbs's archives: the real uv (pinned in the test extras), pointed at the
python-downloads.json that `pbs build` keeps in its output directory, over file:// and over
HTTP from a server on 127.0.0.1. The archives are the session's real 3.14 noopt build, and a
free-threaded build of it made here into a copy of that directory."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import E2E_TAG, TINY_EXTENSION, E2EBuild, pbs

pytestmark = pytest.mark.slow

KEY = "cpython-3.14.7-linux-x86_64-gnu"
FREETHREADED_KEY = "cpython-3.14.7+freethreaded-linux-x86_64-gnu"
INDEX = "python-downloads.json"
SETUP = ("from setuptools import Extension, setup\n"
         "setup(ext_modules=[Extension('tiny', ['tiny.c'])])\n")
PYPROJECT = ('[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
             '[project]\nname = "tiny"\nversion = "0.1"\n')


@pytest.fixture(scope="module")
def release(e2e_build: E2EBuild, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's build directory, indexed there, plus a free-threaded build that
    `pbs build` adds to it (and to its index)."""
    directory = tmp_path_factory.mktemp("release") / "rel ease"
    shutil.copytree(e2e_build.dist, directory)
    indexed = pbs("index", directory, cache=e2e_build.cache)
    assert indexed.returncode == 0, indexed.stderr
    built = pbs("build", "--python", "3.14", "--options", "freethreaded+noopt", "--no-test",
                "--tag", E2E_TAG, "--out", directory, "-j", str(os.cpu_count() or 1),
                cache=e2e_build.cache)
    assert built.returncode == 0, built.stderr[-4000:]
    return directory


@pytest.fixture
def uv(tmp_path: Path) -> functools.partial[subprocess.CompletedProcess[str]]:
    """uv with its own pythons, cache and bin directory, no configuration, and no download of a
    Python but by `uv python install`."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "UV_PYTHON_INSTALL_DIR": str(tmp_path / "pythons"),
        "UV_PYTHON_BIN_DIR": str(tmp_path / "bin"),
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_PREFERENCE": "only-managed",
        "UV_PYTHON_DOWNLOADS": "manual",  # only `uv python install` downloads, from the index
    }
    return functools.partial(run_uv, env=env, cwd=tmp_path)


def run_uv(*args: str | Path, env: dict[str, str], cwd: Path,
           **extra: str) -> subprocess.CompletedProcess[str]:
    # Imported here: the quick tests are collected where the test extras are not installed.
    from uv import find_uv_bin

    result = subprocess.run([find_uv_bin(), *map(str, args)], capture_output=True, text=True,
                            env={**env, **extra}, cwd=cwd, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def checked(*argv: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(list(map(str, argv)), capture_output=True, text=True, cwd=cwd,
                            env={"PATH": os.environ["PATH"]}, check=False)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return result.stdout


def test_pbs_build_keeps_the_index_current(release: Path) -> None:
    records = json.loads((release / INDEX).read_text())
    assert sorted(records) == [FREETHREADED_KEY, KEY]
    assert records[FREETHREADED_KEY]["variant"] == "freethreaded"
    assert all(record["url"].startswith(f"{release.resolve().as_uri()}/")
               for record in records.values())


def test_uv_installs_and_uses_it_from_a_file_url(release: Path, uv, tmp_path: Path) -> None:
    index = f"{release.as_uri()}/{INDEX}"
    installed = uv("python", "install", "3.14", "--python-downloads-json-url", index)
    assert f"+ {KEY}" in installed.stderr
    installed_list = uv("python", "list", "--only-installed").stdout
    assert KEY in installed_list
    # Plain `uv python list` shows an installed version instead of its downloads.
    downloads = uv("python", "list", "--only-downloads", "--python-downloads-json-url",
                   index).stdout
    assert FREETHREADED_KEY in downloads
    uv("venv", "-p", "3.14", tmp_path / ".venv", UV_PYTHON_DOWNLOADS_JSON_URL=index)
    # An sdist with a C extension, compiled by the system's cc against the distribution;
    # its build backend comes from the package index through pip and its configuration.
    wheels = tmp_path / "wheels"
    checked("python3", "-m", "pip", "download", "--quiet", "--only-binary", ":all:",
            "--dest", wheels, "setuptools")
    sdist = make_sdist(tmp_path / "sdist")
    uv("pip", "install", "--no-index", "--find-links", wheels, sdist)
    ran = uv("run", "--no-project", "python", "-c",
             "import sys, tiny, ssl, sqlite3; print(tiny.twice(21), sys.version_info[:3])")
    assert ran.stdout.split("\n")[0] == "42 (3, 14, 7)"
    # A venv made from the python3.14 uv links into its bin directory finds its prefix.
    linked = tmp_path / "bin" / "python3.14"
    assert linked.is_symlink()
    checked(linked, "-m", "venv", tmp_path / "plain")
    prefix = checked(tmp_path / "plain" / "bin" / "python", "-c",
                     "import sys; print(sys.base_prefix)").strip()
    assert Path(prefix).resolve() == (tmp_path / "pythons" / KEY
                                      ).resolve()
    checked(tmp_path / "plain" / "bin" / "python", "-m", "pip", "--version")


def test_uv_installs_the_free_threaded_build_for_314t(release: Path, uv) -> None:
    index = f"{release.as_uri()}/{INDEX}"
    installed = uv("python", "install", "3.14t", "--python-downloads-json-url", index)
    assert f"+ {FREETHREADED_KEY}" in installed.stderr
    ran = uv("run", "--no-project", "-p", "3.14t", "python", "-c",
             "import sys; print(sys._is_gil_enabled())")
    assert ran.stdout.strip() == "False"


@pytest.fixture
def served(release: Path, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """The release's stripped archives (hard links) and an index of them naming an HTTP server
    on 127.0.0.1 that serves them; the paths it was asked for."""
    directory = tmp_path / "served"
    directory.mkdir()
    for name in ["SHA256SUMS", *(p.name for p in release.glob("*stripped.tar.gz"))]:
        os.link(release / name, directory / name)
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            requests.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        indexed = pbs("index", directory, "--base-url", base, cache=tmp_path / "cache")
        assert indexed.returncode == 0, indexed.stderr
        yield f"{base}/{INDEX}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_uv_installs_it_over_http(served: tuple[str, list[str]], uv) -> None:
    index, requests = served
    installed = uv("python", "install", "3.14", UV_PYTHON_DOWNLOADS_JSON_URL=index)
    assert f"+ {KEY}" in installed.stderr
    assert f"/{INDEX}" in requests
    assert any(path.endswith("-install_only_stripped.tar.gz") for path in requests)
    ran = uv("run", "--no-project", "-p", "3.14", "python", "-c", "import ssl; print('ok')")
    assert ran.stdout.strip() == "ok"


def make_sdist(directory: Path) -> Path:
    source = directory / "tiny-0.1"
    source.mkdir(parents=True)
    (source / "tiny.c").write_text(TINY_EXTENSION)
    (source / "setup.py").write_text(SETUP)
    (source / "pyproject.toml").write_text(PYPROJECT)
    sdist = directory / "tiny-0.1.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        archive.add(source, arcname=source.name)
    return sdist
