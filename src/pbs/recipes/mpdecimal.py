from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # Only libmpdec (C) is wanted by CPython's _decimal, not the C++ libmpdec++.
    ctx.autotools("--disable-cxx", "--disable-doc")


RECIPE = Recipe(name="mpdecimal", source="mpdecimal", build=build)
