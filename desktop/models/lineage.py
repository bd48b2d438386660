"""Tuning lineage: which model a tuned GGUF came from, with what data, steps and scores.

A tuning run (desktop.models.tuning) ends by writing its new GGUF with these alma.* keys, added to the
converted file by convert.gguf_metadata.copy_with_metadata (atomically), and a model card beside it:

    alma.parent            file name of the model tuned from
    alma.parent_sha256     its sha256 (None for an HF folder)
    alma.parent_path       where it was when the run started (to find it again: "Use parent")
    alma.lineage           JSON list of ancestors, nearest first: {"name", "sha256", "base", "path", and
                           where known "steps", "pairs", "origin", "chrf_before", "chrf_after"}
    alma.base              the registry base at the root of the chain
    alma.training_data     {"pairs", "sha256" (of the training file), "origin" ("corrections" or the
                           data file's name), "sources": {origin: pairs}}
    alma.training_steps    optimizer steps of this run
    alma.scores            {"held-out": chrF and BLEU after, "before": the parent's, per direction}

No Qt and no torch here (desktop side): gguf is imported only when a file is written.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from alma_core.atomic import write_text_atomic
from alma_core.file_memo import per_file_version
from alma_core.gguf_file import AlmaKey

HELDOUT_SCORES = "held-out"
CORRECTIONS_ORIGIN = "corrections"


# Remembered while the file stays the same: the Models view checks a parent's sha256 on the GUI thread,
# and hashing a multi-GB GGUF again on every click would freeze it each time.
@per_file_version
def file_sha256(path: Path) -> str:
    """The file's sha256."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


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


