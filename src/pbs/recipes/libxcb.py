from pbs.recipes import xcbgen
from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # libxcb generates C from xcb-proto's XML with the xcbgen Python module; both come from
    # the merged dependency tree, named explicitly rather than through pkg-config variables.
    python_dir = ctx.deps_prefix / xcbgen.PYTHON_DIR
    ctx.configure(
        "--disable-devel-docs",
        "--without-doxygen",
        env={
            "PYTHON": "python3",
            "PYTHONPATH": str(python_dir),
            "XCBPROTO_XCBINCLUDEDIR": str(ctx.deps_prefix / "share" / "xcb"),
            "XCBPROTO_XCBPYTHONDIR": str(python_dir),
        },
    )
    ctx.run(["make", f"-j{ctx.jobs}"], env={"PYTHONPATH": str(python_dir)})
    ctx.make_install()


RECIPE = Recipe(
    name="libxcb",
    source="libxcb",
    deps=("xcb-proto", "xcbgen", "libXau", "libpthread-stubs"),
    build=build,
)
