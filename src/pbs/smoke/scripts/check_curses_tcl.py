"""Features of the terminal and Tcl libraries that need no terminal or display: ncurses with
extended (256+) colour pairs, as distributions build it, and a Tcl built with threads. A
module the build left out is the imports check's business, not this one's."""

found = []
try:
    import curses
except ModuleNotFoundError:
    pass
else:
    assert curses.has_extended_color_support(), "ncurses without extended colours"
    found.append("ncurses extended colours")
try:
    import tkinter
except ModuleNotFoundError:
    pass
else:
    tcl = tkinter.Tcl()
    assert tcl.eval("set tcl_platform(threaded)") == "1", "Tcl without threads"
    found.append(f"Tcl {tcl.eval('info patchlevel')} threaded")
print("; ".join(found) or "neither curses nor tkinter is built")
