from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # Headers and pkg-config files only, from Debian's x11proto-dev package.
    ctx.install_debian_files("include", "share/pkgconfig")


RECIPE = Recipe(name="xorgproto", source="xorgproto", build=build)
