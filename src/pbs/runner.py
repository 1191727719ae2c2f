"""The one place pbs runs external commands: each run is logged, each failure explained.

Every command runs in a process group of its own, so that stopping it reaches whatever it
started (make's compilers, a test's servers), and a terminal's Ctrl-C reaches only pbs, which
then stops its commands itself (`stop_all`).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from pbs.errors import CommandFailed

TAIL_LINES = 25
# How a command is stopped: each signal to its process group, the next one this many seconds
# later if it has not ended. SIGINT first, as a terminal's Ctrl-C: programs whose own children
# run in sessions of their own, out of the group's reach, stop them on it (regrtest its
# workers; on SIGTERM it dies and leaves them running).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
STOP_GRACE_SECONDS = 3.0

# The commands running now (from any thread). Reentrant: the signal handler that calls
# stop_all runs in the main thread, possibly while that thread holds the lock.
_running: set[subprocess.Popen[str]] = set()
_running_lock = threading.RLock()
_stopping = threading.Event()


@dataclass(frozen=True, kw_only=True)
class CommandResult:
    returncode: int
    output: str


class Runner(Protocol):
    """How pbs's stages run a command: `run` for real, or a stand-in that records it (tests)."""

    def __call__(
        self,
        command: Sequence[str | Path],
        *,
        step: str,
        log: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> CommandResult: ...


def run(
    command: Sequence[str | Path],
    *,
    step: str,
    log: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> CommandResult:
    """Run `command`, appending its command line and combined output to `log`.

    Each line reaches the log as the command writes it, so a command that hangs leaves a log
    that shows how far it got. With `check`, a non-zero exit raises `CommandFailed` naming
    `step` and the log, and showing the log's last lines. The output is also returned, for
    callers that parse it.
    """
    argv = [str(part) for part in command]
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **env} if env is not None else None
    with log.open("a") as sink:
        sink.write(f"$ {shlex.join(argv)}\n")
        sink.flush()
        if _stopping.is_set():
            raise CommandFailed(f"{step}: not started: pbs is stopping")
        try:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                start_new_session=True,
            )
        except OSError as exc:
            sink.write(f"cannot run {argv[0]}: {exc}\n")
            raise CommandFailed(f"{step}: cannot run {argv[0]}: {exc.strerror}") from None
        output = _wait(process, sink)
        sink.write(f"[exit code {process.returncode}]\n")
    if _stopping.is_set():
        raise CommandFailed(f"{step}: stopped: pbs was interrupted")
    if check and process.returncode != 0:
        raise CommandFailed(
            f"{step} failed (exit code {process.returncode}); log: {log}\n" + log_tail(log)
        )
    return CommandResult(returncode=process.returncode, output=output)


def stop_all() -> None:
    """Stop every running command: STOP_SIGNALS to its group, one per grace period.

    Commands not yet started are refused from now on. Safe to call from a signal handler.
    """
    _stopping.set()
    first, *later = STOP_SIGNALS
    _signal_groups(_running_groups(), first)
    for number, signum in enumerate(later, start=1):
        timer = threading.Timer(STOP_GRACE_SECONDS * number,
                                lambda signum=signum: _signal_groups(_running_groups(), signum))
        timer.daemon = True
        timer.start()


def stopping() -> bool:
    """Whether `stop_all` was called: work that waits should give up."""
    return _stopping.is_set()


def _running_groups() -> list[int]:
    # Only commands not yet reaped: their group ids cannot have been reused.
    with _running_lock:
        return [process.pid for process in _running]


def _wait(process: subprocess.Popen[str], sink: IO[str]) -> str:
    """The command's output, copied to `sink` line by line as it comes, once the command has
    ended; if the wait is interrupted, the command is stopped."""
    with _running_lock:
        _running.add(process)
    if _stopping.is_set():
        _signal_groups([process.pid], STOP_SIGNALS[0])  # started as stop_all ran
    try:
        with process:
            try:
                output = _copy_output(process, sink)
                process.wait()
            except BaseException:
                _stop(process)
                raise
    finally:
        with _running_lock:
            _running.discard(process)
    if _stopping.is_set():
        # What the command started may outlive it; the group still names it.
        _signal_groups([process.pid], signal.SIGKILL)
    return output


def _copy_output(process: subprocess.Popen[str], sink: IO[str]) -> str:
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        sink.write(line)
        sink.flush()
        lines.append(line)
    return "".join(lines)


def _stop(process: subprocess.Popen[str]) -> None:
    for signum in STOP_SIGNALS:
        _signal_groups([process.pid], signum)
        try:
            process.wait(STOP_GRACE_SECONDS)
            break
        except subprocess.TimeoutExpired:
            pass
    # What the command started may outlive it; the group still names it.
    _signal_groups([process.pid], signal.SIGKILL)
    process.wait()


def _signal_groups(groups: Sequence[int], signum: signal.Signals) -> None:
    for group in groups:
        try:
            os.killpg(group, signum)
        except (ProcessLookupError, PermissionError):
            pass  # the group has ended


def log_tail(log: Path, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a log, indented for display under an error message."""
    return output_tail(log.read_text(errors="replace"), lines)


def output_tail(output: str, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a command's output, indented for display under an error."""
    return "\n".join(f"    {line}" for line in output.splitlines()[-lines:])
