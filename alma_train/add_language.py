"""alma-train add-language: one LoRA adapter for xx<->en (both directions) on the plain base, trained over the
bundle base's kept vocabulary, its bundle manifest entry and, with --bundle, the adapter's GGUF in that bundle
(docs/training.md#a-language-is-an-adapter-alma-train-add-language)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from alma_core.atomic import write_text_atomic
from alma_core.file_memo import sha256_of_file
from alma_core.paths import user_cache_dir
from alma_train.bundle_add import ENTRY_FILE, add_to_bundle
from alma_train.data.demo_data import ALL_LANGUAGES, build_parallel
from alma_train.train.config import load_config
from alma_train.train.trainer import run_training

ADAPTER_PRESET = "adapter-gemma3-270m"
BUNDLE_FORMAT = "alma-bundle/1"


def bundle_base(bundle: Path) -> Path:
    """The base GGUF a bundle's bundle.json names; a ValueError names the file and key at fault."""
    manifest = bundle / "bundle.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{manifest}: no such file (--bundle takes a NAME.bundle folder)") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"{manifest}: not readable JSON ({error})") from None
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"{manifest}: key 'format' must be {BUNDLE_FORMAT!r}")
    base = data.get("base")
    if not isinstance(base, dict) or not isinstance(base.get("file"), str):
        raise ValueError(f"{manifest}: key 'base.file' (the base GGUF's file name) is missing")
    path = bundle / base["file"]
    if not path.is_file():
        raise ValueError(f"{manifest}: key 'base.file' names {path}, which does not exist")
    return path


def check_language(code: str) -> str:
    if code == "en" or code not in ALL_LANGUAGES:
        raise ValueError(f"add-language {code!r}: adapters translate to and from English; languages with data: "
                         f"{', '.join(ALL_LANGUAGES)}")
    return code


def ensure_data(data_dir: Path, lang: str) -> Path:
    """data_dir with parallel/<xx>-en/{train,heldout-valid,heldout-test}.jsonl, built from the installed
    catalogs when missing (the same files `alma-train demo-data --languages xx` writes)."""
    folder = data_dir / "parallel" / f"{lang}-en"
    if not all((folder / f"{split}.jsonl").is_file() for split in ("train", "heldout-valid", "heldout-test")):
        build_parallel(data_dir / "parallel", languages=[lang])
    return data_dir


