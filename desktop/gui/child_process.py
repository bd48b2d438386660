"""The `alma-train` child processes the Tune view and the Add-a-language dialog run: started with output
streamed into a log file and the view, stopped with a grace period, their end reported once. docs/tuning.md"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal, Slot

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


class ChildRun(QObject):
    """One child process of a view: its command line and output appended to `log_path`, the output passed on
    as text (`output`), its end reported once (`ended`: the exit code, -1 for a crash or a failed start,
    whose reason is then in `start_error`)."""

    output = Signal(str)
    ended = Signal(int)

    def __init__(self, parent: QObject, command: Sequence[str], log_path: Path) -> None:
        super().__init__(parent)
        self.command = list(command)
        self.log_path = log_path
        self.start_error = ""
        self.process: QProcess | None = None
        self._log = None

    def start(self) -> ChildRun:
        """Start the child; connect to `output` and `ended` before (a failed start may be reported at once)."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed when the child ends)
        self._log.write((" ".join(self.command) + "\n").encode())
        self._log.flush()
        self.process = start_child(self, self.command, self._read, self._finished, self._error)
        return self

    def running(self) -> bool:
        return self.process is not None

    def stop(self) -> None:
        """SIGTERM now, SIGKILL after STOP_GRACE_MS (stop_child); `ended` follows."""
        if self.process is not None:
            stop_child(self.process)

    def stop_and_wait(self) -> None:
        """Stop the child and wait for it (a window closing): `ended` is emitted before this returns."""
        process = self.process
        if process is None:
            return
        process.terminate()
        if not process.waitForFinished(STOP_GRACE_MS):
            process.kill()
            process.waitForFinished(5000)

    @Slot()
    def _read(self) -> None:
        if self.process is None:
            return
        data = bytes(self.process.readAllStandardOutput().data())
        if not data:
            return
        if self._log is not None:
            self._log.write(data)
            self._log.flush()
        self.output.emit(data.decode("utf-8", errors="replace"))

    @Slot(QProcess.ProcessError)
    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.process is not None:
            self.start_error = self.process.errorString()
            self._end(-1)

    @Slot(int, QProcess.ExitStatus)
    def _finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._read()
        self._end(-1 if status != QProcess.ExitStatus.NormalExit else exit_code)

    def _end(self, exit_code: int) -> None:
        if self.process is None:
            return  # ended already (a failed start can be followed by a finished signal)
        process, self.process = self.process, None
        process.deleteLater()
        if self._log is not None:
            self._log.close()
        self.ended.emit(exit_code)
        self.deleteLater()  # its owner has dropped it in the slot above (or started the next one)
