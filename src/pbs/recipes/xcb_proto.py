from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # The XML protocol descriptions libxcb generates its sources from (Debian's xcb-proto).
    ctx.install_debian_files("share/xcb", "share/pkgconfig")


RECIPE = Recipe(name="xcb-proto", source="xcb-proto", build=build)
