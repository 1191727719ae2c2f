from __future__ import annotations

import threading
import time

import pytest

from pbs.errors import CommandFailed
from pbs.runner import run


def test_command_and_output_are_logged(tmp_path) -> None:
    log = tmp_path / "logs" / "step.log"
    result = run(["sh", "-c", "echo out; echo err >&2"], step="demo", log=log)
    assert result.returncode == 0
    assert result.output.split() == ["out", "err"]
    text = log.read_text()
    assert text.startswith("$ sh -c 'echo out; echo err >&2'\n")
    assert "out\nerr\n[exit code 0]" in text


def test_failure_names_step_and_log_and_shows_the_tail(tmp_path) -> None:
    log = tmp_path / "step.log"
    script = "for i in $(seq 1 100); do echo line$i; done; exit 3"
    with pytest.raises(CommandFailed) as caught:
        run(["sh", "-c", script], step="configure demo", log=log)
    message = str(caught.value)
    assert message.startswith(f"configure demo failed (exit code 3); log: {log}")
    assert "line100" in message and "line50" not in message


def test_unchecked_failure_returns_the_exit_code(tmp_path) -> None:
    result = run(["sh", "-c", "exit 4"], step="probe", log=tmp_path / "l", check=False)
    assert result.returncode == 4


def test_missing_program_is_a_command_failure(tmp_path) -> None:
    with pytest.raises(CommandFailed, match="probe: cannot run no-such-program"):
        run(["no-such-program"], step="probe", log=tmp_path / "l")


def test_output_reaches_the_log_while_the_command_runs(tmp_path) -> None:
    log = tmp_path / "step.log"
    release = tmp_path / "release"
    script = f"echo started; while [ ! -e '{release}' ]; do sleep 0.05; done; echo ended"
    results = []
    worker = threading.Thread(
        target=lambda: results.append(run(["sh", "-c", script], step="demo", log=log))
    )
    worker.start()
    try:
        # Generous: a loaded machine (a build beside the tests) once took longer than 10 s.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (log.exists()
                                                   and "started\n" in log.read_text()):
            time.sleep(0.05)
        assert "started\n" in log.read_text()
        assert worker.is_alive()
    finally:
        release.touch()
        worker.join()
    assert results[0].output == "started\nended\n"
    assert log.read_text().endswith("started\nended\n[exit code 0]\n")
