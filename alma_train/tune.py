"""`alma-train tune step RUN_DIR NAME`: one step of an on-device tuning run (alma_train.pipeline), run as a
child process by the app's Tune view in the run folder desktop.models.tuning made (docs/tuning.md)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alma_train import bundle_tuning
from alma_train.bundle_tuning import lora_init
from alma_train.evaluate.evaluation import add_evaluate_parsers
from alma_train.lineage import finish_tuning
from alma_train.pipeline import Pipeline, PipelineState, Progress, Step
from alma_train.train.config import load_config
from alma_train.train.merge import merge_adapter
from alma_train.train.trainer import PRINTED_SUMMARY, run_training
from convert.cli import main as convert_main
from desktop.models.tuning import STATE_FILE, TUNE_STEPS, TuningError, TuningPlan, directions_of, load_plan

# Preset -> (alma-train preset name per finetune mode, overrides). "quick" is a CPU demo of minutes.
# The quick preset checkpoints every 10 steps (one kept), so a cancelled run resumes near where it stopped.
TRAIN_PRESETS = {
    "quick": ({"lora": "demo-stage2", "full": "demo-stage2-full"},
              {"max_steps": 30, "logging_steps": 1, "save_steps": 10, "eval_steps": 1000,
               "save_total_limit": 1}),
    "workstation": ({"lora": "alma-7b-stage2-lora", "full": "alma-7b-stage2-full"},
                    {"logging_steps": 10}),
}


class StepFailed(RuntimeError):
    """A tool this step runs (alma-convert) failed and said why; the step exits with its code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def stage2_settings(plan: TuningPlan) -> tuple[str, dict[str, Any]]:
    """(alma-train preset, settings over it) of the run's stage 2."""
    request = plan.request
    if request.preset not in TRAIN_PRESETS:
        raise TuningError(f"{plan.config_path}: preset must be one of {tuple(TRAIN_PRESETS)}, got {request.preset!r}")
    preset_names, preset_overrides = TRAIN_PRESETS[request.preset]
    if request.finetune not in preset_names:
        raise TuningError(f"{plan.config_path}: finetune must be one of {tuple(preset_names)}, "
                          f"got {request.finetune!r}")
    return preset_names[request.finetune], {
        **preset_overrides,
        "model": plan.hf_base,
        "data_dir": str(plan.train_file.parent),
        "train_files": [plan.train_file.name],
        "valid_files": [],  # the held-out slice is for the before/after report only
        "load_best_model_at_end": False,
        "pairs": list(request.pairs),
        "output_dir": str(plan.train_dir),
        "resume": True,  # only a resumed run finds checkpoints in its own fresh work folder
        **(lora_init(plan) if plan.bundle is not None else {}),
        **request.train_overrides,
    }


