from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # Only liblzma is wanted; the command-line tools and translations are not.
    ctx.autotools(
        "--disable-xz",
        "--disable-xzdec",
        "--disable-lzmadec",
        "--disable-lzmainfo",
        "--disable-lzma-links",
        "--disable-scripts",
        "--disable-doc",
        "--disable-nls",
    )


RECIPE = Recipe(name="xz", source="xz", build=build)
