"""Open a Tk window on a private Xvfb server. Argument: the Xvfb program."""

import os
import select
import subprocess
import sys
import time

read_end, write_end = os.pipe()
# -displayfd: Xvfb picks a free display number and writes it to the pipe once it is ready.
server = subprocess.Popen(
    [
        sys.argv[1],
        "-displayfd",
        str(write_end),
        "-nolisten",
        "tcp",
        "-screen",
        "0",
        "800x600x24",
    ],
    pass_fds=[write_end],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
os.close(write_end)
try:
    number = b""
    deadline = time.monotonic() + 30
    while not number.endswith(b"\n"):
        ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(read_end, 16) if ready else b""
        if not chunk:
            sys.exit("Xvfb did not report a display number within 30 s")
        number += chunk
    os.environ["DISPLAY"] = f":{number.decode().strip()}"

    import tkinter

    root = tkinter.Tk()
    label = tkinter.Label(root, text="pbs")
    label.pack()
    root.update()
    if not label.winfo_exists():
        sys.exit("the label does not exist after update()")
    library = root.tk.eval("info library")
    root.destroy()
    print(f"Tk {tkinter.TkVersion} on {os.environ['DISPLAY']}, Tcl library {library}")
finally:
    server.terminate()
    server.wait(10)
