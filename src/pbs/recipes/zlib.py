from pbs.recipes.base import PREFIX, BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # zlib's configure is hand-written: it takes --static, not the autoconf switches.
    ctx.run(["./configure", f"--prefix={PREFIX}", "--static"])
    ctx.make("libz.a")
    ctx.make_install()


RECIPE = Recipe(name="zlib", source="zlib", build=build)
