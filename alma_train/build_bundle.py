"""`alma-train build-translator --bundle` (`make model`): the default translator as a bundle, one base and an
adapter per language, built on this machine (docs/training.md#the-default-translator-make-model).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from alma_core.atomic import atomic_folder
from alma_core.bundle import SUFFIX, Bundle, BundleError, Score, load_bundle, new_base, write_bundle
from alma_core.gguf_file import AlmaKey
from alma_core.paths import user_cache_dir
from alma_train.add_language import ADAPTER_PRESET, add_language, check_language
from alma_train.build_translator import FIRST_GUESS_STEP_SECONDS_GPU, STATE_FILE, BaseChoice, _evaluate
from alma_train.bundle_tuning import PEFT_FILES
from alma_train.data.demo_data import ALL_LANGUAGES, PAPER_LANGUAGES, build_demo_data
from alma_train.pipeline import Pipeline, PipelineState, Progress, Step
from alma_train.train.base_export import resolve_model_dir
from alma_train.train.config import TrainConfig, load_config
from alma_train.train.restrict import KeptChoice, read_kept, write_kept
from alma_train.train.tokenizer import load_tokenizer
from convert.cli import main as convert_main
from convert.errors import ConversionError
from convert.gguf_metadata import copy_with_metadata
from convert.kept_vocab import DEFAULT_KEEP_TOP, data_texts, hf_vocabulary, kept_token_ids, prompt_texts
from convert.trim_vocab import open_gguf, trim_gguf
from desktop.models.tuning import peft_folder

STEPS = ("data", "base", "kept", "convert", "trim", "adapters", "evaluate", "install")
# Rough durations of the short steps on the 2-core reference machine (seconds), for the first ETA; the
# adapters and the evaluation are re-estimated from their own measured pace as they run.
FIRST_GUESS = {"data": 120, "base": 120, "kept": 90, "convert": 60, "trim": 120, "install": 20}
# One adapter (adapter-gemma3-270m, 400 steps): 7.5-8.9 min on the 2-core machine, i.e. ~1.2 s a step with
# its validations, plus ~25 s of loading (docs/results.md, "The paper's five languages as adapters").
FIRST_GUESS_ADAPTER_STEP_SECONDS = 1.2
FIRST_GUESS_ADAPTER_LOAD_SECONDS = 25
# On a GPU: not measured for adapters; stage 2's pace on one H200 (docs/gpu.md) as a first guess.
FIRST_GUESS_ADAPTER_STEP_SECONDS_GPU = FIRST_GUESS_STEP_SECONDS_GPU
# 200 segments x 10 directions in ~5 min, greedy llama.cpp with each direction's adapter (docs/results.md).
FIRST_GUESS_SENTENCE_SECONDS = 0.15
# The score an adapter keeps in bundle.json per direction (one per direction: the out-of-source set, as
# add-language records; the in-source scores stay in the work folder's eval/in-source.json).
SCORED_SET = ("out-of-source", "heldout-test")
STAGING = "staging.bundle"


@dataclass
class BundleRequest:
    """What to build and where. The defaults are `make model`'s: a base trimmed to the data of all twenty
    languages (so `alma-train add-language xx --bundle` works later for any of them), the paper five's adapters."""

    output: Path
    base: str = "default"  # a base name (alma-train bases) or a local HF model folder (SentencePiece)
    recipe: str = ADAPTER_PRESET  # each adapter's preset or YAML file
    work_dir: Path | None = None
    data_dir: Path | None = None  # prepared data (parallel/<xx>-en/...); default: built in the work folder
    languages: Sequence[str] = ALL_LANGUAGES  # whose training data chooses the base's kept vocabulary
    adapter_languages: Sequence[str] = PAPER_LANGUAGES  # one adapter each, in this order
    quant: str = "q8_0"  # the base's type (the adapters are f16)
    eval_limit: int = 40  # segments per direction and test set in the build's own evaluation
    eval_max_new_tokens: int = 256
    max_steps: int | None = None  # override the recipe's steps per adapter
    overrides: dict[str, Any] = field(default_factory=dict)


