from pbs.recipes.base import PREFIX, BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # zstd's plain Makefile: the static library, its headers and pkg-config file only.
    lib = ctx.source_dir / "lib"
    ctx.make("libzstd.a", cwd=lib)
    ctx.run(
        ["make", f"PREFIX={PREFIX}", f"DESTDIR={ctx.destdir}",
         "install-static", "install-includes", "install-pc"],
        cwd=lib,
    )


RECIPE = Recipe(name="zstd", source="zstd", build=build)
