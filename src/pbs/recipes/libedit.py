from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # libedit's configure insists on -lncurses (or curses/termcap/tinfo); pbs builds the
    # wide-character ncursesw, so a private -lncurses names it for this build only.
    compat = ctx.source_dir / "pbs-compat"
    compat.mkdir()
    (compat / "libncurses.a").symlink_to(ctx.deps_prefix / "lib" / "libncursesw.a")
    include = ctx.deps_prefix / "include"
    ctx.configure(
        "--disable-examples",
        env={
            "CPPFLAGS": f"-I{include} -I{include / 'ncursesw'}",
            "LDFLAGS": f"-L{compat} -L{ctx.deps_prefix / 'lib'}",
        },
    )
    ctx.make()
    ctx.make_install()
    pc = ctx.prefix / "lib" / "pkgconfig" / "libedit.pc"
    pc.write_text(pc.read_text().replace("-lncurses ", "-lncursesw "))


RECIPE = Recipe(name="libedit", source="libedit", deps=("ncurses",), build=build)