def check_request(request: BundleRequest) -> None:
    """ValueError naming the option at fault, before any work."""
    for lang in [*request.languages, *request.adapter_languages]:
        check_language(lang)
    missing = [lang for lang in request.adapter_languages if lang not in request.languages]
    if missing:
        raise ValueError(f"--adapter-languages {','.join(missing)}: not in --languages (the base's vocabulary "
                         "must be chosen on every adapter's data)")
    if not request.adapter_languages:
        raise ValueError("--adapter-languages: at least one language")
    if request.eval_limit < 1 or request.eval_max_new_tokens < 1:
        raise ValueError("--eval-limit and --eval-max-new-tokens must be at least 1")
    if Path(request.output).suffix != SUFFIX:
        raise ValueError(f"--output {request.output}: a bundle folder's name ends in {SUFFIX}")


def build_bundle(request: BundleRequest, write: Callable[[str], None] = print) -> Path:
    """Run (or resume) the whole build; returns the installed bundle's folder."""
    check_request(request)
    base = BaseChoice.of(request.base)
    work = Path(request.work_dir) if request.work_dir else user_cache_dir() / "build-translator" / \
        f"bundle-{base.name}"
    data_dir = Path(request.data_dir) if request.data_dir else work / "data"
    # output_dir only for the check: each adapter is trained into work/adapters/<xx>.
    overrides = {**request.overrides, "model": base.model, "data_dir": str(data_dir),
                 "output_dir": str(work / "adapters")}
    if request.max_steps is not None:
        overrides["max_steps"] = request.max_steps
    # The adapter recipe, checked before any work (add-language fills in each language's pair and files).
    config = load_config(request.recipe, overrides, stage="stage2")
    if config.finetune != "lora":
        raise ValueError(f"recipe {request.recipe}: a bundle's adapters are LoRA adapters (finetune: lora)")
    work.mkdir(parents=True, exist_ok=True)
    identity = {"bundle": True, "recipe": request.recipe, "base": base.model, "quant": request.quant,
                "languages": list(request.languages), "adapter_languages": list(request.adapter_languages),
                "max_steps": config.max_steps, "overrides": dict(sorted(request.overrides.items()))}
    state = PipelineState(work / STATE_FILE, identity, lambda stored: (
        f"{work} holds another build ({stored}); remove it or choose another --work-dir"))
    build = _BundleBuild(request, base, work, data_dir, config, state, Progress("build-translator", write))
    pipeline = build.pipeline()
    build.progress.say(f"building {request.output} from {base.name}: adapters {', '.join(request.adapter_languages)}"
                       f" with recipe {request.recipe}, in {work}")
    pipeline.run()
    scores = pipeline.result("evaluate")
    build.progress.say("finished: " + ", ".join(f"{label} chrF {s['chrf']:.1f} BLEU {s['bleu']:.1f}"
                                                for label, s in scores.items()))
    return Path(request.output)