def _json(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def ancestor_entry(path: Path, info: dict[str, Any] | None, sha256: str | None) -> dict[str, Any]:
    """One lineage entry for the model at path, with its own steps, data and scores where it records them."""
    from desktop.models.card import base_of_gguf

    info = info or {}
    base = info.get(AlmaKey.BASE)
    if not base:
        registry = base_of_gguf(path, info) if info else None
        base = registry.name if registry is not None else None
    entry: dict[str, Any] = {"name": Path(path).name, "sha256": sha256, "base": base, "path": str(path)}
    if info.get(AlmaKey.TRAINING_STEPS) not in (None, ""):
        entry["steps"] = info[AlmaKey.TRAINING_STEPS]
    data = _json(info.get(AlmaKey.TRAINING_DATA))
    if data.get("pairs") is not None:
        entry["pairs"] = data["pairs"]
    if data.get("origin"):
        entry["origin"] = data["origin"]
    heldout = _json(info.get(AlmaKey.SCORES)).get(HELDOUT_SCORES)
    if isinstance(heldout, dict):
        entry["chrf_after"] = heldout.get("chrf")
        entry["chrf_before"] = (heldout.get("before") or {}).get("chrf")
    return entry


def _mean(values: list[float]) -> float | None:
    values = [v for v in values if isinstance(v, (int, float))]
    return round(sum(values) / len(values), 2) if values else None


def heldout_scores(report: dict) -> dict[str, Any]:
    """alma.scores' held-out entry from a tuning report (desktop.models.tuning.finish_run's dict)."""
    directions = report.get("directions", {})

    def mean(key: str) -> float | None:
        return _mean([row.get(key) for row in directions.values()])

    return {
        "chrf": mean("chrf_after"),
        "bleu": mean("bleu_after"),
        "segments": sum(int(row.get("n") or 0) for row in directions.values()),
        "before": {"chrf": mean("chrf_before"), "bleu": mean("bleu_before")},
        "directions": {name: {"chrf": row.get("chrf_after"), "bleu": row.get("bleu_after"),
                              "chrf_before": row.get("chrf_before"), "bleu_before": row.get("bleu_before"),
                              "n": row.get("n")}
                       for name, row in directions.items()},
        "signatures": {"bleu": report.get("bleu_signature"), "chrf": report.get("chrf_signature")},
    }


def _training_steps(plan) -> int | None:
    """Steps the trainer took (its run summary), else the max_steps asked for."""
    summary = plan.train_dir / "run_summary.json"
    try:
        return int(json.loads(summary.read_text(encoding="utf-8"))["global_step"])
    except (OSError, ValueError, KeyError, TypeError):
        value = plan.request.train_overrides.get("max_steps")
        return int(value) if isinstance(value, int) else None


def lineage_metadata(plan, report: dict) -> dict[str, Any]:
    """The alma.* keys of the model a finished run (desktop.models.tuning.TuningPlan) produced."""
    from alma_core.gguf_file import ModelLoadError, read_model_info

    request = plan.request
    parent_path = Path(plan.base_gguf)
    # An HF folder is converted inside the run (work/base.<quant>.gguf) for the "before" score only.
    from_folder = parent_path.parent == plan.run_dir / "work"
    parent_info: dict[str, Any] | None = None
    sha256: str | None = None
    if parent_path.is_file():
        try:
            parent_info = read_model_info(parent_path)
        except ModelLoadError:
            parent_info = None
        sha256 = file_sha256(parent_path)
    if from_folder:  # the folder is the parent
        parent_path = Path(request.base_model).resolve()
        sha256 = None
    parent = ancestor_entry(parent_path, parent_info, sha256)
    lineage = [parent, *read_lineage(parent_info or {})]
    base = parent.get("base") or next((entry.get("base") for entry in lineage if entry.get("base")), None)
    train_file = plan.run_dir / "data" / "train.jsonl"
    with open(train_file, encoding="utf-8") as handle:
        pairs = sum(1 for line in handle if line.strip())
    origin = request.origin or Path(request.data_file).name
    metadata: dict[str, Any] = {
        AlmaKey.PARENT: parent["name"],
        AlmaKey.PARENT_SHA256: sha256 or "",
        AlmaKey.PARENT_PATH: str(parent_path),
        AlmaKey.LINEAGE: lineage,
        AlmaKey.BASE: base or "",
        AlmaKey.TRAINING_DATA: {"pairs": pairs, "sha256": file_sha256(train_file), "origin": origin,
                               "sources": {origin: pairs}},
        AlmaKey.SCORES: {HELDOUT_SCORES: heldout_scores(report)},
        AlmaKey.RECIPE: f"alma-local tuning {plan.run_id}: {request.finetune}, {request.preset} preset",
    }
    steps = _training_steps(plan)
    if steps is not None:
        metadata[AlmaKey.TRAINING_STEPS] = steps
    licence = (parent_info or {}).get(AlmaKey.LICENCE)
    if not licence and base:
        from alma_core.models import BASES

        licence = BASES[base].licence if base in BASES else None
    if licence:
        metadata[AlmaKey.LICENCE] = str(licence)  # a derived model keeps its base's licence (Gemma terms)
    return metadata


def write_model_card(gguf: Path) -> Path:
    """Write the model card markdown beside gguf (atomically); returns its path."""
    from desktop.engine import read_model_info
    from desktop.models.card import model_card_markdown

    path = model_card_path(gguf)
    write_text_atomic(path, model_card_markdown(gguf, read_model_info(gguf)))
    return path


def write_tuned_model(plan, report: dict) -> Path:
    """The candidate GGUF under its final name with the lineage keys, then its card; returns the GGUF.

    copy_with_metadata writes the final file atomically; the candidate is removed only after that, so
    a failure leaves the run's work folder as it was (the run can be finished again).
    """
    from alma_core.gguf_file import ModelLoadError
    from convert.errors import ConversionError
    from convert.gguf_metadata import copy_with_metadata
    from desktop.models.tuning import TuningError

    try:
        metadata = lineage_metadata(plan, report)
        copy_with_metadata(plan.candidate_gguf, plan.final_gguf, metadata)
        plan.candidate_gguf.unlink(missing_ok=True)
        write_model_card(plan.final_gguf)
    except (ConversionError, ModelLoadError) as exc:  # the Tune view shows a TuningError in a dialog
        raise TuningError(f"writing {plan.final_gguf.name} with its lineage: {exc}") from exc
    return plan.final_gguf
