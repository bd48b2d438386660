"""COMET scores with unbabel-comet, from a local checkpoint (or a hub name for users who are online).

Checkpoint layout and offline use: docs/evaluation.md#what-it-does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

NO_COMET_NOTE = ("COMET not computed: no --comet-model given (the paper uses Unbabel/wmt22-comet-da; pass its "
                 "local folder or checkpoints/model.ckpt)")


@dataclass(frozen=True)
class CometScores:
    """System score (x100, as the paper reports it) and segment scores (0..1)."""

    system: float
    segments: list[float]


def resolve_checkpoint(spec: str) -> Path:
    """The model.ckpt of a COMET model given as a .ckpt file, a model folder, or a hub name (online)."""
    path = Path(spec).expanduser()
    if path.is_file():
        checkpoint = path
    elif path.is_dir():
        checkpoint = path / "checkpoints" / "model.ckpt"
        if not checkpoint.is_file():
            raise FileNotFoundError(f"COMET model folder {path} has no checkpoints/model.ckpt")
    elif "/" in spec and not path.is_absolute() and not spec.startswith("."):
        # A hub name such as Unbabel/wmt22-comet-da: comet downloads it (needs network access).
        from comet import download_model

        try:
            checkpoint = Path(download_model(spec))
        except Exception as exc:  # comet raises bare Exceptions / hub errors when offline
            raise FileNotFoundError(f"COMET model {spec!r} is not a local path and could not be "
                                    f"downloaded ({type(exc).__name__}: {exc})") from None
    else:
        raise FileNotFoundError(f"COMET model not found: {spec}")
    if not (checkpoint.parents[1] / "hparams.yaml").is_file():
        raise FileNotFoundError(f"COMET checkpoint {checkpoint} has no hparams.yaml two folders up "
                                f"({checkpoint.parents[1] / 'hparams.yaml'})")
    return checkpoint


class CometScorer:
    """One loaded COMET model, reused for every direction of a report."""

    def __init__(self, spec: str, batch_size: int = 16) -> None:
        # comet and Lightning print banners and warnings on import and on every predict call.
        for name in ("lightning", "pytorch_lightning", "lightning.pytorch", "comet"):
            logging.getLogger(name).setLevel(logging.ERROR)
        from comet import load_from_checkpoint

        self.checkpoint = resolve_checkpoint(spec)
        self.batch_size = batch_size
        self.model = load_from_checkpoint(str(self.checkpoint))
        self.description = {"checkpoint": str(self.checkpoint),
                            "encoder": str(self.model.hparams.get("pretrained_model")),
                            "class": str(self.model.hparams.get("class_identifier"))}

    def score(self, sources: Sequence[str], hypotheses: Sequence[str], references: Sequence[str]) -> CometScores:
        import torch

        samples = [{"src": s, "mt": h, "ref": r} for s, h, r in zip(sources, hypotheses, references, strict=True)]
        gpus = 1 if torch.cuda.is_available() else 0
        # num_workers=0: no forked loader processes (slow to start, and pointless for a few hundred lines).
        prediction = self.model.predict(samples, batch_size=self.batch_size, gpus=gpus, progress_bar=False,
                                        num_workers=0)
        return CometScores(system=float(prediction.system_score) * 100.0,
                           segments=[float(x) for x in prediction.scores])


def comet_offline_hint() -> str:
    """Why an offline machine may fail to load a hub checkpoint's encoder; added to load errors."""
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return " (HF_HUB_OFFLINE=1: the encoder named in hparams.yaml must be in the local cache)"
    return ""
