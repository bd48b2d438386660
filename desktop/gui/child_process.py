"""The `alma-train` child processes the Tune view and the Add-a-language dialog run: started with output
streamed, stopped with a grace period. docs/tuning.md"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer

# How long a step gets to end after SIGTERM before it is killed. The steps' command lines turn SIGTERM
# into a clean exit (alma_core.interrupts: temporary files and staging folders removed) in well under
# a second; SIGKILL at once would leave them in the run's work folder.
STOP_GRACE_MS = 10_000


def start_child(parent: QObject, command: Sequence[str], on_output: Callable[[], None],
                on_finished: Callable[[int, QProcess.ExitStatus], None],
                on_error: Callable[[QProcess.ProcessError], None]) -> QProcess:
    """Start `command` as a child of `parent`, stdout and stderr merged and unbuffered, its signals connected."""
    process = QProcess(parent)
    environment = QProcessEnvironment.systemEnvironment()
    environment.insert("PYTHONUNBUFFERED", "1")  # stream the output, not at exit
    process.setProcessEnvironment(environment)
    process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
    process.readyReadStandardOutput.connect(on_output)
    process.finished.connect(on_finished)
    process.errorOccurred.connect(on_error)
    process.start(command[0], list(command[1:]))
    return process


def stop_child(process: QProcess) -> None:
    """SIGTERM now, SIGKILL after STOP_GRACE_MS; the finished signal ends the run as its owner decides."""
    process.terminate()
    # Tied to the process object: no kill once it has finished and been deleted.
    QTimer.singleShot(STOP_GRACE_MS, process, process.kill)
