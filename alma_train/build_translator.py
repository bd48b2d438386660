"""`alma-train build-translator` (`make model`): the default translator, built on this machine.

Steps, resume and what is installed: docs/training.md#the-default-translator-make-model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alma_core.gguf_file import AlmaKey
from alma_core.models import BASES, get_base, is_base_name
from alma_core.paths import user_cache_dir
from alma_train.data.demo_data import build_demo_data
from alma_train.pipeline import Pipeline, PipelineState, Progress, Step
from alma_train.train.base_export import resolve_model_dir
from alma_train.train.config import TrainConfig, load_config
from alma_train.train.merge import merge_adapter
from alma_train.train.restrict import read_kept
from alma_train.train.trainer import last_complete_checkpoint, run_training
from convert.cli import main as convert_main
from convert.gguf_metadata import copy_with_metadata
from convert.trim_vocab import DEFAULT_KEEP_TOP, can_trim, open_gguf, trim_gguf, trim_model

STEPS = ("data", "base", "stage2", "merge", "convert", "trim", "evaluate", "install")
STATE_FILE = "build-state.json"
# Rough durations of the short steps on the 2-core reference machine (seconds), for the first ETA;
# stage 2 and evaluation are estimated from their own measured pace as soon as they run.
FIRST_GUESS = {"data": 30, "base": 120, "merge": 60, "convert": 60, "trim": 120, "install": 20}
FIRST_GUESS_STEP_SECONDS = 2.9  # Gemma 3 270M, LoRA on all linear layers, batch 8, 2-core machine: 1.9-4.3 s
FIRST_GUESS_STEP_SECONDS_GPU = 0.12  # down_proj-only LoRA on one H200: 0.09-0.14 s (docs/gpu.md)
FIRST_GUESS_SENTENCE_SECONDS = 0.6


@dataclass
class BuildRequest:
    """What to build and where."""

    output: Path
    base: str = "default"  # a base name (alma-train bases) or a local HF model folder
    recipe: str | None = None  # a preset name or YAML file; default: translator-<base>
    work_dir: Path | None = None
    data_dir: Path | None = None  # prepared data (parallel/<xx>-en/...); default: built in the work folder
    quant: str = "q8_0"
    eval_limit: int = 40  # segments per direction and test set in the build's own evaluation
    eval_max_new_tokens: int = 256
    overrides: dict[str, Any] = field(default_factory=dict)  # stage-2 settings, e.g. max_steps
    # Keep only the tokens the training data and prompts use (a smaller output layer: docs/translate.md).
    trim_vocab: bool = True


@dataclass(frozen=True)
class BaseChoice:
    """The base of a build: its name (or folder), its licence, the model setting stage 2 gets."""

    name: str
    licence: str
    model: str

    @classmethod
    def of(cls, text: str) -> BaseChoice:
        if is_base_name(text):
            base = get_base(text)
            return cls(base.name, base.licence, base.name)
        folder = Path(text).expanduser()
        if not (folder / "config.json").is_file():
            raise ValueError(f"--base {text}: neither a base ({', '.join(BASES)}) nor an HF model folder")
        return cls(folder.name, "see the base model's own licence", str(folder.resolve()))


def _stage2_callback(progress: Progress, max_steps: int):
    from transformers import TrainerCallback

    class Stage2Pace(TrainerCallback):
        """Re-estimates stage 2's remaining time from its measured pace at every log."""

        def __init__(self) -> None:
            self.first: tuple[int, float] | None = None

        def on_step_end(self, args, state, control, **kwargs):
            now = time.time()
            if self.first is None:
                self.first = (state.global_step, now)  # the first step pays one-time setup: skip it
                return
            done = state.global_step - self.first[0]
            if done > 0:
                pace = (now - self.first[1]) / done
                progress.estimate("stage2", pace * (max_steps - state.global_step))
            if state.global_step % max(1, args.logging_steps, max_steps // 20) == 0:
                progress.say(f"stage 2: step {state.global_step}/{max_steps}")

    return Stage2Pace()


def _first_guess_step_seconds() -> float:
    import torch  # stage 2 imports it anyway

    return FIRST_GUESS_STEP_SECONDS_GPU if torch.cuda.is_available() else FIRST_GUESS_STEP_SECONDS


def _training_data_summary(config: TrainConfig) -> dict[str, Any]:
    """Pairs per source of the stage-2 training files, and one sha256 over them (for alma.training_data)."""
    digest = hashlib.sha256()
    sources: dict[str, int] = {}
    pairs = 0
    for name in config.train_files:
        path = config.resolve_data_path(name)
        data = path.read_bytes()
        digest.update(data)
        for line in data.decode("utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                source = record.get("source", "unknown") if isinstance(record, dict) else "unknown"
                sources[source] = sources.get(source, 0) + 1
                pairs += 1
    return {"pairs": pairs, "sources": dict(sorted(sources.items())), "sha256": digest.hexdigest(),
            "files": list(config.train_files)}


def _test_sets(data_dir: Path, pairs: list[str]) -> dict[str, list[Path]]:
    """The build's evaluation sets: out-of-source (a held-out whole source) and in-source (test split)."""
    sets: dict[str, list[Path]] = {}
    for label, name in (("out-of-source", "heldout-test.jsonl"), ("in-source", "test.jsonl")):
        files = [data_dir / "parallel" / pair / name for pair in pairs]
        files = [f for f in files if f.is_file()]
        if files:
            sets[label] = files
    return sets


def _checkpointed_steps(output_dir: Path) -> int:
    """The step stage 2 resumes from: that of the trainer's last complete checkpoint, else 0."""
    last = last_complete_checkpoint(output_dir)
    return int(last.rsplit("-", 1)[1]) if last else 0


def build_translator(request: BuildRequest, write: Callable[[str], None] = print) -> Path:
    """Run (or resume) the whole build; returns the installed GGUF's path."""
    base = BaseChoice.of(request.base)
    recipe = request.recipe or f"translator-{base.name}"
    work = Path(request.work_dir) if request.work_dir else user_cache_dir() / "build-translator" / recipe
    data_dir = Path(request.data_dir) if request.data_dir else work / "data"
    overrides = {**request.overrides, "model": base.model, "data_dir": str(data_dir),
                 "output_dir": str(work / "stage2"), "resume": True}
    if not request.trim_vocab:
        # An untrimmed model is used over its whole vocabulary: train it over the whole vocabulary.
        overrides["restrict_vocab"] = False
    config = load_config(recipe, overrides, stage="stage2")  # checks the recipe before any work
    if config.max_steps < 1:
        raise ValueError(f"recipe {recipe}: set max_steps, so that the build's length is known")
    request.output.parent.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    identity = {"recipe": recipe, "base": base.model, "quant": request.quant, "trim_vocab": request.trim_vocab,
                "settings": {k: v for k, v in sorted(config.to_dict().items()) if k not in ("resume",)}}
    state = PipelineState(work / STATE_FILE, identity, lambda stored: (
        f"{work} holds a build of another recipe or base ({stored}); remove it or choose another --work-dir"))
    build = _Build(request, base, recipe, work, data_dir, config, state, Progress("build-translator", write))
    pipeline = build.pipeline()
    build.progress.say(f"building {request.output} from {base.name} with recipe {recipe} in {work}")
    pipeline.run()
    build.progress.say("finished: " + ", ".join(f"{label} chrF {s['chrf']:.1f} BLEU {s['bleu']:.1f}"
                                                for label, s in pipeline.result("evaluate").items()))
    return request.output


@dataclass
class _Build:
    """The steps of one build, each a method; what a step needs from an earlier one is in the state."""

    request: BuildRequest
    base: BaseChoice
    recipe: str
    work: Path
    data_dir: Path
    config: TrainConfig
    state: PipelineState
    progress: Progress

    def pipeline(self) -> Pipeline:
        lora = self.config.finetune == "lora"
        n_directions = 2 * len(self.config.pairs)
        steps = [
            Step("data", self.data, FIRST_GUESS["data"]),
            Step("base", lambda: str(resolve_model_dir(self.base.model)), FIRST_GUESS["base"]),
            Step("stage2", self.stage2, lambda: (self.config.max_steps - _checkpointed_steps(self.work / "stage2"))
                 * _first_guess_step_seconds()),
            # Full fine-tuning leaves no adapter: the step is recorded without a line of its own.
            Step("merge", self.merge if lora else lambda: "full fine-tuning: no adapter to merge",
                 FIRST_GUESS["merge"], announce=lora),
            Step("convert", self.convert, FIRST_GUESS["convert"]),
            Step("trim", self.trim, FIRST_GUESS["trim"]),
            Step("evaluate", self.evaluate,
                 2 * n_directions * self.request.eval_limit * FIRST_GUESS_SENTENCE_SECONDS),
            Step("install", self.install, FIRST_GUESS["install"]),
        ]
        assert tuple(step.name for step in steps) == STEPS
        return Pipeline(steps, self.state, self.progress)

    @property
    def model_dir(self) -> Path:
        """What stage 2 leaves, merged with its adapter for LoRA."""
        return self.work / "merged" if self.config.finetune == "lora" else self.work / "stage2"

    @property
    def converted(self) -> Path:
        return self.work / f"candidate.{self.request.quant}.gguf"

    @property
    def candidate(self) -> Path:
        """The GGUF evaluated and installed: the trimmed one when the vocabulary was trimmed."""
        trimmed = self.state.done["trim"].get("output")
        return Path(trimmed) if trimmed else self.converted

    @property
    def directions(self) -> list[str]:
        return [d for pair in self.config.pairs for d in (pair, "-".join(reversed(pair.split("-"))))]

    def data(self) -> Any:
        if self.request.data_dir is not None:
            return f"prepared data in {self.data_dir}"
        return build_demo_data(self.data_dir, monolingual=False)

    def stage2(self) -> dict[str, Any]:
        if resumed_at := _checkpointed_steps(self.work / "stage2"):
            self.progress.say(f"stage 2 resumes from its checkpoint at step {resumed_at}")
        summary = run_training(self.config, callbacks=[_stage2_callback(self.progress, self.config.max_steps)])
        return {key: summary.get(key) for key in ("global_step", "best_eval_loss", "best_checkpoint",
                                                  "initial_eval_loss", "train_seconds")}

    def merge(self) -> str:
        if self.model_dir.exists():
            shutil.rmtree(self.model_dir)  # a merge killed before its rename left nothing usable here
        merge_adapter(self.base.model, self.work / "stage2", self.model_dir)
        return str(self.model_dir)

    def convert(self) -> str:
        rc = convert_main([str(self.model_dir), "--output", str(self.converted), "--type", self.request.quant,
                           "--force", "--name", f"alma-{self.base.name}",
                           "--language-pairs", ",".join(self.directions)])
        if rc != 0:
            raise RuntimeError(f"alma-convert failed on {self.model_dir} (exit {rc})")
        return str(self.converted)

    def trim(self) -> dict[str, Any]:
        return _trim(self.converted, self.work / f"candidate.{self.request.quant}.trimmed.gguf", self.data_dir,
                     self.directions, self.request.trim_vocab, self.progress, read_kept(self.work / "stage2"))

    def evaluate(self) -> dict[str, Any]:
        return _evaluate(self.candidate, self.data_dir, self.config.pairs, self.directions, self.request.eval_limit,
                         self.request.eval_max_new_tokens, self.work / "eval", self.progress)

    def install(self) -> str:
        metadata = {
            AlmaKey.BASE: self.base.name,
            AlmaKey.LICENCE: self.base.licence,
            AlmaKey.RECIPE: self.recipe,
            AlmaKey.TRAINING_STEPS: int(self.state.done["stage2"]["global_step"]),
            AlmaKey.TRAINING_DATA: _training_data_summary(self.config),
            AlmaKey.SCORES: self.state.done["evaluate"],
            "general.license": self.base.licence,
        }
        copy_with_metadata(self.candidate, self.request.output, metadata, force=True)
        return str(self.request.output)


def _trim(candidate: Path, output: Path, data_dir: Path, directions: list[str], wanted: bool,
          progress: Progress, trained_on: list[int] | None = None) -> dict[str, Any]:
    """Trim the candidate's vocabulary to the training data's tokens (when asked and possible): to exactly
    the kept set stage 2 trained over (`trained_on`, restrict_vocab), else chosen here on the data."""

    if not wanted:
        return {"output": None, "why": "--no-trim-vocab"}
    reader = open_gguf(candidate)
    if not can_trim(reader):
        progress.say("vocabulary kept: trimming handles SentencePiece vocabularies (Gemma), not this base's")
        return {"output": None, "why": "not a SentencePiece vocabulary"}
    languages = sorted({code for direction in directions for code in direction.split("-")})
    if trained_on is not None:
        result = trim_gguf(candidate, output, trained_on, force=True, reader=reader,
                           note={"keep_top": DEFAULT_KEEP_TOP, "chosen_by": "stage 2 (restrict_vocab)"})
    else:
        result = trim_model(candidate, output, [data_dir / "parallel"], languages, force=True, reader=reader)
    progress.say(result.summary())
    return {"output": str(output), "kept": result.kept, "of": result.total,
            "bytes_before": result.bytes_before, "bytes_after": result.bytes_after}


def _evaluate(candidate: Path, data_dir: Path, pairs: list[str], directions: list[str], limit: int,
              max_new_tokens: int, out_dir: Path, progress: Progress) -> dict[str, Any]:
    """Greedy llama.cpp translation of the first `limit` segments per direction of each test set.

    Each test set is evaluated by `alma-train evaluate` in a child process: this process has trained
    with torch, and torch and a CUDA build of llama.cpp in one process crashed on an H200 (segfault or
    "free(): invalid pointer", in either import order; docs/gpu.md). The child loads llama.cpp alone.
    """
    scores: dict[str, Any] = {}
    test_sets = _test_sets(data_dir, pairs)
    sentences_left = sum(len(directions) * limit for _ in test_sets)
    for label, files in test_sets.items():
        started = time.time()
        output = out_dir / f"{label}.json"
        command = [sys.executable, "-m", "alma_train.cli", "evaluate", "--model", str(candidate),
                   "--test", *[str(f) for f in files], "--pairs", ",".join(directions), "--output", str(output),
                   "--beams", "1", "--max-new-tokens", str(max_new_tokens), "--batch-size", "1",
                   "--limit", str(limit)]
        # subprocess.run kills the child when an interruption (alma_core.interrupts) reaches us here.
        done = subprocess.run(command, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"evaluation of {candidate} on the {label} test set failed "
                               f"(alma-train evaluate exit {done.returncode}): {' '.join(command)}")
        report = json.loads(output.read_text(encoding="utf-8"))
        segments = sum(d["n"] for d in report["directions"].values())
        sentences_left -= segments
        progress.estimate("evaluate", sentences_left * (time.time() - started) / max(1, segments))
        chrf = [d["chrf"] for d in report["directions"].values()]
        bleu = [d["bleu"] for d in report["directions"].values()]
        scores[label] = {
            "chrf": round(sum(chrf) / len(chrf), 2), "bleu": round(sum(bleu) / len(bleu), 2),
            "segments": segments, "limit_per_direction": limit,
            "directions": {name: {"chrf": round(d["chrf"], 2), "bleu": round(d["bleu"], 2), "segments": d["n"]}
                           for name, d in report["directions"].items()},
            "signatures": {"bleu": next(iter(report["directions"].values()))["bleu_signature"],
                           "chrf": next(iter(report["directions"].values()))["chrf_signature"]},
        }
        progress.say(f"evaluate {label}: chrF {scores[label]['chrf']:.2f}, BLEU {scores[label]['bleu']:.2f} "
                     f"({segments} segments)")
    return scores
