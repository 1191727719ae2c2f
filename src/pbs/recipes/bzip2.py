from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # bzip2 has a plain Makefile with its own variables and no install of a .pc file.
    env = ctx.env()
    ctx.make(
        "libbz2.a",
        f"CC={env['CC']}",
        f"AR={env['AR']}",
        f"RANLIB={env['RANLIB']}",
        f"CFLAGS={ctx.cflags('-D_FILE_OFFSET_BITS=64')}",
    )
    ctx.install_files({"include": ["bzlib.h"], "lib": ["libbz2.a"]})
    ctx.write_pkgconfig("bzip2", version=ctx.source.version, libs="-lbz2", description="bzip2 compression")


RECIPE = Recipe(name="bzip2", source="bzip2", build=build)
