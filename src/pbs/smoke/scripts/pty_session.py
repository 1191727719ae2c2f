"""Drive a program under a pseudo-terminal, as a user at a terminal would.

Argument: JSON {"argv": [...], "env": {...}, "steps": [["expect", text] | ["send", text]],
"timeout": seconds}. "expect" waits for `text` in the output after the previous match; "send"
types `text`. Prints the transcript; exits with the program's status, or 3 when an expectation
times out (the program is then killed). Nothing here can block past the deadline.
"""

import json
import os
import pty
import select
import signal
import sys
import time

spec = json.loads(sys.argv[1])
deadline = time.monotonic() + spec["timeout"]
pid, fd = pty.fork()
if pid == 0:
    os.execve(spec["argv"][0], spec["argv"], spec["env"])

transcript = b""
eof = False


def read_some() -> None:
    """Read what the program wrote, waiting at most until the deadline."""
    global transcript, eof
    ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
    if not ready:
        return
    try:
        chunk = os.read(fd, 4096)
    except OSError:  # EIO: the program exited and closed the terminal
        chunk = b""
    eof = not chunk
    transcript += chunk


def give_up(reason: str) -> None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    print(transcript.decode(errors="replace"))
    print(f"pty session: {reason}")
    sys.exit(3)


mark = 0
for action, text in spec["steps"]:
    if action == "send":
        os.write(fd, text.encode())
        time.sleep(0.1)  # one keystroke burst at a time, as typed
        continue
    while (found := transcript.find(text.encode(), mark)) < 0:
        if eof or time.monotonic() >= deadline:
            give_up(f"never saw {text!r}")
        read_some()
    mark = found + len(text.encode())
while not eof:
    if time.monotonic() >= deadline:
        give_up("the program did not exit")
    read_some()
_, status = os.waitpid(pid, 0)
print(transcript.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
