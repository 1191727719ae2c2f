from pbs.recipes.base import PREFIX, BuildContext, Recipe

# zstd's static library is single-threaded unless asked (lib/Makefile); distributions ship it
# multi-threaded, and compression.zstd's `nb_workers` needs that. Its pkg-config file then
# names -pthread for every link, as upstream's `%-mt` targets write it.
MULTITHREADED = ("CPPFLAGS_STATICLIB=-DZSTD_MULTITHREAD", "PCMTLIB=-pthread", "PCLIB=")


def build(ctx: BuildContext) -> None:
    # zstd's plain Makefile: the static library, its headers and pkg-config file only.
    lib = ctx.source_dir / "lib"
    ctx.make("libzstd.a", *MULTITHREADED, cwd=lib)
    ctx.run(
        ["make", f"PREFIX={PREFIX}", f"DESTDIR={ctx.destdir}", *MULTITHREADED,
         "install-static", "install-includes", "install-pc"],
        cwd=lib,
    )


RECIPE = Recipe(name="zstd", source="zstd", build=build)
