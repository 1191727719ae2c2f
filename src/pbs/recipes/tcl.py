from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # Tcl's Unix build lives in unix/; its script library installs beside the static library
    # (lib/tcl8.6), where tkinter's Tcl finds it relative to the distribution.
    unix = ctx.source_dir / "unix"
    ctx.configure("--enable-threads", "--disable-load", cwd=unix)
    ctx.make(cwd=unix)
    ctx.make_install("install-binaries", "install-libraries", "install-headers", cwd=unix)


RECIPE = Recipe(name="tcl", source="tcl", deps=("zlib",), build=build)