class TuneRun:
    """The steps of one run folder, each a method that does its work in this process."""

    def __init__(self, plan: TuningPlan) -> None:
        self.plan = plan
        self.directions = ",".join(directions_of(plan.request.pairs))

    def steps(self) -> list[Step]:
        actions: dict[str, Callable[[], Any]] = {
            "import-gguf": self.import_gguf, "convert-base": self.convert_base, "stage2": self.stage2,
            "merge": self.merge, "convert": self.convert,
            "convert-adapter": lambda: bundle_tuning.convert_adapter(self.plan),
            "evaluate-base": lambda: self.evaluate(self.plan.base_gguf, "base"),
            # a bundle's "after" is the bundle with the new adapter (work/candidate.bundle)
            "evaluate-tuned": lambda: self.evaluate(self.plan.candidate_bundle if self.plan.bundle is not None
                                                    else self.plan.candidate_gguf, "tuned"),
            "compare": self.compare, "finish": self.finish,
        }
        return [Step(step.name, actions[step.name]) for step in self.plan.steps]

    @property
    def model_dir(self) -> Path:
        """The trained model stage 2 leaves: merged with its adapter for LoRA."""
        return self.plan.work_dir / "merged" if self.plan.request.finetune == "lora" else self.plan.train_dir

    def import_gguf(self) -> str:
        if self.plan.bundle is not None:
            return bundle_tuning.import_base(self.plan)
        _convert(["import-gguf", str(self.plan.base_gguf), "--output", self.plan.hf_base, "--force"])
        return self.plan.hf_base

    def convert_base(self) -> str:
        _convert([self.plan.hf_base, "--output", str(self.plan.base_gguf), "--type", self.plan.request.quant,
                  "--force"])
        return str(self.plan.base_gguf)

    def stage2(self) -> dict[str, Any]:
        preset, settings = stage2_settings(self.plan)
        config = load_config(preset, settings, stage="stage2")
        summary = run_training(config)
        print(json.dumps({key: summary[key] for key in PRINTED_SUMMARY}, indent=2))  # as alma-train stage2
        print(f"output: {config.output_dir}")
        return {key: summary.get(key) for key in ("global_step", "train_loss", "resumed_from")}

    def merge(self) -> str:
        if self.model_dir.exists():
            shutil.rmtree(self.model_dir)  # merged by an attempt killed before it was recorded: merge again
        print(merge_adapter(self.plan.hf_base, self.plan.train_dir, self.model_dir))
        return str(self.model_dir)

    def convert(self) -> str:
        _convert([str(self.model_dir), "--output", str(self.plan.candidate_gguf), "--type", self.plan.request.quant,
                  "--name", self.plan.run_id, "--language-pairs", self.directions, "--force"])
        return str(self.plan.candidate_gguf)

    def evaluate(self, model: Path, name: str) -> str:
        output = self.plan.report_dir / f"{name}.json"
        _evaluation(["evaluate", "--model", str(model), "--test", str(self.plan.heldout_file),
                     "--pairs", self.directions, "--limit", str(self.plan.request.eval_limit),
                     "--max-new-tokens", str(self.plan.request.eval_max_new_tokens), "--output", str(output)])
        return str(output)

    def compare(self) -> str:
        output = self.plan.report_dir / "compare.md"
        _evaluation(["compare", str(self.plan.report_dir / "base.json"), str(self.plan.report_dir / "tuned.json"),
                     "--names", "base,tuned", "--output", str(output)])
        return str(output)

    def finish(self) -> dict[str, str]:
        if self.plan.bundle is not None:
            bundle_tuning.finish(self.plan)
            print(f"new adapter: {self.plan.final_gguf} (in {self.plan.bundle.root}, parent "
                  f"{self.plan.bundle.parent or 'none'})")
            return {"model": str(self.plan.final_gguf), "report": str(self.plan.report_path)}
        finish_tuning(self.plan)
        print(f"new model: {self.plan.final_gguf}")
        return {"model": str(self.plan.final_gguf), "report": str(self.plan.report_path)}


def _convert(argv: list[str]) -> None:
    code = convert_main(argv)
    if code != 0:
        raise StepFailed(f"alma-convert {' '.join(argv)} failed (exit {code})", code)


def _evaluation(argv: list[str]) -> None:
    """`alma-train evaluate ...` or `alma-train compare ...`, in this process."""
    parser = argparse.ArgumentParser(prog="alma-train")
    add_evaluate_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    args.handler(args)


def tune_pipeline(run_dir: Path, write: Callable[[str], None]) -> Pipeline:
    """The pipeline of the run in run_dir (raises TuningError naming config.yaml when it cannot be read)."""
    plan = load_plan(run_dir)
    identity = {"run": plan.run_id, "steps": [step.name for step in plan.steps], "hf_base": plan.hf_base,
                "base_gguf": str(plan.base_gguf), "model": str(plan.final_gguf)}
    state = PipelineState(plan.run_dir / STATE_FILE, identity, lambda stored: (
        f"{plan.run_dir / STATE_FILE} records another run ({stored}), not the one {plan.config_path} describes"))
    return Pipeline(TuneRun(plan).steps(), state, Progress(f"tune {plan.run_id}", write, eta=False))


def add_tune_parser(sub) -> None:
    """Register `tune` (with its subcommand `step`) on alma-train's subparsers."""
    tune = sub.add_parser("tune", help="the steps of an on-device tuning run (the app's Tune tab runs them)",
                          description="The steps of a tuning run whose folder the app made (config.yaml, data/).")
    tune_sub = tune.add_subparsers(dest="tune_command", required=True, metavar="COMMAND")
    step = tune_sub.add_parser("step", help="run one step of a run (the steps before it must be done)",
                               description="Run step NAME of the tuning run in RUN_DIR and record it in "
                               f"RUN_DIR/{STATE_FILE}; a step done already is skipped.")
    step.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder (with config.yaml)")
    step.add_argument("name", choices=TUNE_STEPS, metavar="NAME", help=f"one of {', '.join(TUNE_STEPS)}")
    step.set_defaults(handler=_cmd_tune_step)


def _cmd_tune_step(args: argparse.Namespace) -> int:
    pipeline = tune_pipeline(args.run_dir, write=lambda line: print(line, file=sys.stderr, flush=True))
    try:
        pipeline.run_step(args.name)
    except StepFailed as exc:  # the tool printed why
        print(f"alma-train tune: {exc}", file=sys.stderr)
        return exc.code
    return 0
