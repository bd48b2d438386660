"""The steps of a tuning run on a bundle: the base's HF export, the new adapter's GGUF and a candidate bundle to
score, then the adapter written into the bundle as the language's next generation (docs/tuning.md#bundles)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from alma_core.atomic import atomic_folder, write_text_atomic
from alma_core.bundle import Bundle, BundleAdapter, Score, load_bundle, new_adapter, new_base, write_bundle
from alma_core.gguf_file import AlmaKey, ModelLoadError
from alma_train.lineage import heldout_scores, training_steps, tuning_report
from alma_train.train.base_export import export_gguf_hf
from convert.errors import ConversionError
from convert.gguf_metadata import copy_with_metadata
from convert.lora_adapter import convert_lora
from desktop.models.lineage import HELDOUT_SCORES, file_sha256
from desktop.models.tuning import BundleTarget, TuningError, TuningPlan, report_markdown

# The files of a peft adapter folder that the next run loads (the trainer also leaves its tokenizer there).
PEFT_FILES = ("adapter_config.json", "adapter_model.safetensors")
# The request's quantization -> the adapter's tensor type: there is no 4-bit adapter type, and a q8_0 adapter
# reads prompts as fast as a merged model (docs/adapters.md#speed).
ADAPTER_TYPE = {"q8_0": "q8_0", "q4_k_m": "q8_0"}
# The score set a tuning run's adapter records in bundle.json: its run's held-out slice of the user's data.
SCORE_SET = "tuning-heldout"


def target_of(plan: TuningPlan) -> BundleTarget:
    if plan.bundle is None:
        raise TuningError(f"{plan.config_path}: this run does not tune a bundle")
    return plan.bundle


def _bundle(target: BundleTarget) -> Bundle:
    try:
        return load_bundle(target.root)
    except ModelLoadError as exc:  # BundleError names bundle.json and the key
        raise TuningError(str(exc)) from None


def _link(link: Path, target: Path) -> None:
    """link -> target as a symlink, else a copy (a file system without symlinks)."""
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    try:
        os.symlink(target, link, target_is_directory=target.is_dir())
    except OSError:
        (shutil.copytree if target.is_dir() else shutil.copyfile)(target, link)


def import_base(plan: TuningPlan) -> str:
    """work/base-hf: the HF export of the bundle's base (cached by the base's sha256; a registry base's own
    export when the base is that base's GGUF)."""
    bundle = _bundle(target_of(plan))
    try:
        export = export_gguf_hf(bundle.base_path, bundle.base.sha256)
    except ConversionError as exc:
        raise TuningError(f"{bundle.base_path}: cannot import the bundle's base ({exc})") from None
    plan.work_dir.mkdir(parents=True, exist_ok=True)
    _link(Path(plan.hf_base), export)
    return str(export)


def lora_init(plan: TuningPlan) -> dict[str, Any]:
    """stage 2's settings for a bundle: start from the language's current adapter (its peft folder), if any."""
    target = target_of(plan)
    return {"lora_init": str(target.root / target.parent_peft)} if target.parent_peft else {}


def convert_adapter(plan: TuningPlan) -> str:
    """The trained adapter as a GGUF adapter for the bundle's base, its peft folder, and the candidate bundle
    (the base and the new adapter) that evaluate-tuned scores."""
    target = target_of(plan)
    bundle = _bundle(target)
    try:
        converted = convert_lora(plan.train_dir, bundle.base_path, plan.candidate_gguf,
                                 out_type=ADAPTER_TYPE[plan.request.quant],
                                 name=f"{bundle.name} {target.language} {Path(target.adapter).name}", force=True)
    except ConversionError as exc:
        raise TuningError(f"converting the adapter in {plan.train_dir}: {exc}") from None
    print(converted.summary())
    with atomic_folder(plan.candidate_peft) as staging:
        for name in PEFT_FILES:
            shutil.copyfile(plan.train_dir / name, staging / name)
    with atomic_folder(plan.candidate_bundle) as staging:
        (staging / "adapters").mkdir()
        _link(staging / "base.gguf", bundle.base_path.resolve())
        _link(staging / target.adapter, plan.candidate_gguf.resolve())
        entry = new_adapter(staging, target.language, _directions(bundle, target), target.adapter,
                            converted.alpha, parent=target.parent)
        write_bundle(Bundle(name=f"{bundle.name} (candidate)", base=new_base(staging, "base.gguf",
                                                                          bundle.base.architecture),
                            adapters=[entry], root=staging))
    return str(plan.candidate_bundle)


