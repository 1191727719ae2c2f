from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # Tk needs the core Xlib only; documentation and loadable modules are left out so that
    # everything is in the static library.
    ctx.autotools(
        "--disable-specs",
        "--without-xmlto",
        "--without-fop",
        "--without-xsltproc",
        "--disable-loadable-i18n",
        "--disable-loadable-xcursor",
    )


RECIPE = Recipe(
    name="libX11",
    source="libX11",
    deps=("xorgproto", "xtrans", "libxcb", "libXau"),
    build=build,
)
