from pbs.recipes.base import PREFIX, BuildContext, Recipe


def build(ctx: BuildContext) -> None:
    # zlib's configure is hand-written: it takes --static, not the autoconf switches.
    # --disable-crcvx: s390x's vector CRC is in contrib/, which Debian's repack of the
    # release (the artifact this machine gets) leaves out; other machines ignore it.
    ctx.run(["./configure", f"--prefix={PREFIX}", "--static", "--disable-crcvx"])
    ctx.make("libz.a")
    ctx.make_install()


RECIPE = Recipe(name="zlib", source="zlib", build=build)
