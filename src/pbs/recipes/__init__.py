"""One module per dependency; this list is the set pbs knows how to build."""

from __future__ import annotations

from pbs.recipes import (
    bzip2,
    libedit,
    libffi,
    libuuid,
    mpdecimal,
    ncurses,
    openssl,
    sqlite,
    xz,
    zlib,
    zstd,
)
from pbs.recipes.base import BuildContext, Recipe

RECIPES: dict[str, Recipe] = {
    module.RECIPE.name: module.RECIPE
    for module in (
        zlib,
        bzip2,
        xz,
        zstd,
        libffi,
        mpdecimal,
        libuuid,
        sqlite,
        ncurses,
        libedit,
        openssl,
    )
}

__all__ = ["RECIPES", "BuildContext", "Recipe"]