def _directions(bundle: Bundle, target: BundleTarget) -> list[str]:
    current = next((a for a in bundle.adapters if a.language == target.language), None)
    return list(current.directions) if current else [f"{target.language}-en", f"en-{target.language}"]


def _alpha(plan: TuningPlan) -> float:
    config = json.loads((plan.candidate_peft / "adapter_config.json").read_text(encoding="utf-8"))
    return float(config["lora_alpha"])


def adapter_trained(plan: TuningPlan, report: dict, parent: BundleAdapter | None) -> dict[str, Any]:
    """bundle.json's `trained` of the new adapter: the run, its data and steps, and the lineage (nearest first)."""
    request = plan.request
    with open(plan.train_file, encoding="utf-8") as handle:
        pairs = sum(1 for line in handle if line.strip())
    lineage = []
    if parent is not None:
        facts = {key: parent.trained[key] for key in ("run", "origin", "steps", "recipe") if key in parent.trained}
        lineage = [{"file": parent.file, "sha256": parent.sha256, **facts}, *parent.trained.get("lineage", [])]
    return {"recipe": f"alma-local tuning {plan.run_id}: lora, {request.preset} preset", "run": plan.run_id,
            "origin": request.origin or Path(request.data_file).name, "pairs": pairs,
            "data_sha256": file_sha256(plan.train_file), "steps": training_steps(plan),
            "before": {d: row.get("chrf_before") for d, row in report["directions"].items()},
            "lineage": lineage}


def adapter_metadata(plan: TuningPlan, report: dict, trained: dict[str, Any],
                     parent: BundleAdapter | None) -> dict[str, Any]:
    """The alma.* lineage keys the new adapter GGUF carries (as a tuned GGUF does, docs/tuning.md#lineage)."""
    target = target_of(plan)
    metadata: dict[str, Any] = {
        AlmaKey.PARENT: parent.file if parent else "",
        AlmaKey.PARENT_SHA256: parent.sha256 if parent else "",
        AlmaKey.PARENT_PATH: str(target.root / parent.file) if parent else "",
        AlmaKey.LINEAGE: [{"name": e["file"], "sha256": e["sha256"], "path": str(target.root / e["file"])}
                          for e in trained["lineage"]],
        AlmaKey.TRAINING_DATA: {"pairs": trained["pairs"], "sha256": trained["data_sha256"],
                                "origin": trained["origin"], "sources": {trained["origin"]: trained["pairs"]}},
        AlmaKey.SCORES: {HELDOUT_SCORES: heldout_scores(report)},
        AlmaKey.RECIPE: trained["recipe"],
    }
    if trained["steps"] is not None:
        metadata[AlmaKey.TRAINING_STEPS] = trained["steps"]
    return metadata


def finish(plan: TuningPlan) -> dict[str, Any]:
    """The report, then the adapter (with its lineage keys) and its peft folder into the bundle, then bundle.json
    with the language's entry on the new adapter (written last and atomically: until then the bundle is as it
    was). The parent adapter's files stay, so the user can go back."""
    target = target_of(plan)
    report = tuning_report(plan)
    report["model"] = str(target.root / target.adapter)
    write_text_atomic(plan.report_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(plan.report_path.with_suffix(".md"), report_markdown(report))
    bundle = _bundle(target)
    parent = next((a for a in bundle.adapters if a.language == target.language), None)
    if parent is not None and parent.file != target.parent:
        raise TuningError(f"{bundle.manifest_path}: the {target.language} adapter is now {parent.file}, not "
                          f"{target.parent} that this run tuned: start a new run")
    trained = adapter_trained(plan, report, parent)
    final = target.root / target.adapter
    try:
        copy_with_metadata(plan.candidate_gguf, final, adapter_metadata(plan, report, trained, parent), force=True)
    except ConversionError as exc:
        raise TuningError(f"writing {final}: {exc}") from None
    with atomic_folder(target.root / target.peft) as staging:
        for name in PEFT_FILES:
            shutil.copyfile(plan.candidate_peft / name, staging / name)
    scores = {d: Score(SCORE_SET, round(float(row["chrf_after"]), 2), int(row["n"] or 0))
              for d, row in report["directions"].items() if row.get("chrf_after") is not None}
    entry = new_adapter(target.root, target.language, _directions(bundle, target), target.adapter, _alpha(plan),
                        parent=target.parent, trained=trained, scores=scores)
    adapters = [entry if a.language == target.language else a for a in bundle.adapters]
    if parent is None:
        adapters.append(entry)
    write_bundle(replace(bundle, adapters=adapters))
    plan.candidate_gguf.unlink(missing_ok=True)
    return report
