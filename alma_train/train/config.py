"""Training configuration: one dataclass, filled from a YAML file or a shipped preset plus overrides.

Settings, presets and command-line overrides: docs/training.md#configs-and-presets.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

STAGES = ("stage1", "stage2")
FINETUNE_MODES = ("full", "lora")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the setting at fault."""


@dataclass
class TrainConfig:
    """Every setting of a stage-1 or stage-2 run (see docs/training.md for each)."""

    stage: str = "stage2"
    # A local HF model folder (safetensors), or "default" for the exported SmolLM2-135M-Instruct.
    model: str = "default"
    output_dir: str = ""
    # Relative data paths are resolved against data_dir.
    data_dir: str = "."

    # Stage 2: parallel data. Each pair gives both directions unless both_directions is false.
    pairs: list[str] = field(default_factory=list)
    both_directions: bool = True
    train_files: list[str] = field(default_factory=list)
    valid_files: list[str] = field(default_factory=list)
    max_source_tokens: int = 256
    max_target_tokens: int = 256
    max_valid_examples: int = 0  # 0: the whole validation set
    # Data mix of the training files. A cap on the records each source project gives per file (the
    # JSON Lines "source" key; 0: no cap), so one large catalog does not set the model's vocabulary;
    # and whole repeats of a pair's examples (e.g. {is-en: 2}) for a language the base knows least.
    max_train_records_per_source: int = 0
    pair_repeats: dict[str, int] = field(default_factory=dict)

    # Stage 1: monolingual data, one file per language, and the sampling probabilities.
    monolingual: dict[str, str] = field(default_factory=dict)
    sampling: dict[str, float] = field(default_factory=dict)
    block_size: int = 512

    # Full-weight or LoRA fine-tuning (paper: r 16, alpha 32, dropout 0.05 on down_proj).
    finetune: str = "full"
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: list[str] = field(default_factory=lambda: ["down_proj"])
    # A peft adapter folder to start the LoRA from (tuning a bundle's language adapter further): its r, alpha
    # and target modules replace the lora_* settings above, so the new adapter has the old one's shape.
    lora_init: str = ""
    # Full fine-tuning only: keep the token embeddings (and a tied output layer) as they are. For a
    # small multilingual model they are most of the weights (Gemma 3 270M: 168M of 268M), and a small
    # stage-2 corpus touches a sliver of the vocabulary.
    freeze_embeddings: bool = False
    # Train the output layer only over the tokens the shipped (trimmed) model keeps, chosen on the
    # training data by trim-vocab's own function: the loss normalises over those rows and the other
    # rows cost nothing (docs/training.md#efficiency). SentencePiece vocabularies (Gemma) only.
    restrict_vocab: bool = False
    # restrict_vocab over a kept set fixed elsewhere instead of chosen on this run's data: a GGUF whose
    # vocabulary is the kept set (a bundle's trimmed base: an adapter must train over the tokens that
    # base has) or a kept_tokens.json an earlier run wrote. Relative paths: against data_dir.
    kept_vocabulary: str = ""

    # Optimisation.
    learning_rate: float = 2e-5
    lr_scheduler_type: str = "inverse_sqrt"
    warmup_ratio: float = 0.01
    weight_decay: float = 0.01
    per_device_train_batch_size: int = 4
    per_device_eval_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    num_train_epochs: float = 1.0
    max_steps: int = -1
    # Batch examples of similar length instead of padding everything to one length.
    group_by_length: bool = True
    # Round each batch's padded length up to a multiple of this (fewer distinct tensor shapes).
    pad_to_multiple_of: int = 16
    gradient_checkpointing: bool = False
    # auto: bf16 on a GPU that supports it, fp32 on CPU.
    precision: str = "auto"
    # auto: sdpa (PyTorch's fused attention; flash kernels on GPU).
    attn_implementation: str = "auto"
    seed: int = 42

    # Evaluation, checkpoints and logging.
    eval_steps: int = 100
    eval_at_start: bool = True
    save_steps: int = 100
    save_total_limit: int = 2
    load_best_model_at_end: bool = True
    logging_steps: int = 10
    dataloader_num_workers: int = 0
    # Resume from the last checkpoint in output_dir when there is one (a rerun continues).
    resume: bool = True

    def resolve_data_path(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else Path(self.data_dir).expanduser() / candidate

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELD_TYPES = typing.get_type_hints(TrainConfig)
FIELD_NAMES = tuple(f.name for f in dataclasses.fields(TrainConfig))


def preset_names() -> list[str]:
    """Names of the presets shipped in alma_train/presets/."""
    folder = resources.files("alma_train") / "presets"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read_config_source(name_or_path: str) -> tuple[dict, str]:
    path = Path(name_or_path).expanduser()
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        text, origin = path.read_text(encoding="utf-8"), str(path)
    else:
        preset = resources.files("alma_train") / "presets" / f"{name_or_path}.yaml"
        if not preset.is_file():
            raise ConfigError(f"no config file or preset named {name_or_path!r} "
                              f"(presets: {', '.join(preset_names())})")
        text, origin = preset.read_text(encoding="utf-8"), f"preset {name_or_path}"
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping of settings")
    return data, origin


def _coerce(name: str, value: Any, origin: str) -> Any:
    """Check (and gently convert) one setting against its declared type."""
    expected = FIELD_TYPES[name]
    where = f"{origin}: setting {name!r}"
    origin_type = typing.get_origin(expected)
    if expected is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    if expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if expected is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)  # YAML 1.1 reads "2e-5" as a string
            except ValueError:
                pass
        raise ConfigError(f"{where} must be a number, got {value!r}")
    if expected is str:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where} must be a string, got {value!r}")
    if origin_type is list:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return [str(v) for v in value]
    if origin_type is dict:
        value_type = typing.get_args(expected)[1]
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping (e.g. {{de: 0.5, en: 0.5}}), got {value!r}")
        try:
            return {str(k): value_type(v) for k, v in value.items()}
        except (TypeError, ValueError):
            raise ConfigError(f"{where} has a value that is not a {value_type.__name__}: {value!r}") from None
    if isinstance(expected, types.UnionType):  # pragma: no cover - no union fields today
        return value
    raise ConfigError(f"{where}: unsupported type {expected}")  # pragma: no cover


