from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from pbs.cache import Cache
from pbs.catalog import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


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
