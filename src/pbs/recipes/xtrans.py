from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # Header-only: the transport code libX11 compiles into itself.
    ctx.autotools("--disable-docs")


RECIPE = Recipe(name="xtrans", source="xtrans", build=build)
