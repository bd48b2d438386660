"""Sentence confidence: the mean log-probability of the greedy output's tokens, calibrated to 0..1.

The recorder, the logistic map per base and its fallback: docs/post_editing.md#how-confidence-is-computed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alma_core.gguf_file import AlmaKey

CALIBRATION_FILE = Path(__file__).with_name("confidence_calibration.json")


@dataclass(frozen=True)
class Calibration:
    """A fitted logistic map from mean token log-probability to 0..1."""

    base: str | None
    architecture: str | None
    slope: float
    intercept: float

    def __call__(self, mean_logprob: float) -> float:
        z = self.slope * mean_logprob + self.intercept
        # Written both ways so a large |z| never overflows exp().
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


def load_calibrations(path: Path = CALIBRATION_FILE) -> list[Calibration]:
    """The fitted maps in `path`; none (exp fallback everywhere) when the file is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Calibration(entry.get("base"), entry.get("architecture"), float(entry["slope"]),
                            float(entry["intercept"]))
                for entry in data.get("calibrations", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def calibration_for(info: dict[str, Any], calibrations: Sequence[Calibration] | None = None) -> Calibration | None:
    """The map for a model (read_model_info's dict): the entry fitted on its base (alma.base, written
    into tuned models), else one fitted on the same architecture, else None."""
    calibrations = load_calibrations() if calibrations is None else calibrations
    base = info.get(AlmaKey.BASE)
    for calibration in calibrations:
        if base and calibration.base == base:
            return calibration
    architecture = info.get("architecture")
    for calibration in calibrations:
        if architecture and calibration.architecture == architecture:
            return calibration
    return None


def calibrated_confidence(mean_logprob: float, calibration: Calibration | None) -> float:
    """0..1: the calibrated map, or exp(mean_logprob) without one."""
    if calibration is None:
        return math.exp(min(0.0, mean_logprob))
    return min(1.0, max(0.0, calibration(mean_logprob)))


def mean_logprob(logprobs: Iterable[float]) -> float | None:
    """The mean of the token log-probabilities, None for no tokens."""
    values = list(logprobs)
    return sum(values) / len(values) if values else None


def log_softmax(scores: Any) -> Any:
    """log softmax of a logits vector (numpy), computed stably."""
    import numpy as np

    shifted = np.asarray(scores, dtype=np.float64)
    finite_max = np.max(shifted)
    shifted = shifted - finite_max
    return shifted - np.log(np.sum(np.exp(shifted)))


class LogprobRecorder:
    """A logits processor recording log P(chosen token) at each greedy step.

    inner: the processors to apply (terminology forcing); the chosen token is the argmax of their
    result, its log-probability is taken from the raw scores. When the sampler chose another token
    (a grammar constrains it after the processors), the next step sees that token in input_ids and
    corrects the previous entry.
    """

    def __init__(self, inner: Iterable[Any] | None = None) -> None:
        self.inner = list(inner or [])
        self.logprobs: list[float] = []
        self._previous: Any = None
        self._predicted: int | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np

        if self._previous is not None and len(input_ids) and int(input_ids[-1]) != self._predicted:
            self.logprobs[-1] = float(self._previous[int(input_ids[-1])])
        raw = log_softmax(scores)
        for processor in self.inner:
            scores = processor(input_ids, scores)
        chosen = int(np.argmax(scores))
        self.logprobs.append(float(raw[chosen]))
        self._previous, self._predicted = raw, chosen
        return scores