def parse_override(text: str) -> Any:
    """A command-line value read as YAML ("2" -> 2, "true" -> True, "[a, b]" -> list)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def load_config(name_or_path: str | None, overrides: dict[str, Any] | None = None,
                stage: str | None = None) -> TrainConfig:
    """The config from a preset/file (or the defaults) with overrides applied and checked."""
    values: dict[str, Any] = {}
    origin = "defaults"
    if name_or_path:
        data, origin = _read_config_source(name_or_path)
        for key, value in data.items():
            if key not in FIELD_NAMES:
                raise ConfigError(f"{origin}: unknown setting {key!r}")
            values[key] = _coerce(key, value, origin)
    for key, value in (overrides or {}).items():
        if key not in FIELD_NAMES:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = _coerce(key, value, "command line")
    config = TrainConfig(**values)
    if stage is not None:
        if name_or_path and "stage" in values and values["stage"] != stage:
            raise ConfigError(f"{origin} is a {values['stage']} config; run it with `alma-train {values['stage']}`")
        config.stage = stage
    check_config(config)
    return config


def check_config(config: TrainConfig) -> None:
    """Value checks that need no files (files are checked by the trainer before it writes)."""
    if config.stage not in STAGES:
        raise ConfigError(f"setting 'stage' must be one of {STAGES}, got {config.stage!r}")
    if not config.output_dir:
        raise ConfigError("setting 'output_dir' is required (e.g. --output_dir runs/demo)")
    if config.finetune not in FINETUNE_MODES:
        raise ConfigError(f"setting 'finetune' must be one of {FINETUNE_MODES}, got {config.finetune!r}")
    if config.precision not in PRECISIONS:
        raise ConfigError(f"setting 'precision' must be one of {PRECISIONS}, got {config.precision!r}")
    for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
                 "max_source_tokens", "max_target_tokens", "block_size", "logging_steps", "eval_steps",
                 "save_steps", "lora_r", "pad_to_multiple_of"):
        if getattr(config, name) < 1:
            raise ConfigError(f"setting {name!r} must be at least 1, got {getattr(config, name)}")
    if (config.load_best_model_at_end and config.stage == "stage2" and config.valid_files
            and config.save_steps % config.eval_steps):
        raise ConfigError("setting 'save_steps' must be a multiple of 'eval_steps' to keep the best checkpoint")
    if config.max_train_records_per_source < 0:
        raise ConfigError("setting 'max_train_records_per_source' must be 0 (no cap) or more, "
                          f"got {config.max_train_records_per_source}")
    if config.freeze_embeddings and config.finetune != "full":
        raise ConfigError("setting 'freeze_embeddings' is for full fine-tuning (LoRA never trains embeddings)")
    if config.lora_init and config.finetune != "lora":
        raise ConfigError("setting 'lora_init' (an adapter to start from) needs 'finetune: lora'")
    if config.kept_vocabulary and not config.restrict_vocab:
        raise ConfigError("setting 'kept_vocabulary' needs 'restrict_vocab: true' (it fixes the set restricted to)")
    if config.stage == "stage1" and config.max_steps < 1:
        raise ConfigError("stage 1 streams an endless mix of languages: set 'max_steps'")
