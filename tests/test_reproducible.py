"""The same bytes from any machine layout: a real part of the pipeline (the toolchain's sysroot
and a few dependency steps) built twice, from two copies of pbs and of zig, two venvs, two
working directories and two caches, must give byte-identical outputs."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pbs
from pbs.buildpaths import files_naming
from pbs.cache import LAYOUT_PATTERNS
from pbs.catalog import Catalog
from pbs.cli import SOURCE_DIR_ENV
from pbs.steps.engine import STEP_FILE

pytestmark = pytest.mark.slow

# Small, but each shows a class of difference: a plain library, one built by its own Makefile,
# and ncurses, whose configure chose archiver flags that store dates.
RECIPES = ("zlib", "bzip2", "ncurses")

# argv: the cache, directories searched first for sources (os.pathsep-separated), the recipes.
BUILD = """
import os
import sys
from pathlib import Path
from pbs.cache import Cache
from pbs.catalog import load_catalog
from pbs.recipes import RECIPES
from pbs.runner import run
from pbs.sources.debian import DebianSource
from pbs.sources.fetch import Fetcher
from pbs.steps.dependencies import build_dependencies
from pbs.steps.engine import StepEngine
from pbs.toolchain import prepare_toolchain

cache, names = Cache(Path(sys.argv[1])), sys.argv[3:]
source_dirs = [Path(directory) for directory in sys.argv[2].split(os.pathsep) if directory]
catalog = load_catalog()
target = catalog.target(None)
toolchain = prepare_toolchain(catalog.toolchain, target, cache, run)
fetcher = Fetcher(cache, DebianSource(catalog.debian, cache, run), run, source_dirs=source_dirs)
recipes = {name: RECIPES[name] for name in names}
fetched = {r.source: fetcher.fetch(catalog.library(r.source)) for r in recipes.values()}
build_dependencies(fetched, target=target, toolchain=toolchain, engine=StepEngine(cache),
                   jobs=os.cpu_count() or 1, runner=run, recipes=recipes)
"""


def linked_copy(source: Path, dest: Path) -> None:
    """A copy of `source` at another path: hard links where the file system allows."""
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, dest, symlinks=True, copy_function=link)


def build_from(root: Path, catalog: Catalog, sources: list[Path]) -> Path:
    """Build the toolchain and RECIPES with pbs and zig copied below `root`, from a venv there,
    in the working directory `root/cwd`, into the cache `root/cache`; return that cache."""
    zig = importlib.util.find_spec(catalog.toolchain.python_package)
    assert zig is not None and zig.origin is not None
    linked_copy(Path(pbs.__file__).parent, root / "checkout" / "src" / "pbs")
    linked_copy(Path(zig.origin).parent, root / "site" / catalog.toolchain.python_package)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages",
                    root / "venv"], check=True)
    (root / "cwd").mkdir()
    env = {**os.environ, "PYTHONPATH": f"{root / 'checkout' / 'src'}{os.pathsep}{root / 'site'}"}
    result = subprocess.run(
        [root / "venv" / "bin" / "python", "-c", BUILD, root / "cache",
         os.pathsep.join(map(str, sources)), *RECIPES],
        cwd=root / "cwd", env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    return root / "cache"


def digests(cache: Path) -> dict[str, str]:
    """sha256 of every file of every step output (STEP.json records the time a step took)."""
    steps = cache / "steps"
    return {
        path.relative_to(steps).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(steps.rglob("*"))
        if path.is_file() and not path.is_symlink() and path.name != STEP_FILE
    }


def test_two_machines_layouts_build_the_same_bytes(tmp_path: Path, catalog: Catalog) -> None:
    # $PBS_SOURCE_DIR, as pbs itself would search it; the second build finds the first's.
    given = [Path(os.environ[SOURCE_DIR_ENV])] if os.environ.get(SOURCE_DIR_ENV) else []
    first = build_from(tmp_path / "a", catalog, given)
    second = build_from(tmp_path / "elsewhere" / "b", catalog,
                        sorted((first / "sources").glob("*")))
    assert files_naming(first / "steps", LAYOUT_PATTERNS) == []
    ours, theirs = digests(first), digests(second)
    assert sorted(ours) == sorted(theirs)
    assert any(name.startswith("ncurses-") for name in ours)
    differing = [name for name in ours if ours[name] != theirs[name]]
    assert differing == []
