"""The one runner of alma-train's multi-step jobs: named steps, resume state, progress with an ETA; used by
`alma-train build-translator` in process and by the Tune view, a child process per step
(docs/training.md#the-pipeline-runner)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alma_core.atomic import write_text_atomic


class PipelineError(ValueError):
    """A state file that cannot be used, an unknown step, or a step asked for before the ones it needs."""


@dataclass(frozen=True)
class Step:
    """One named step: `run` does the work and returns what the state file records (JSON)."""

    name: str
    run: Callable[[], Any]
    # First guess of its seconds for the ETA; a callable is asked only when the step is still to run.
    estimate: float | Callable[[], float] = 0.0
    # False for a step with nothing to do in this job (recorded without a "step i/n" line).
    announce: bool = True


class PipelineState:
    """A JSON file {"identity", "done": {step: result}}; refuses a folder of another job.

    The file is replaced atomically after each step, so a killed job leaves it as it was before the step.
    """

    def __init__(self, path: Path, identity: Any, refusal: Callable[[Any], str]) -> None:
        """refusal(stored identity) is the message when the file belongs to another job."""
        self.path = Path(path)
        self.identity = identity
        self.done: dict[str, Any] = {}
        if self.path.is_file():
            try:
                stored = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise PipelineError(f"{self.path}: not a readable state file ({exc})") from None
            if not isinstance(stored, dict) or not isinstance(stored.get("done", {}), dict):
                raise PipelineError(f"{self.path}: not a state file (no 'done' steps)")
            if stored.get("identity") != identity:
                raise PipelineError(refusal(stored.get("identity")))
            self.done = stored.get("done", {})

    def is_done(self, step: str) -> bool:
        return step in self.done

    def mark(self, step: str, result: Any = True) -> None:
        self.done[step] = result
        write_text_atomic(self.path, json.dumps({"identity": self.identity, "done": self.done}, indent=2) + "\n")


class Progress:
    """One line per event, with elapsed time and an estimate of what is left of the whole job."""

    def __init__(self, label: str, write: Callable[[str], None], eta: bool = True) -> None:
        """eta: False for a job that runs one step per process (the time left is not known here)."""
        self.label = label
        self.eta = eta
        self.started = time.time()
        self.remaining: dict[str, float] = {}
        self.write = write

    def estimate(self, step: str, seconds: float) -> None:
        self.remaining[step] = max(0.0, seconds)

    def say(self, text: str) -> None:
        elapsed = clock(time.time() - self.started)
        if not self.eta:
            self.write(f"[{self.label} {elapsed} elapsed] {text}")
            return
        self.write(f"[{self.label} {elapsed} elapsed, about {clock(sum(self.remaining.values()))} left] {text}")


def clock(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour on."""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class Pipeline:
    """Steps in order; each one is recorded in the state when it completes and skipped from then on."""

    def __init__(self, steps: Sequence[Step], state: PipelineState, progress: Progress) -> None:
        names = [step.name for step in steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names must be unique: {names}")
        self.steps = list(steps)
        self.state = state
        self.progress = progress
        for step in self.steps:  # the first ETA: the first guesses of the steps still to run
            if not state.is_done(step.name):
                estimate = step.estimate() if callable(step.estimate) else step.estimate
                progress.estimate(step.name, estimate)

    @property
    def names(self) -> list[str]:
        return [step.name for step in self.steps]

    def result(self, name: str) -> Any:
        """What step `name` recorded (KeyError when it has not run)."""
        return self.state.done[name]

    def run(self) -> dict[str, Any]:
        """Every step not done yet, in order; returns the results of all steps."""
        for step in self.steps:
            self._run(step)
        return dict(self.state.done)

    def run_step(self, name: str) -> Any:
        """Step `name` alone (nothing when it is done already); the steps before it must be done."""
        if name not in self.names:
            raise PipelineError(f"no step {name!r} here (steps: {', '.join(self.names)})")
        index = self.names.index(name)
        missing = [step.name for step in self.steps[:index] if not self.state.is_done(step.name)]
        if missing:
            raise PipelineError(f"step {name} needs {', '.join(missing)} done first")
        return self._run(self.steps[index])

    def _run(self, step: Step) -> Any:
        number = f"step {self.names.index(step.name) + 1}/{len(self.steps)} {step.name}"
        if self.state.is_done(step.name):
            self.progress.estimate(step.name, 0)
            if step.announce:
                self.progress.say(f"{number}: done in an earlier run")
            return self.state.done[step.name]
        if step.announce:
            self.progress.say(number)
        result = step.run()  # an exception leaves the state as it was: the step runs again next time
        self.state.mark(step.name, result)
        self.progress.estimate(step.name, 0)
        return result
