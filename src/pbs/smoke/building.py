"""What users build on top of the archive: a venv with pip, a C extension, and a wheel of one."""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import zipfile
from collections.abc import Mapping
from pathlib import Path

from pbs.smoke.compiler import CompileFailed, compile_command, has_cc
from pbs.smoke.result import CheckResult, failed, passed, skipped, tail
from pbs.smoke.scripted import scripted
from pbs.smoke.tree import InstallTree

_PACKAGE = {"pbs_smoke_wheel/__init__.py": "VALUE = 42\n"}
_DIST_INFO = {
    "pbs_smoke_wheel-1.0.dist-info/METADATA": (
        "Metadata-Version: 2.1\nName: pbs-smoke-wheel\nVersion: 1.0\n"
    ),
}
# pip's family of wheel platform tags for each libc (PEP 600's manylinux, PEP 656's musllinux).
WHEEL_PLATFORMS = {"glibc": "manylinux", "musl": "musllinux"}

_EXTENSION = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *add(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;
    return PyLong_FromLong(a + b);
}

static PyMethodDef methods[] = {{"add", add, METH_VARARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "pbs_smoke_ext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_pbs_smoke_ext(void) { return PyModule_Create(&module); }
"""


def venv_pip(tree: InstallTree) -> CheckResult:
    name = "venv-pip"
    directory = tree.work / name
    directory.mkdir()
    venv = directory / "venv env"
    created = tree.run([tree.python, "-I", "-m", "venv", venv], step=name)
    if created.returncode != 0:
        return failed(name, f"python -m venv failed:\n{tail(created.output)}")
    wheel = write_wheel(directory)
    python = venv / "bin" / "python"
    # --no-index and no configuration file: the wheel comes from disk, never from an index.
    installed = tree.run(
        [python, "-m", "pip", "install", "--no-index", "--no-cache-dir",
         "--disable-pip-version-check", wheel],
        step=name,
        env={"PIP_CONFIG_FILE": "/dev/null"},
    )  # fmt: skip
    if installed.returncode != 0:
        return failed(name, f"pip install failed:\n{tail(installed.output)}")
    return scripted(tree, name, "check_venv_import", python=python)


def write_wheel(directory: Path, files: Mapping[str, bytes] | None = None, *,
                tag: str = "py3-none-any", pure: bool = True) -> Path:
    """A minimal wheel (by default pure Python), written by hand so the check needs no build
    backend: `files` (path in the wheel -> content) instead of the pure package, tagged `tag`."""
    path = directory / f"pbs_smoke_wheel-1.0-{tag}.whl"
    record = []
    wheel_file = (f"Wheel-Version: 1.0\nGenerator: pbs\nRoot-Is-Purelib: {str(pure).lower()}\n"
                  f"Tag: {tag}\n")
    members = {**(files or {m: t.encode() for m, t in _PACKAGE.items()}),
               **{m: t.encode() for m, t in _DIST_INFO.items()},
               "pbs_smoke_wheel-1.0.dist-info/WHEEL": wheel_file.encode()}
    with zipfile.ZipFile(path, "w") as wheel:
        for member, data in members.items():
            wheel.writestr(member, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{member},sha256={digest.decode()},{len(data)}")
        record.append("pbs_smoke_wheel-1.0.dist-info/RECORD,,")
        wheel.writestr("pbs_smoke_wheel-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return path


def c_extension(tree: InstallTree) -> CheckResult:
    """Build an extension the way setuptools does, from the archive's sysconfig, and call it."""
    name = "c-extension"
    if not has_cc(tree):
        return skipped(name, "no cc on PATH")
    built = _build_extension(tree, name)
    if isinstance(built, CheckResult):
        return built
    # A static interpreter must refuse the module cleanly, with an ImportError.
    script = "refuse_extension" if tree.static else "call_extension"
    return scripted(tree, name, script, str(built.parent))


def binary_wheel(tree: InstallTree, libc: str) -> CheckResult:
    """pip installs a wheel holding a C extension, tagged with the most specific tag of the
    libc's platform family pip finds this interpreter supports (musllinux on musl, manylinux on
    glibc), and it imports."""
    name = "binary-wheel"
    if tree.static:
        return skipped(name, "a static interpreter loads no extension module, and pip finds "
                             "it no platform tag but linux_<arch> (it names no loader to ask)")
    if not has_cc(tree):
        return skipped(name, "no cc on PATH")
    asked = tree.script("wheel_tags", step=name)
    if asked.returncode != 0:
        return failed(name, f"cannot ask pip for the platform's tags:\n{tail(asked.output)}")
    family = WHEEL_PLATFORMS[libc]
    tags = [line for line in asked.output.split() if line.count("-") == 2]
    tag = next((t for t in tags if t.split("-")[2].startswith(f"{family}_")), None)
    if tag is None:
        return failed(name, f"pip supports no {family} tag here; its first: {', '.join(tags[:3])}")
    built = _build_extension(tree, name)
    if isinstance(built, CheckResult):
        return built
    wheel = write_wheel(built.parent, {built.name: built.read_bytes()}, tag=tag, pure=False)
    installed_dir = tree.work / name / "installed"
    installed = tree.run(
        [tree.python, "-I", "-m", "pip", "install", "--no-index", "--no-cache-dir",
         "--disable-pip-version-check", "--target", installed_dir, wheel],
        step=name,
        env={"PIP_CONFIG_FILE": "/dev/null"},
    )  # fmt: skip
    if installed.returncode != 0:
        return failed(name, f"pip install of {wheel.name} failed:\n{tail(installed.output)}")
    called = scripted(tree, name, "call_extension", str(installed_dir))
    if called.outcome != "passed":
        return called
    return passed(name, f"{wheel.name} installed by pip; {called.detail}")


def _build_extension(tree: InstallTree, name: str) -> Path | CheckResult:
    """The smoke extension compiled and linked as setuptools would, in a directory of its own:
    its path, or the failed check."""
    queried = tree.script("build_vars", step=name)
    if queried.returncode != 0:
        return failed(name, f"cannot read sysconfig:\n{tail(queried.output)}")
    config = json.loads(queried.output.strip().splitlines()[-1])
    directory = tree.work / name / "extension"
    directory.mkdir(parents=True)
    source, obj = directory / "pbs_smoke_ext.c", directory / "pbs_smoke_ext.o"
    source.write_text(_EXTENSION)
    library = directory / f"pbs_smoke_ext{config['EXT_SUFFIX']}"
    compile_line = shlex.split(f"{config['CC']} {config['CFLAGS']} {config['CCSHARED']}")
    include = f"-I{config['include']}"
    try:
        compile_command(
            tree, [*compile_line, include, "-c", str(source), "-o", str(obj)], step=name
        )
        link_line = shlex.split(config["LDSHARED"])
        compile_command(tree, [*link_line, str(obj), "-o", str(library)], step=name)
    except CompileFailed as exc:
        return failed(name, str(exc))
    # Only the module: the directory is what the module's importer searches.
    source.unlink()
    obj.unlink()
    return library
