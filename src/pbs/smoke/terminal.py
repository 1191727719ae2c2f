"""The terminal-facing modules under a pseudo-terminal: curses, and the REPL's line editor.

scripts/pty_session.py, run by the archive's own interpreter, plays the user at the terminal.
"""

from __future__ import annotations

import json

from pbs.smoke.result import CheckResult, failed, passed, tail
from pbs.smoke.tree import SCRIPTS, InstallTree

# xterm-256color is in every distribution's terminfo database (ncurses-base on Debian).
_TERM = "xterm-256color"
_TIMEOUT = 60
_CTRL_A, _CTRL_E = "\x01", "\x05"
# 3.13+ names the backend; before, the docstring does ("... using libedit readline"). What it
# prints ("uses True") differs from the echo of the typed line, so the echo cannot match.
_BACKEND_PROBE = (
    "import readline; "
    "print('uses', 'EDIT' in (getattr(readline, 'backend', '') or readline.__doc__).upper())\r"
)


def curses_pty(tree: InstallTree) -> CheckResult:
    name = "curses-pty"
    steps = [["expect", "curses done:"]]
    result = _session(tree, name, [str(tree.python), "-I", str(SCRIPTS / "curses_app.py")], steps)
    if result.failed:
        return result
    summary = result.detail.split("curses done:", 1)[1].splitlines()[0].strip()
    return passed(name, f"curses and curses.panel on {summary}")


def repl_pty(tree: InstallTree) -> CheckResult:
    name = "repl-pty"
    steps = [
        ["expect", ">>> "],
        # Typed out of order, then fixed with the line editor: proves libedit handles the keys.
        ["send", "21*2"],
        ["send", _CTRL_A],
        ["send", "print("],
        ["send", _CTRL_E],
        ["send", ")\r"],
        ["expect", "\n42\r"],
        ["expect", ">>> "],
        ["send", _BACKEND_PROBE],
        ["expect", "uses True"],
        ["expect", ">>> "],
        ["send", "exit()\r"],
    ]
    # The basic REPL reads lines through readline; 3.13+'s default one is pure Python.
    # No -I here: it implies -E, which would ignore PYTHON_BASIC_REPL.
    result = _session(tree, name, [str(tree.python), "-i"], steps, PYTHON_BASIC_REPL="1")
    if result.failed:
        return result
    return passed(name, "Ctrl-A/Ctrl-E line editing through libedit in the basic REPL")


def _session(
    tree: InstallTree, name: str, argv: list[str], steps: list[list[str]], **env: str
) -> CheckResult:
    """Run `argv` under a pty; the detail of a pass is the transcript."""
    spec = {
        "argv": argv,
        "env": {"TERM": _TERM, "HOME": str(tree.home), "PATH": "/usr/bin:/bin",
                **tree.emulator_env, **env},
        "steps": steps,
        "timeout": _TIMEOUT,
    }
    result = tree.script("pty_session", json.dumps(spec), step=name)
    if result.returncode != 0:
        return failed(name, f"exit code {result.returncode}:\n{tail(result.output)}")
    return passed(name, result.output)
