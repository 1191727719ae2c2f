"""Interruptions: SIGINT (Ctrl-C) and SIGTERM end a pbs run the same way.

The first signal stops the commands pbs runs and raises `Interrupted` in the main thread, so
that every `finally` and `with` on the way out removes its temporary directories; later
signals are ignored, so that this cleanup is not cut short. A step that must not be split
(publishing a set of files) defers the interruption to its end.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from pbs import runner

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The run was interrupted by a signal; the exit code is the shell's: 128 + its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signal = signal.Signals(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signal.value


@dataclass
class _State:
    received: int | None = None  # the first signal
    deferring: bool = False
    pending: bool = False  # received while deferring, to be raised at the end


_state = _State()


@contextmanager
def handled() -> Iterator[None]:
    """Within the block (in the main thread), SIGINT and SIGTERM raise `Interrupted`."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum in SIGNALS:
        signal.signal(signum, _handle)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _state.received, _state.pending = None, False


@contextmanager
def deferred() -> Iterator[None]:
    """A short step that must finish once begun: an interruption meanwhile is raised after it."""
    _state.deferring = True
    try:
        yield
    finally:
        _state.deferring = False
    if _state.pending and _state.received is not None:
        _state.pending = False
        raise Interrupted(_state.received)


def _handle(signum: int, frame: FrameType | None) -> None:
    if _state.received is not None:
        return
    _state.received = signum
    runner.stop_all()
    if _state.deferring:
        _state.pending = True
    else:
        raise Interrupted(signum)
