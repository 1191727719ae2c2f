"""tkinter on a real (virtual) display: Tcl/Tk find their own libraries and talk to X."""

from __future__ import annotations

from pbs.smoke.result import CheckResult, skipped
from pbs.smoke.scripted import scripted
from pbs.smoke.tree import InstallTree, host_tool


def tkinter_xvfb(tree: InstallTree) -> CheckResult:
    xvfb = host_tool("Xvfb")
    if xvfb is None:
        return skipped("tkinter-xvfb", "Xvfb not installed")
    return scripted(tree, "tkinter-xvfb", "tk_xvfb", xvfb)
