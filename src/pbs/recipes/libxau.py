from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    ctx.autotools()


RECIPE = Recipe(name="libXau", source="libXau", deps=("xorgproto",), build=build)
