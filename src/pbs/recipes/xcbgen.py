from pbs.recipes.base import BuildContext, Recipe

PYTHON_DIR = "lib/python3/dist-packages"


def build(ctx: BuildContext) -> None:
    # The Python module that turns xcb-proto's XML into C (Debian's python3-xcbgen).
    ctx.install_debian_files(PYTHON_DIR)


RECIPE = Recipe(name="xcbgen", source="xcbgen", build=build)