@dataclass
class _BundleBuild:
    """The steps of one bundle build, each a method; what a step needs from an earlier one is in the state."""

    request: BundleRequest
    base: BaseChoice
    work: Path
    data_dir: Path
    config: TrainConfig
    state: PipelineState
    progress: Progress

    def pipeline(self) -> Pipeline:
        steps = [
            Step("data", self.data, FIRST_GUESS["data"]),
            Step("base", lambda: str(resolve_model_dir(self.base.model)), FIRST_GUESS["base"]),
            Step("kept", self.kept, FIRST_GUESS["kept"]),
            Step("convert", self.convert, FIRST_GUESS["convert"]),
            Step("trim", self.trim, FIRST_GUESS["trim"]),
            Step("adapters", self.adapters, lambda: len(self.adapters_left()) * self.adapter_guess()),
            Step("evaluate", self.evaluate, lambda: 2 * len(self.directions) * self.request.eval_limit
                 * FIRST_GUESS_SENTENCE_SECONDS),
            Step("install", self.install, FIRST_GUESS["install"]),
        ]
        assert tuple(step.name for step in steps) == STEPS
        return Pipeline(steps, self.state, self.progress)

    @property
    def staging(self) -> Path:
        """The bundle being built, in the work folder; installed as a copy when complete."""
        return self.work / STAGING

    @property
    def converted(self) -> Path:
        return self.work / f"base.{self.request.quant}.gguf"

    @property
    def pairs(self) -> list[str]:
        return [f"{lang}-en" for lang in self.request.adapter_languages]

    @property
    def directions(self) -> list[str]:
        return [d for lang in self.request.adapter_languages for d in (f"{lang}-en", f"en-{lang}")]

    def train_file(self, lang: str) -> Path:
        return self.data_dir / "parallel" / f"{lang}-en" / "train.jsonl"

    def adapter_guess(self) -> float:
        import torch  # add-language imports it anyway

        pace = FIRST_GUESS_ADAPTER_STEP_SECONDS_GPU if torch.cuda.is_available() else FIRST_GUESS_ADAPTER_STEP_SECONDS
        return self.config.max_steps * pace + FIRST_GUESS_ADAPTER_LOAD_SECONDS

    def data(self) -> Any:
        if self.request.data_dir is not None:
            missing = [str(self.train_file(lang)) for lang in self.request.languages
                       if not self.train_file(lang).is_file()]
            if missing:
                raise ValueError(f"--data-dir {self.data_dir}: no {', '.join(missing)} (the base's vocabulary is "
                                 "chosen on every language's training data: `alma-train demo-data --output "
                                 f"{self.data_dir} --no-monolingual --languages {','.join(self.request.languages)}`)")
            return f"prepared data in {self.data_dir}"
        summary = build_demo_data(self.data_dir, monolingual=False, languages=list(self.request.languages))
        return {"data_dir": str(self.data_dir), "parallel": summary["parallel"]}

    def kept(self) -> dict[str, Any]:
        """The base's kept vocabulary: convert.kept_vocab's one decision over the prompts and every language's
        training data, with the HF tokenizer of the very vocabulary the GGUF gets (as restrict_vocab chooses)."""
        model_dir = Path(self.state.done["base"])
        try:
            vocabulary = hf_vocabulary(model_dir)
            texts = [*prompt_texts(["en", *self.request.languages]),
                     *data_texts([self.train_file(lang) for lang in self.request.languages])]
        except ConversionError as error:
            raise ValueError(f"a bundle's base is trimmed: {error}") from None
        tokenizer = load_tokenizer(model_dir)
        ids = kept_token_ids(vocabulary, texts, lambda chunk: tokenizer(chunk, add_special_tokens=False)["input_ids"],
                             DEFAULT_KEEP_TOP)
        note = {"keep_top": DEFAULT_KEEP_TOP, "languages": list(self.request.languages), "texts": len(texts),
                "texts_sha256": hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16],
                "kept": len(ids), "of": len(vocabulary.tokens)}
        write_kept(self.work, KeptChoice(ids, len(vocabulary.tokens), vocabulary.tokens, note))
        self.progress.say(f"kept vocabulary: {len(ids):,} of {len(vocabulary.tokens):,} tokens "
                          f"({len(self.request.languages)} languages' data)")
        return {"kept": len(ids), "of": len(vocabulary.tokens)}

    def convert(self) -> str:
        rc = convert_main([self.state.done["base"], "--output", str(self.converted), "--type", self.request.quant,
                           "--force", "--name", f"alma-{self.base.name}"])
        if rc != 0:
            raise RuntimeError(f"alma-convert failed on {self.state.done['base']} (exit {rc})")
        return str(self.converted)

    def trim(self) -> dict[str, Any]:
        """The staging bundle: the converted base trimmed to the kept set as base.gguf (with alma.base and
        alma.licence), and its bundle.json (no adapters yet). A new base makes any earlier adapter useless, so the folder starts empty."""
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir(parents=True)
        reader = open_gguf(self.converted)
        ids = read_kept(self.work)
        assert ids is not None, "the kept step writes kept_tokens.json"
        trimmed = self.work / f"base.{self.request.quant}.trimmed.gguf"
        result = trim_gguf(self.converted, trimmed, ids, force=True, reader=reader,
                           note={"keep_top": DEFAULT_KEEP_TOP, "languages": list(self.request.languages),
                                 "chosen_by": "build-translator --bundle"})
        self.progress.say(result.summary())
        # The base's card (Models view, packaging's licence files) reads these, as for a merged translator.
        copy_with_metadata(trimmed, self.staging / "base.gguf", {
            AlmaKey.BASE: self.base.name, AlmaKey.LICENCE: self.base.licence, "general.license": self.base.licence,
        }, force=True)
        trimmed.unlink()
        architecture = str(reader.get_field("general.architecture").contents())
        write_bundle(Bundle(name=self.request.output.name.removesuffix(SUFFIX),
                            base=new_base(self.staging, "base.gguf", architecture), adapters=[], root=self.staging))
        return {"kept": result.kept, "of": result.total, "bytes": result.bytes_after}

    def adapters_left(self) -> list[str]:
        if not self.staging.is_dir() or not self.state.is_done("trim"):
            return list(self.request.adapter_languages)
        try:
            done = set(load_bundle(self.staging, check_files=False).languages)
        except BundleError:
            return list(self.request.adapter_languages)  # add-language names what is wrong with it
        return [lang for lang in self.request.adapter_languages if lang not in done]

    def adapters(self) -> dict[str, Any]:
        """One adapter per language by `alma-train add-language xx --bundle` into the staging bundle, each with
        its peft folder beside it (what the Tune view continues from). A language whose adapter the bundle holds
        already (from a run that stopped later) is not trained again; a stopped one resumes from its checkpoint."""
        left = self.adapters_left()
        started, trained = time.time(), 0
        for number, lang in enumerate(self.request.adapter_languages, 1):
            label = f"adapter {number}/{len(self.request.adapter_languages)} {lang}"
            run_dir = self.work / "adapters" / lang
            if lang not in left:
                self.progress.say(f"{label}: in the bundle from an earlier run")
            else:
                self.progress.say(f"{label}: training")
                add_language(lang, run_dir, base=self.base.model, bundle=self.staging, data_dir=self.data_dir,
                             config=self.request.recipe, max_steps=self.request.max_steps, eval_limit=0)
                trained += 1
                pace = (time.time() - started) / trained
                self.progress.estimate("adapters", pace * (len(left) - trained))
            entry = next(a for a in load_bundle(self.staging, check_files=False).adapters if a.language == lang)
            peft = self.staging / peft_folder(entry.file)
            if not (peft / PEFT_FILES[0]).is_file():
                with atomic_folder(peft) as folder:
                    for name in PEFT_FILES:
                        shutil.copyfile(run_dir / name, folder / name)
        bundle = load_bundle(self.staging, check_files=False)
        return {a.language: {"file": a.file, "sha256": a.sha256, "steps": a.trained.get("steps")}
                for a in bundle.adapters}

    def evaluate(self) -> dict[str, Any]:
        """The staging bundle scored by `alma-train evaluate --model X.bundle` (each direction with its adapter);
        each direction's out-of-source score goes into its adapter's `scores` in bundle.json."""
        scores = _evaluate(self.staging, self.data_dir, self.pairs, self.directions, self.request.eval_limit,
                           self.request.eval_max_new_tokens, self.work / "eval", self.progress)
        label, set_name = SCORED_SET
        if label not in scores:
            label, set_name = "in-source", "test"
        measured = scores.get(label, {}).get("directions", {})
        bundle = load_bundle(self.staging, check_files=False)
        adapters = [replace(a, scores={d: Score(set_name, measured[d]["chrf"], measured[d]["segments"])
                                       for d in a.directions if d in measured})
                    for a in bundle.adapters]
        write_bundle(replace(bundle, adapters=adapters))
        return scores

    def install(self) -> str:
        """A copy of the staging bundle, checked whole (every file and sha256), replaces the output folder:
        built beside it under a hidden name and renamed, so an existing bundle stays until the new one is
        complete."""
        output = Path(self.request.output)
        with atomic_folder(output) as folder:
            shutil.copytree(self.staging, folder, dirs_exist_ok=True)
            load_bundle(folder)
        self.progress.say(f"installed {output} ({load_bundle(output, check_files=False).size() / 1e6:.1f} MB)")
        return str(output)
