from pbs.recipes.base import BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # Debian's orig is the git tag archive, which has no generated configure script.
    if not (ctx.source_dir / "configure").exists():
        ctx.run(["autoreconf", "-fi"])
    # --disable-exec-static-tramp: CPython's ctypes expects the classic trampolines.
    ctx.autotools("--disable-docs", "--disable-multi-os-directory", "--disable-exec-static-tramp")


RECIPE = Recipe(name="libffi", source="libffi", build=build)
