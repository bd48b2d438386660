"""ChildRun (desktop/gui/child_process.py): the child processes of the Tune view and the Add-a-language dialog,
with real children (this Python): output passed on and logged, one end per run, a failed start and a stop."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.timeout(120)

from desktop.gui.child_process import ChildRun  # noqa: E402


def _run(qtbot, command, log, stop=False):
    from PySide6.QtCore import QObject

    owner = QObject()
    texts, ends = [], []
    child = ChildRun(owner, command, log)
    child.output.connect(texts.append)
    child.ended.connect(ends.append)
    with qtbot.waitSignal(child.ended, timeout=60_000):
        child.start()
        if stop:
            qtbot.waitUntil(lambda: "ready" in "".join(texts), timeout=30_000)
            child.stop()
    return child, "".join(texts), ends


def test_output_is_passed_on_and_logged_after_the_command_line(qtbot, tmp_path):
    log = tmp_path / "step.log"
    log.write_bytes(b"an earlier attempt\n")  # a resumed step appends to its log
    command = [sys.executable, "-c", "import sys; print('één'); print('twee', file=sys.stderr); sys.exit(3)"]
    child, text, ends = _run(qtbot, command, log)
    assert ends == [3] and not child.running() and child.start_error == ""
    assert "één" in text and "twee" in text  # stdout and stderr, merged, decoded
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "an earlier attempt" and lines[1] == " ".join(command)
    assert "één" in lines[2:] and "twee" in lines[2:]


def test_a_program_that_cannot_start_ends_once_with_its_reason(qtbot, tmp_path):
    child, text, ends = _run(qtbot, [str(tmp_path / "no-such-program"), "x"], tmp_path / "step.log")
    assert ends == [-1] and text == ""
    assert child.start_error  # Qt's words, e.g. "execvp: No such file or directory"
    qtbot.wait(200)
    assert ends == [-1]  # not a second end from a late finished signal


def test_a_stopped_child_ends_and_a_stop_after_the_end_does_nothing(qtbot, tmp_path):
    command = [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"]
    child, text, ends = _run(qtbot, command, tmp_path / "step.log", stop=True)
    assert len(ends) == 1 and ends[0] != 0  # SIGTERM: a crash exit (-1) or the signal's code
    child.stop()
    child.stop_and_wait()
    assert len(ends) == 1
