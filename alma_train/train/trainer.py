"""The one trainer of both ALMA stages (transformers' Trainer + peft, driven by a TrainConfig), read top to
bottom: check inputs before anything is written, load data and model, train, save, summarise
(docs/training.md)."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alma_core.atomic import write_text_atomic
from alma_train.data.parallel import directions_of, read_parallel
from alma_train.train.base_export import resolve_model_dir
from alma_train.train.config import ConfigError, TrainConfig
from alma_train.train.kept_loss import KeptVocabulary, kept_vocabulary_loss
from alma_train.train.restrict import check_examples_kept, choose_kept, write_kept

# Files that make up a tokenizer, copied next to every model or adapter we save (we do not round-trip
# through tokenizer.save_pretrained: see ENV.md on what it writes for GGUF-born tokenizers).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                   "added_tokens.json", "chat_template.jinja")
LOG_FILE = "train_log.jsonl"
SUMMARY_FILE = "run_summary.json"
# What alma-train stage1, stage2 and a tuning run's stage2 step print when they end.
PRINTED_SUMMARY = ("global_step", "train_loss", "initial_eval_loss", "best_eval_loss", "best_checkpoint")


@dataclass
class StageData:
    train: Any
    valid: Any | None
    description: dict[str, Any]


def check_output_dir(config: TrainConfig) -> Path:
    out = Path(config.output_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"setting 'output_dir' names a file, not a folder: {out}")
    return out


def copy_tokenizer_files(source: Path, target: Path) -> list[str]:
    copied = []
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
            copied.append(name)
    return copied


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# --- data -------------------------------------------------------------------------------------------


def read_stage2_pairs(config: TrainConfig) -> tuple[list, list]:
    """Train and validation ParallelPairs; errors name the setting, file or line at fault."""
    if not config.pairs:
        raise ConfigError("setting 'pairs' is empty: name the language pairs to train, e.g. [de-en, cs-en]")
    if not config.train_files:
        raise ConfigError("setting 'train_files' is empty")
    directions = directions_of(config.pairs, config.both_directions)
    train_paths = [config.resolve_data_path(p) for p in config.train_files]
    valid_paths = [config.resolve_data_path(p) for p in config.valid_files]
    train = list(read_parallel(train_paths, directions, config.max_train_records_per_source))
    if not train:
        raise ConfigError(f"the training corpus is empty: no pair of {config.pairs} in "
                          f"{', '.join(map(str, train_paths))}")
    train = repeat_pairs(train, config.pair_repeats, config.pairs)
    valid = list(read_parallel(valid_paths, directions))
    if valid_paths and not valid:
        raise ConfigError(f"the validation corpus is empty: no pair of {config.pairs} in "
                          f"{', '.join(map(str, valid_paths))}")
    if config.max_valid_examples and len(valid) > config.max_valid_examples:
        # Spread the kept examples over all directions rather than taking the first file's.
        step = len(valid) / config.max_valid_examples
        valid = [valid[int(i * step)] for i in range(config.max_valid_examples)]
    return train, valid


def repeat_pairs(train: list, repeats: dict[str, int], pairs: list[str]) -> list:
    """Each example of a pair in `repeats` (both its directions) `n` times in all: oversampling, so
    that a language the base knows least gets more of the steps."""
    if not repeats:
        return train
    known = {frozenset(p.split("-")): p for p in pairs}
    times: dict[frozenset, int] = {}
    for pair, n in repeats.items():
        key = frozenset(pair.split("-"))
        if key not in known:
            raise ConfigError(f"setting 'pair_repeats' names {pair!r}, which is not in 'pairs' ({', '.join(pairs)})")
        if n < 1:
            raise ConfigError(f"setting 'pair_repeats': {pair} must repeat at least once, got {n}")
        times[key] = n
    out: list = []
    for example in train:
        out.extend([example] * times.get(frozenset((example.src_lang, example.tgt_lang)), 1))
    return out


def build_stage2_data(config: TrainConfig, tokenizer, train_pairs: list, valid_pairs: list) -> StageData:
    from alma_train.train.examples import TokenizedDataset, tokenize_pairs

    def tokenize(pairs: list) -> TokenizedDataset:
        return TokenizedDataset(tokenize_pairs(pairs, tokenizer, config.max_source_tokens, config.max_target_tokens))

    train = tokenize(train_pairs)
    valid = tokenize(valid_pairs).sorted_by_length() if valid_pairs else None
    lengths = train.lengths()
    description = {
        "train_examples": len(train),
        "valid_examples": len(valid) if valid else 0,
        "directions": sorted({f"{p.src_lang}-{p.tgt_lang}" for p in train_pairs}),
        "train_tokens": sum(lengths),
        "train_target_tokens_per_epoch": sum(e.trained_tokens for e in train.examples),
        "max_example_tokens": max(lengths),
    }
    return StageData(train, valid, description)


def build_stage1_data(config: TrainConfig, tokenizer) -> StageData:
    from alma_train.data.monolingual import PackedMonolingualDataset

    sources = {lang: config.resolve_data_path(path) for lang, path in config.monolingual.items()}
    dataset = PackedMonolingualDataset(sources, config.sampling, tokenizer, config.block_size, config.seed)
    description = {"languages": sorted(sources), "sampling": config.sampling, "block_size": config.block_size,
                   "train_tokens": config.max_steps * config.per_device_train_batch_size
                   * config.gradient_accumulation_steps * config.block_size}
    return StageData(dataset, None, description)


def check_stage1_inputs(config: TrainConfig) -> None:
    from alma_train.data.monolingual import check_sources

    sources = {lang: config.resolve_data_path(path) for lang, path in config.monolingual.items()}
    check_sources(sources, config.sampling)


# --- model ------------------------------------------------------------------------------------------


def precision_of(config: TrainConfig) -> str:
    """`auto`: bf16 mixed precision where the hardware computes bf16 natively (a CUDA GPU that supports
    it, or a CPU with AVX512-BF16 or AMX), fp32 otherwise; an explicit setting is taken as it is."""
    import torch

    if config.precision != "auto":
        return config.precision
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware. Without it (most laptops before 2022) torch emulates
    bf16 and autocast makes training slower, not faster; with it a matrix product runs about 2.3x as fast
    as in fp32 (measured on a 2-core AMD EPYC, docs/training.md#efficiency)."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def load_model(config: TrainConfig, model_dir: Path, precision: str):
    import torch
    from transformers import AutoModelForCausalLM

    attn = "sdpa" if config.attn_implementation == "auto" else config.attn_implementation
    # Weights stay fp32 for mixed precision (autocast does the bf16 math, the optimizer keeps fp32
    # masters); loading in bf16 directly is only done for LoRA, whose base weights are frozen.
    dtype = torch.bfloat16 if (precision == "bf16" and config.finetune == "lora") else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation=attn,
                                                 use_safetensors=True, trust_remote_code=False)
    if config.finetune == "full" and config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
        if model.get_output_embeddings() is not None:
            model.get_output_embeddings().weight.requires_grad_(False)
    if config.finetune == "lora":
        from peft import LoraConfig, PeftModel, get_peft_model

        if config.gradient_checkpointing:
            # Frozen embeddings give checkpointed blocks inputs without grad; this re-enables it.
            model.enable_input_require_grads()
        if config.lora_init:
            # Continue an existing adapter (its own r, alpha and targets), trainable, instead of a fresh one.
            return PeftModel.from_pretrained(model, config.lora_init, is_trainable=True)
        lora = LoraConfig(task_type="CAUSAL_LM", r=config.lora_r, lora_alpha=config.lora_alpha,
                          lora_dropout=config.lora_dropout, target_modules=list(config.lora_target_modules))
        model = get_peft_model(model, lora)
    return model


def count_parameters(model) -> dict[str, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable}


# --- training ---------------------------------------------------------------------------------------


def training_arguments(config: TrainConfig, out: Path, precision: str, has_eval: bool):
    import torch
    from transformers import TrainingArguments

    eval_strategy = "steps" if has_eval else "no"
    return TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=config.per_device_train_batch_size,
        per_device_eval_batch_size=config.per_device_eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_ratio=config.warmup_ratio,
        weight_decay=config.weight_decay,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        group_by_length=config.group_by_length and config.stage == "stage2",
        gradient_checkpointing=config.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=not torch.cuda.is_available(),
        eval_strategy=eval_strategy,
        eval_steps=config.eval_steps if has_eval else None,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        save_safetensors=True,
        load_best_model_at_end=config.load_best_model_at_end and has_eval,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=config.logging_steps,
        report_to=[],
        seed=config.seed,
        data_seed=config.seed,
        dataloader_num_workers=config.dataloader_num_workers,
        remove_unused_columns=False,
        # Only the loss is needed from evaluation; keeping logits (vocab 49k per token) costs GBs.
        prediction_loss_only=True,
        ddp_find_unused_parameters=False,
        disable_tqdm=False,
    )


def _loss_logger_class():
    from transformers import TrainerCallback

    class JsonlLossLogger(TrainerCallback):
        """Appends every Trainer log record (loss, lr, eval_loss, ...) to output_dir/train_log.jsonl."""

        def __init__(self, path: Path):
            self.path = path

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                record = {"step": state.global_step, "epoch": state.epoch, "time": time.time(), **logs}
                with open(self.path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record) + "\n")

    return JsonlLossLogger


def _logged_initial_eval(log: Path) -> float | None:
    if not log.is_file():
        return None
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("step") == 0 and "eval_loss" in record:
            return record["eval_loss"]
    return None


def last_complete_checkpoint(out: Path) -> str | None:
    """The newest checkpoint-N in out that was saved completely, or None.

    The Trainer writes trainer_state.json last, so a checkpoint without it was cut short by a kill;
    such newer, partial folders are removed so that the resumed run can save there again.
    """
    complete, partial = [], []
    for path in out.glob("checkpoint-*"):
        suffix = path.name.split("-", 1)[1]
        if path.is_dir() and suffix.isdigit():
            (complete if (path / "trainer_state.json").is_file() else partial).append((int(suffix), path))
    last = max(complete, default=None)
    if os.environ.get("RANK", "0") == "0":  # one process cleans up in a distributed run
        for step, path in partial:
            if last is None or step > last[0]:
                shutil.rmtree(path, ignore_errors=True)
    return str(last[1]) if last else None


def _trainer_class():
    from torch.utils.data import SequentialSampler
    from transformers import Trainer

    from alma_train.train.target_loss import target_only_loss

    class AlmaTrainer(Trainer):
        """Trainer whose evaluation order is fixed and whose loss skips logits nobody trains.

        With group_by_length, transformers also draws evaluation batches at random; the batch mix
        then changes eval_loss from one evaluation to the next (the loss is averaged per batch), which
        would make keep-best pick checkpoints by noise. The validation set is sorted by length
        instead (TokenizedDataset.sorted_by_length) and read in order.

        The loss projects only the trained positions onto the vocabulary (alma_train.train.target_loss):
        with Gemma 3's 262k-token vocabulary the full logits would dominate memory and time; with
        restrict_vocab only onto the kept rows (alma_train.train.kept_loss). Under DDP/FSDP the model
        must be called through its wrapper (gradient sync hooks on forward), so there the standard
        (full-vocabulary) loss is used.
        """

        kept_vocabulary: KeptVocabulary | None = None  # restrict_vocab: the loss over these rows only

        def _get_eval_sampler(self, eval_dataset):
            return SequentialSampler(eval_dataset) if eval_dataset is not None else None

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if model is not self.model or "labels" not in inputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            if not self.model_accepts_loss_kwargs:
                num_items_in_batch = None  # the Trainer then divides by the accumulation steps itself
            if self.kept_vocabulary is not None:
                loss = kept_vocabulary_loss(model, inputs["input_ids"], inputs.get("attention_mask"),
                                            inputs["labels"], self.kept_vocabulary, num_items_in_batch)
            else:
                loss = target_only_loss(model, inputs["input_ids"], inputs.get("attention_mask"),
                                        inputs["labels"], num_items_in_batch)
            if (num_items_in_batch is not None and self.args.average_tokens_across_devices
                    and self.accelerator.num_processes > 1):
                loss = loss * self.accelerator.num_processes
            return (loss, (loss,)) if return_outputs else loss

    return AlmaTrainer


def run_training(config: TrainConfig, callbacks: list | None = None) -> dict[str, Any]:
    """Run one stage end to end; returns (and writes) the run summary.

    callbacks: extra transformers TrainerCallbacks (build-translator reports its progress with one).
    """
    # 1. Check every input before writing anything.
    out = check_output_dir(config)
    model_dir = resolve_model_dir(config.model)
    if config.lora_init and not (Path(config.lora_init) / "adapter_config.json").is_file():
        raise ConfigError(f"setting 'lora_init': {config.lora_init} is not a peft adapter folder "
                          "(no adapter_config.json)")
    if config.stage == "stage2":
        train_pairs, valid_pairs = read_stage2_pairs(config)
    else:
        check_stage1_inputs(config)

    from alma_train.train.examples import PaddingCollator
    from alma_train.train.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(model_dir)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    # 2. Data (and with restrict_vocab the kept vocabulary, every trained label checked against it).
    if config.stage == "stage2":
        data = build_stage2_data(config, tokenizer, train_pairs, valid_pairs)
    else:
        data = build_stage1_data(config, tokenizer)
    kept = choose_kept(config, model_dir, tokenizer) if config.restrict_vocab else None
    if kept is not None and config.stage == "stage2":
        check_examples_kept(data.train.examples, train_pairs, kept)

    # 3. Model. Seeded first: peft draws the LoRA A matrices (kaiming-uniform) from torch's global RNG
    # when get_peft_model builds the adapter, before the Trainer seeds anything, so without this two
    # runs of the same config started from different adapters (issue 15: different weights per run).
    # The Trainer seeds again in its __init__, which keeps dropout and the length-grouped batch order
    # (drawn from the global RNG too) the same from run to run.
    from transformers import set_seed

    set_seed(config.seed)
    precision = precision_of(config)
    model = load_model(config, model_dir, precision)
    params = count_parameters(model)

    # 4. Train, resuming from the last checkpoint of an earlier run of the same command.
    out.mkdir(parents=True, exist_ok=True)
    args = training_arguments(config, out, precision, has_eval=data.valid is not None)
    trainer = _trainer_class()(model=model, args=args, train_dataset=data.train, eval_dataset=data.valid,
                               data_collator=PaddingCollator(pad_token_id=pad_id,
                                                             pad_to_multiple_of=config.pad_to_multiple_of),
                               callbacks=[_loss_logger_class()(out / LOG_FILE), *(callbacks or [])])
    if kept is not None:
        trainer.kept_vocabulary = KeptVocabulary.of(kept.ids, kept.vocab_size, kept.names)
        if trainer.is_world_process_zero():
            write_kept(out, kept)
    last = last_complete_checkpoint(out) if config.resume else None
    initial_eval = None
    if data.valid is not None and config.eval_at_start:
        # A resumed run reports the evaluation its first run made before training.
        initial_eval = trainer.evaluate()["eval_loss"] if last is None else _logged_initial_eval(out / LOG_FILE)
    started = time.time()
    if last is not None and 0 < config.max_steps <= int(Path(last).name.split("-")[1]):
        # A rerun of a finished command: transformers would train one step past max_steps when
        # resumed from a checkpoint at max_steps, so only finish the run (best or last weights).
        from transformers import TrainerState

        trainer.state = TrainerState.load_from_json(str(Path(last) / "trainer_state.json"))
        best = trainer.state.best_model_checkpoint if args.load_best_model_at_end else None
        trainer._load_from_checkpoint(best if best and Path(best).is_dir() else last)
        train_loss = None
    else:
        train_loss = trainer.train(resume_from_checkpoint=last).training_loss
    elapsed = time.time() - started

    # 5. Save the final (best, when evaluating) model or adapter with its tokenizer.
    trainer.save_model(str(out))
    final_eval = trainer.evaluate()["eval_loss"] if data.valid is not None else None
    summary = {
        "stage": config.stage,
        "model": str(model_dir),
        "finetune": config.finetune,
        "precision": precision,
        "resumed_from": last,
        "global_step": trainer.state.global_step,
        "train_loss": train_loss,
        "train_seconds": round(elapsed, 2),
        "initial_eval_loss": initial_eval,
        "final_eval_loss": final_eval,
        "best_eval_loss": trainer.state.best_metric,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "parameters": params,
        "data": data.description,
        "kept_vocabulary": kept.note if kept is not None else None,
        "world_size": args.world_size,
        "config": config.to_dict(),
    }
    if trainer.is_world_process_zero():
        copy_tokenizer_files(model_dir, out)
        write_json_atomic(out / SUMMARY_FILE, summary)
    return summary
