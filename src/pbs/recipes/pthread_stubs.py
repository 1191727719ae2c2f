from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # Only a pthread-stubs.pc: glibc has every pthread function libxcb asks for.
    ctx.autotools()


RECIPE = Recipe(name="libpthread-stubs", source="libpthread-stubs", build=build)
