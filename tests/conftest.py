from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from pbs.cache import Cache
from pbs.catalog import Catalog, load_catalog
from pbs.runner import run
from pbs.toolchain import Toolchain, prepare_toolchain


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def toolchain(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Toolchain:
    """The catalogued target's toolchain, prepared once in a cache of its own."""
    cache = Cache(tmp_path_factory.mktemp("toolchain-cache"))
    return prepare_toolchain(catalog.toolchain, catalog.target(None), cache, run)


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


@pytest.fixture
def console() -> Console:
    """A console that records what pbs reports, for assertions."""
    return Console(file=io.StringIO(), width=300, soft_wrap=True)


def cache_entries(cache: Cache) -> list[Path]:
    """Every file under the cache's source store and staging area."""
    return [p for p in cache.root.glob("sources/**/*") if p.is_file()] + [
        p for p in cache.root.glob("tmp/*")
    ]


# The one real end-to-end build the slow tests share: CPython 3.14 noopt in a fresh cache.
E2E_TAG = "20260101"
E2E_PREFIX = f"cpython-3.14.7+{E2E_TAG}-x86_64-unknown-linux-gnu"
E2E_ARCHIVES = (
    f"{E2E_PREFIX}-noopt-full.tar.zst",
    f"{E2E_PREFIX}-install_only.tar.gz",
    f"{E2E_PREFIX}-install_only_stripped.tar.gz",
)


@dataclass(frozen=True)
class E2EBuild:
    cache: Path
    dist: Path
    output: str  # what `pbs build` printed


def killed_leftover(parent: Path, prefix: str) -> Path:
    """What a pbs process killed (SIGKILL) while it used a held directory leaves behind."""
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from pbs.cache import held_directory\n"
        "with held_directory(Path(sys.argv[1]), sys.argv[2]) as work:\n"
        "    (work / 'half-written').write_text('x')\n"
        "    print(work, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(parent), prefix],
                            capture_output=True, text=True, check=False)
    assert result.returncode == -9, result.stderr
    leftover = Path(result.stdout.strip())
    assert (leftover / "half-written").is_file()
    return leftover


def pbs(*args: str | Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pbs", "--cache-dir", str(cache), *map(str, args)],
        capture_output=True, text=True, check=False,
    )


@pytest.fixture(scope="session")
def e2e_build(tmp_path_factory: pytest.TempPathFactory) -> E2EBuild:
    """`pbs build --python 3.14 --options noopt`, which also validates and tests its archives."""
    cache = tmp_path_factory.mktemp("build-cache")
    dist = tmp_path_factory.mktemp("dist")
    result = pbs("build", "--python", "3.14", "--options", "noopt", "--tag", E2E_TAG, "--out", dist,
                 "-j", str(os.cpu_count() or 1), cache=cache)
    assert result.returncode == 0, result.stderr[-4000:]
    return E2EBuild(cache=cache, dist=dist, output=result.stdout)
