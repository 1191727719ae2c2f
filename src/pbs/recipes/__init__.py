"""One module per dependency; this list is the set pbs knows how to build."""

from __future__ import annotations

from pbs.recipes import (
    bdb,
    bzip2,
    libedit,
    libffi,
    libuuid,
    libx11,
    libxau,
    libxcb,
    mpdecimal,
    ncurses,
    openssl,
    pthread_stubs,
    sqlite,
    tcl,
    tk,
    xcb_proto,
    xcbgen,
    xorgproto,
    xtrans,
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
        bdb,
        sqlite,
        ncurses,
        libedit,
        openssl,
        xorgproto,
        xcb_proto,
        xcbgen,
        pthread_stubs,
        xtrans,
        libxau,
        libxcb,
        libx11,
        tcl,
        tk,
    )
}

__all__ = ["RECIPES", "BuildContext", "Recipe"]
