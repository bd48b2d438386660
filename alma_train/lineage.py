"""The end of a tuning run: its before/after report, the tuned GGUF with its lineage keys and the model card,
which the app reads back (desktop.models.lineage, desktop.models.card; docs/tuning.md#lineage)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alma_core.atomic import write_text_atomic
from alma_core.gguf_file import AlmaKey, ModelLoadError, read_model_info
from alma_core.models import BASES
from convert.errors import ConversionError
from convert.gguf_metadata import copy_with_metadata
from desktop.models.card import base_of_gguf, model_card_markdown
from desktop.models.lineage import HELDOUT_SCORES, file_sha256, model_card_path, read_lineage
from desktop.models.tuning import TuningError, TuningPlan, report_markdown


def tuning_report(plan: TuningPlan) -> dict[str, Any]:
    """The before/after scores per direction, from the run's two evaluation reports."""
    base = json.loads((plan.report_dir / "base.json").read_text(encoding="utf-8"))
    tuned = json.loads((plan.report_dir / "tuned.json").read_text(encoding="utf-8"))
    directions = {}
    for direction, after in tuned["directions"].items():
        before = base["directions"].get(direction, {})
        directions[direction] = {
            "n": after.get("n"),
            **{f"{metric}_{when}": scores.get(metric) for metric in ("bleu", "chrf")
               for when, scores in (("before", before), ("after", after))},
        }
    return {"run": plan.run_id, "model": str(plan.final_gguf), "base_model": str(plan.base_gguf),
            "data_file": str(plan.request.data_file), "pairs": plan.request.pairs,
            "finetune": plan.request.finetune, "preset": plan.request.preset, "quant": plan.request.quant,
            "directions": directions,
            "decoding": tuned.get("decoding"), "bleu_signature": _first(tuned, "bleu_signature"),
            "chrf_signature": _first(tuned, "chrf_signature")}


def _first(report: dict, key: str) -> str | None:
    return next((d.get(key) for d in report.get("directions", {}).values()), None)


def finish_tuning(plan: TuningPlan) -> dict[str, Any]:
    """report/report.json and .md, then the new GGUF under its final name with its lineage and card."""
    report = tuning_report(plan)
    write_text_atomic(plan.report_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(plan.report_path.with_suffix(".md"), report_markdown(report))
    # Last: the model (with its lineage) exists under its final name only for complete runs.
    write_tuned_model(plan, report)
    return report


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
    """alma.scores' held-out entry from a tuning report (tuning_report's dict)."""
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


def training_steps(plan: TuningPlan) -> int | None:
    """Steps the trainer took (its run summary), else the max_steps asked for."""
    summary = plan.train_dir / "run_summary.json"
    try:
        return int(json.loads(summary.read_text(encoding="utf-8"))["global_step"])
    except (OSError, ValueError, KeyError, TypeError):
        value = plan.request.train_overrides.get("max_steps")
        return int(value) if isinstance(value, int) else None


def lineage_metadata(plan: TuningPlan, report: dict) -> dict[str, Any]:
    """The alma.* keys of the model a finished run produced."""
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
    train_file = plan.train_file
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
    steps = training_steps(plan)
    if steps is not None:
        metadata[AlmaKey.TRAINING_STEPS] = steps
    licence = (parent_info or {}).get(AlmaKey.LICENCE)
    if not licence and base:
        licence = BASES[base].licence if base in BASES else None
    if licence:
        metadata[AlmaKey.LICENCE] = str(licence)  # a derived model keeps its base's licence (Gemma terms)
    return metadata


def write_model_card(gguf: Path) -> Path:
    """Write the model card markdown beside gguf (atomically); returns its path."""
    path = model_card_path(gguf)
    write_text_atomic(path, model_card_markdown(gguf, read_model_info(gguf)))
    return path


def write_tuned_model(plan: TuningPlan, report: dict) -> Path:
    """The candidate GGUF under its final name with the lineage keys, then its card; returns the GGUF.

    copy_with_metadata writes the final file atomically; the candidate is removed only after that, so
    a failure leaves the run's work folder as it was (the step can run again).
    """
    try:
        metadata = lineage_metadata(plan, report)
        copy_with_metadata(plan.candidate_gguf, plan.final_gguf, metadata)
        plan.candidate_gguf.unlink(missing_ok=True)
        write_model_card(plan.final_gguf)
    except (ConversionError, ModelLoadError) as exc:
        raise TuningError(f"writing {plan.final_gguf.name} with its lineage: {exc}") from exc
    return plan.final_gguf
