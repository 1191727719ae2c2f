"""Source changes recipes make, checked by compiling and running them; the commands they
issue, recorded."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import RecordingRunner
from pbs.catalog import Catalog, Target
from pbs.errors import PbsError
from pbs.cache import Cache
from pbs.recipes import RECIPES, BuildContext, Recipe
from pbs.runner import run
from pbs.sources.fetch import Fetched, Origin
from pbs.steps.dependencies import build_dependencies
from pbs.steps.engine import StepEngine
from pbs.recipes.openssl import FAST_NISTP_NEEDS, fast_nistp, probe_ca_bundles
from pbs.toolchain import Toolchain, llvm_bin

# The shape of OpenSSL's crypto/x509/x509_def.c around the function the recipe changes.
X509_DEF = """#include <stdio.h>
#define X509_CERT_FILE "/fallback/cert.pem"

const char *X509_get_default_cert_file(void)
{
#if defined(_WIN32)
    return NULL;
#else
    return X509_CERT_FILE;
#endif
}

int main(void)
{
    puts(X509_get_default_cert_file());
    return 0;
}
"""


def default_cert_file(source: str, tmp_path: Path) -> str:
    (tmp_path / "x509_def.c").write_text(source)
    subprocess.run(["cc", "-Wall", "-Werror", "x509_def.c", "-o", "x509_def"], cwd=tmp_path, check=True)
    return subprocess.run([str(tmp_path / "x509_def")], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_first_present_bundle_is_the_default(tmp_path: Path) -> None:
    missing, present, later = tmp_path / "missing.pem", tmp_path / "present.pem", tmp_path / "later.pem"
    present.write_text("")
    later.write_text("")
    source = probe_ca_bundles(X509_DEF, (str(missing), str(present), str(later)))
    assert default_cert_file(source, tmp_path) == str(present)


def test_without_any_bundle_the_compiled_in_file_stays(tmp_path: Path) -> None:
    source = probe_ca_bundles(X509_DEF, (str(tmp_path / "none.pem"),))
    assert default_cert_file(source, tmp_path) == "/fallback/cert.pem"


def test_an_unexpected_source_is_refused() -> None:
    with pytest.raises(PbsError, match="x509_def.c"):
        probe_ca_bundles(X509_DEF.replace("return X509_CERT_FILE;", "return \"x\";"), ("/a",))


@pytest.mark.parametrize(("clang_target", "fast"), [
    ("x86_64-linux-gnu", True), ("powerpc64le-linux-gnu", True), ("riscv64-linux-gnu", True),
    ("s390x-linux-gnu", False), ("arm-linux-gnueabihf", False)])
def test_openssls_fast_nist_curves_where_the_compiler_allows(
    catalog: Catalog, clang_target: str, fast: bool
) -> None:
    """128-bit integers and little-endian: OpenSSL's own conditions, from clang's macros."""
    clang = llvm_bin(catalog.toolchain.llvm_major) / "clang"
    macros = subprocess.run([clang, f"--target={clang_target}", "-dM", "-E", "-x", "c",
                             "/dev/null"], capture_output=True, text=True, check=True).stdout
    assert fast_nistp(macros) == (("enable-ec_nistp_64_gcc_128",) if fast else ())


def context(recipe: str, catalog: Catalog, tmp_path: Path, runner: RecordingRunner,
            target: Target | None = None) -> BuildContext:
    """A build context for `recipe` (for `target`, default the build machine's) whose commands
    `runner` records; nothing runs."""
    toolchain = Toolchain(target=target or catalog.target(None), root=tmp_path / "toolchain",
                          identity="test", description="test",
                          llvm_major=catalog.toolchain.llvm_major,
                          llvm_version=f"{catalog.toolchain.llvm_major}.1.0",
                          build_triple=catalog.toolchain.build_triple)
    source = tmp_path / "src"
    source.mkdir()
    return BuildContext(recipe=RECIPES[recipe], source=catalog.library(RECIPES[recipe].source),
                        toolchain=toolchain, source_dir=source, destdir=tmp_path / "out",
                        deps_root=tmp_path / "deps-root", work_root=tmp_path, jobs=3,
                        log=tmp_path / "log", runner=runner)


def test_an_autotools_recipe_configures_for_the_targets_host_triple(
    catalog: Catalog, tmp_path: Path, recorder: RecordingRunner
) -> None:
    ctx = context("xz", catalog, tmp_path, recorder)
    ctx.recipe.build(ctx)
    host = catalog.target(None).host_triple
    configure, make, install = recorder.argvs
    assert configure[:6] == ["./configure", "--prefix=/deps", f"--build={host}", f"--host={host}",
                             "--enable-static", "--disable-shared"]
    assert make == ["make", "-j3"]
    assert install == ["make", f"DESTDIR={tmp_path / 'out'}", "install"]
    for command in recorder.commands:
        assert (command.step, command.cwd, command.log) == ("build xz", ctx.source_dir, ctx.log)
        assert command.env is not None and command.env["CC"] == str(ctx.toolchain.cc)


def test_a_levels_march_reaches_every_dependencys_compiler(
    catalog: Catalog, tmp_path: Path, recorder: RecordingRunner
) -> None:
    """Through the CFLAGS of their configure scripts; the baseline target names its level as
    explicitly."""
    for triple, march in (("x86_64_v3-unknown-linux-gnu", "-march=x86-64-v3"),
                          ("x86_64-unknown-linux-gnu", "-march=x86-64")):
        for recipe in ("xz", "zlib", "sqlite"):
            recorder.commands.clear()
            work = tmp_path / triple / recipe
            work.mkdir(parents=True)
            ctx = context(recipe, catalog, work, recorder, catalog.target(triple))
            ctx.recipe.build(ctx)
            env = recorder.commands[0].env
            assert env is not None and march in env["CFLAGS"].split(), (triple, recipe)


def test_a_foreign_target_is_configured_as_a_cross_build(
    catalog: Catalog, tmp_path: Path, recorder: RecordingRunner
) -> None:
    foreign = next(target for target in catalog.targets if target.emulator is not None)
    ctx = context("xz", catalog, tmp_path, recorder, foreign)
    ctx.recipe.build(ctx)
    configure = recorder.argvs[0]
    assert f"--build={catalog.build_machine.host_triple}" in configure
    assert f"--host={foreign.host_triple}" in configure
    assert catalog.build_machine.host_triple != foreign.host_triple


def test_openssl_is_configured_for_the_targets_platform(
    catalog: Catalog, tmp_path: Path, recorder: RecordingRunner
) -> None:
    ctx = context("openssl", catalog, tmp_path, recorder)
    (ctx.source_dir / "crypto" / "x509").mkdir(parents=True)
    (ctx.source_dir / "crypto" / "x509" / "x509_def.c").write_text(X509_DEF)
    recorder.outputs["perl"] = "/* build information */\n"
    recorder.outputs[ctx.toolchain.cc.name] = "\n".join(FAST_NISTP_NEEDS)
    ctx.recipe.build(ctx)
    platform = catalog.target(None).openssl_target
    assert recorder.argvs[0][1:] == ["-dM", "-E", "-x", "c", "/dev/null"]
    assert recorder.argvs[1][:3] == ["perl", "./Configure", platform]
    assert recorder.argvs[1][-1] == "enable-ec_nistp_64_gcc_128"
    assert recorder.argvs[2] == ["perl", "util/mkbuildinf.pl", "clang -O3 -fPIC", platform]
    assert (ctx.source_dir / "crypto" / "buildinf.h").read_text() == "/* build information */\n"


def test_a_step_whose_archive_stores_dates_fails(catalog: Catalog, tmp_path: Path) -> None:
    """What any recipe installs must not depend on when it was built: the step fails."""
    source = catalog.library("zlib")
    tarball = tmp_path / "zlib.tar.gz"
    (tmp_path / "tree" / "zlib").mkdir(parents=True)
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(tmp_path / "tree" / "zlib", arcname="zlib")
    ar = llvm_bin(catalog.toolchain.llvm_major) / "llvm-ar"

    def build(ctx: BuildContext) -> None:
        (ctx.prefix / "lib").mkdir(parents=True)
        (ctx.work_root / "member.o").write_bytes(b"x")
        ctx.run([ar, "rcU", ctx.prefix / "lib" / "libdated.a", "member.o"], cwd=ctx.work_root)

    recipe = Recipe(name="dated", source="zlib", build=build)
    toolchain = Toolchain(target=catalog.target(None), root=tmp_path / "toolchain", identity="test",
                          description="test", llvm_major=catalog.toolchain.llvm_major,
                          llvm_version=f"{catalog.toolchain.llvm_major}.1.0",
                          build_triple=catalog.toolchain.build_triple)
    fetched = Fetched(source=source, artifact=source.artifacts[0], path=tarball,
                      origin=Origin.CACHE, detail="")
    with pytest.raises(PbsError, match=r"dated: deps/lib/libdated\.a is not deterministic: "
                                       r"member\.o dated [1-9]"):
        build_dependencies({"zlib": fetched}, target=catalog.target(None), toolchain=toolchain,
                           engine=StepEngine(Cache(tmp_path / "cache")), jobs=1, runner=run,
                           recipes={"dated": recipe})
