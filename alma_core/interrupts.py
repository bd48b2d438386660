"""SIGTERM, SIGHUP and SIGINT end a command the way Ctrl-C does, so its cleanups run and it exits 128 +
the signal with one line on stderr (docs/reliability.md, "Signals")."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

HANDLED_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """The command was asked to stop by a signal; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _State:
    active = False  # handlers installed by run_interruptible
    fired = False  # the first signal was raised; later ones must not cut its cleanups short
    critical = 0  # depth of critical() sections in the main thread
    pending: int | None = None  # a signal that arrived inside a critical section


_state = _State()


# Code of Python functions that C code calls back (llama.cpp's log callback): an exception raised in one
# is printed and dropped by ctypes, so a signal that lands there must be raised again outside it.
_callback_codes: set[object] = set()
_REDELIVER_S = 0.02


def called_from_c(function: Callable) -> Callable:
    """Mark a ctypes callback: a signal handled while it runs is delivered again a moment later (when
    Python is back in ordinary code) instead of being raised inside it, where ctypes would swallow it."""
    _callback_codes.add(getattr(function, "__code__", None))
    return function


def _inside_callback(frame: object) -> bool:
    while frame is not None:
        if getattr(frame, "f_code", None) in _callback_codes:
            return True
        frame = getattr(frame, "f_back", None)
    return False


def _redeliver(signum: int) -> None:
    timer = threading.Timer(_REDELIVER_S, signal.pthread_kill, (threading.main_thread().ident, signum))
    timer.daemon = True
    timer.start()


def _handler(signum: int, frame: object) -> None:
    if _state.fired:
        return  # a second Ctrl-C or SIGTERM while the first one's cleanups run: let them finish
    if _inside_callback(frame):
        _redeliver(signum)  # raised here, ctypes would print and drop it and the command would go on
        return
    if _state.critical:
        _state.pending = _state.pending or signum
        return
    _state.fired = True
    raise Interrupted(signum)


@contextmanager
def critical() -> Iterator[None]:
    """A section a signal must not cut in half (replacing an output, removing a temporary file).

    A signal that arrives inside is raised when the section ends. Outside run_interruptible, or in
    another thread (signals are only handled in the main thread), this does nothing.
    """
    if not _state.active or threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.critical += 1
    try:
        yield
    finally:
        _state.critical -= 1
        if not _state.critical and _state.pending is not None and not _state.fired:
            signum, _state.pending = _state.pending, None
            _state.fired = True
            raise Interrupted(signum)


def exit_code_of(exc: KeyboardInterrupt) -> int:
    """128 + the signal: a plain KeyboardInterrupt (Python's own SIGINT handler) counts as SIGINT."""
    return exc.exit_code if isinstance(exc, Interrupted) else 128 + signal.SIGINT


def signal_name(exc: KeyboardInterrupt) -> str:
    return signal.Signals(exc.signum).name if isinstance(exc, Interrupted) else "SIGINT"


def run_interruptible(prog: str, body: Callable[[], int], message: str = "no partial output was kept") -> int:
    """Run a command's body with the signal handlers installed; returns its exit status.

    An interruption becomes 128 + signal and `PROG: interrupted (SIGTERM); MESSAGE` on stderr. Nested
    (one command's main calling another's, as build-translator calls alma-convert) or off the main
    thread (where Python cannot install handlers), the body runs as it is and an interruption
    propagates to the outer command.
    """
    if _state.active or threading.current_thread() is not threading.main_thread():
        return body()
    previous = {signum: signal.getsignal(signum) for signum in HANDLED_SIGNALS}
    _state.active, _state.fired, _state.critical, _state.pending = True, False, 0, None
    try:
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, _handler)
        try:
            return body()
        except KeyboardInterrupt as exc:
            _state.fired = True  # from here on, further signals are ignored until the message is out
            _say(f"{prog}: interrupted ({signal_name(exc)}); {message}")
            return exit_code_of(exc)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        _state.active, _state.fired, _state.critical, _state.pending = False, False, 0, None


def _say(line: str) -> None:
    # After SIGHUP the terminal may be gone: the exit status still tells.
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
