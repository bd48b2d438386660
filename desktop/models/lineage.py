"""Reading a tuned model's lineage (the alma.* keys alma_train.lineage writes): its ancestors, file hashes and
card, which the Models view shows through desktop.models.card (docs/tuning.md#lineage)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alma_core.file_memo import per_file_version, sha256_of_file
from alma_core.gguf_file import AlmaKey

HELDOUT_SCORES = "held-out"  # a tuning run's entry in alma.scores: its held-out slice, before and after
CORRECTIONS_ORIGIN = "corrections"  # alma.training_data's origin when the data was the translation memory


# Remembered while the file stays the same: the Models view checks a parent's sha256 on the GUI thread,
# and hashing a multi-GB GGUF again on every click would freeze it each time.
@per_file_version
def file_sha256(path: Path) -> str:
    """The file's sha256."""
    return sha256_of_file(path)


def model_card_path(gguf: Path | str) -> Path:
    """The model card beside a GGUF: name.q8_0.gguf -> name.q8_0.md."""
    return Path(gguf).with_suffix(".md")


def read_lineage(info: dict[str, Any]) -> list[dict[str, Any]]:
    """alma.lineage as a list of dicts (nearest ancestor first); [] when missing or not the expected JSON."""
    raw = info.get(AlmaKey.LINEAGE)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    if not isinstance(raw, list):
        return []
    return [entry for entry in raw if isinstance(entry, dict) and entry.get("name")]