def manifest_entry(lang: str, summary: dict[str, Any], scores: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """The adapter's entry in bundle.json's shape. `sha256` stays null until the GGUF adapter exists."""
    config = summary["config"]
    train_file = data_dir / "parallel" / f"{lang}-en" / "train.jsonl"
    return {
        "language": lang,
        "directions": [f"{lang}-en", f"en-{lang}"],
        "file": f"adapters/{lang}.lora.gguf",
        "sha256": None,
        "alpha": float(config["lora_alpha"]),
        "parent": None,
        "trained": {
            "recipe": ADAPTER_PRESET, "steps": summary["global_step"], "best_checkpoint": summary["best_checkpoint"],
            "lora_r": config["lora_r"], "target_modules": config["lora_target_modules"],
            "learning_rate": config["learning_rate"], "batch": config["per_device_train_batch_size"],
            "precision": summary["precision"], "train_seconds": summary["train_seconds"],
            "best_eval_loss": summary["best_eval_loss"], "kept_vocabulary": summary["kept_vocabulary"],
            "examples": summary["data"].get("train_examples"),
            "data_sha256": sha256_of_file(train_file),
        },
        "scores": scores,
    }


def evaluate_adapter(model_dir: str, adapter: Path, test_file: Path, limit: int, output: Path) -> dict[str, Any]:
    """chrF of the adapter per direction on `test_file` (greedy, first `limit` segments), by `alma-train
    evaluate` in a child process (torch and llama.cpp never share one: docs/gpu.md)."""
    command = [sys.executable, "-m", "alma_train.cli", "evaluate", "--model", model_dir, "--adapter", str(adapter),
               "--test", str(test_file), "--beams", "1", "--limit", str(limit), "--max-new-tokens", "128",
               "--output", str(output)]
    subprocess.run(command, check=True)
    report = json.loads(output.read_text(encoding="utf-8"))
    label = test_file.stem
    return {direction: {"set": label, "chrf": round(entry["chrf"], 2), "segments": entry["n"]}
            for direction, entry in report["directions"].items()}


def add_language(lang: str, output: Path, base: str | None = None, bundle: Path | None = None,
                 data_dir: Path | None = None, config: str = ADAPTER_PRESET, max_steps: int | None = None,
                 eval_limit: int = 100) -> dict[str, Any]:
    """Train the xx<->en adapter into `output` and write its manifest entry there; with `bundle`, also convert
    it into the bundle (adapters/<xx>.lora.gguf, f16) and add or replace its entry in bundle.json. Returns
    the entry (as the bundle holds it when there is one)."""
    lang = check_language(lang)
    kept = bundle_base(bundle) if bundle is not None else None
    data_dir = ensure_data(data_dir or user_cache_dir() / "add-language" / "data", lang)
    pair = f"{lang}-en"
    overrides: dict[str, Any] = {
        "pairs": [pair], "data_dir": str(data_dir), "output_dir": str(output),
        "train_files": [f"parallel/{pair}/train.jsonl"], "valid_files": [f"parallel/{pair}/heldout-valid.jsonl"],
    }
    if base:
        overrides["model"] = base
    if kept is not None:
        overrides["kept_vocabulary"] = str(kept.resolve())
    if max_steps is not None:
        overrides["max_steps"] = max_steps
    summary = run_training(load_config(config, overrides, stage="stage2"))
    scores: dict[str, Any] = {}
    if eval_limit > 0:
        scores = evaluate_adapter(summary["model"], output, data_dir / "parallel" / pair / "heldout-test.jsonl",
                                  eval_limit, output / "eval" / "heldout-test.json")
    entry = manifest_entry(lang, summary, scores, data_dir)
    write_text_atomic(output / ENTRY_FILE, json.dumps(entry, indent=2, ensure_ascii=False) + "\n")
    if bundle is not None:
        added = add_to_bundle(output, bundle)
        entry = {**entry, "sha256": added.sha256, "parent": added.parent}
    return entry


def _cmd_add_language(args: argparse.Namespace) -> int:
    bundle = Path(args.bundle).expanduser() if args.bundle else None
    # Not inside the bundle: the run folder holds checkpoints; the bundle gets the adapter's GGUF.
    output = Path(args.output).expanduser() if args.output else Path("runs") / f"adapter-{args.language}"
    entry = add_language(args.language, output, base=args.base, bundle=bundle,
                         data_dir=Path(args.data_dir).expanduser() if args.data_dir else None,
                         config=args.config, max_steps=args.max_steps, eval_limit=args.eval_limit)
    print(json.dumps(entry["scores"], indent=2))
    print(f"adapter: {output}  (manifest entry: {output / ENTRY_FILE})")
    if bundle is not None:
        print(f"added to {bundle}: {entry['file']} (sha256 {entry['sha256'][:16]}…)")
    return 0


def add_add_language_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "add-language", help="train one LoRA adapter for a language <-> English on the base (minutes on a CPU)",
        description="Train one LoRA adapter for xx<->en (both directions) with the per-language recipe on the "
        "plain base, keep the best checkpoint on the language's heldout-valid set, score it on heldout-test and "
        f"write its bundle manifest entry ({ENTRY_FILE}) beside it. The data is built from the installed "
        "catalogs when --data-dir lacks it.")
    parser.add_argument("language", help=f"language code ({', '.join(ALL_LANGUAGES)})")
    parser.add_argument("--base", help="a base name (see `alma-train bases`) or HF folder (default: the preset's)")
    parser.add_argument("--bundle", metavar="X.bundle", help="train over the kept vocabulary of this bundle's base "
                        "(default: over the tokens chosen on the language's own data), then put the adapter into "
                        "the bundle (adapters/<xx>.lora.gguf, f16) with its bundle.json entry")
    parser.add_argument("--data-dir", help="a demo-data folder (default: the user cache's, built as needed)")
    parser.add_argument("--output", help="the adapter folder (default: runs/adapter-<xx>)")
    parser.add_argument("--config", default=ADAPTER_PRESET, help=f"preset or YAML (default {ADAPTER_PRESET})")
    parser.add_argument("--max-steps", type=int, help="override the preset's steps")
    parser.add_argument("--eval-limit", type=int, default=100,
                        help="heldout-test segments per direction scored for the manifest (0: none; default 100)")
    parser.set_defaults(handler=_cmd_add_language)
