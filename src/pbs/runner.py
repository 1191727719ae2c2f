"""The one place pbs runs external commands: each run is logged, each failure explained."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pbs.errors import CommandFailed

TAIL_LINES = 25


@dataclass(frozen=True, kw_only=True)
class CommandResult:
    returncode: int
    output: str


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

    With `check`, a non-zero exit raises `CommandFailed` naming `step` and the log, and
    showing the log's last lines. The output is also returned, for callers that parse it.
    """
    argv = [str(part) for part in command]
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **env} if env is not None else None
    with log.open("a") as sink:
        sink.write(f"$ {shlex.join(argv)}\n")
        sink.flush()
        try:
            completed = subprocess.run(
                argv,
                cwd=cwd,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                check=False,
            )
        except OSError as exc:
            sink.write(f"cannot run {argv[0]}: {exc}\n")
            raise CommandFailed(f"{step}: cannot run {argv[0]}: {exc.strerror}") from None
        sink.write(completed.stdout)
        sink.write(f"[exit code {completed.returncode}]\n")
    if check and completed.returncode != 0:
        raise CommandFailed(
            f"{step} failed (exit code {completed.returncode}); log: {log}\n" + log_tail(log)
        )
    return CommandResult(returncode=completed.returncode, output=completed.stdout)


def log_tail(log: Path, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a log, indented for display under an error message."""
    return output_tail(log.read_text(errors="replace"), lines)


def output_tail(output: str, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a command's output, indented for display under an error."""
    return "\n".join(f"    {line}" for line in output.splitlines()[-lines:])
