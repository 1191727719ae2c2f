"""What users build on top of the archive: a venv with pip, and a C extension."""

from __future__ import annotations

import base64
import hashlib
import json
import shlex
import zipfile
from pathlib import Path

from pbs.smoke.compiler import CompileFailed, compile_command, has_cc
from pbs.smoke.result import CheckResult, failed, skipped, tail
from pbs.smoke.scripted import scripted
from pbs.smoke.tree import InstallTree

_WHEEL_FILES = {
    "pbs_smoke_wheel/__init__.py": "VALUE = 42\n",
    "pbs_smoke_wheel-1.0.dist-info/METADATA": (
        "Metadata-Version: 2.1\nName: pbs-smoke-wheel\nVersion: 1.0\n"
    ),
    "pbs_smoke_wheel-1.0.dist-info/WHEEL": (
        "Wheel-Version: 1.0\nGenerator: pbs\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ),
}

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


def write_wheel(directory: Path) -> Path:
    """A minimal pure-Python wheel, written by hand so the check needs no build backend."""
    path = directory / "pbs_smoke_wheel-1.0-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in _WHEEL_FILES.items():
            data = text.encode()
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
    queried = tree.script("build_vars", step=name)
    if queried.returncode != 0:
        return failed(name, f"cannot read sysconfig:\n{tail(queried.output)}")
    config = json.loads(queried.output.strip().splitlines()[-1])
    directory = tree.work / name
    directory.mkdir()
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
    return scripted(tree, name, "call_extension", str(directory))
