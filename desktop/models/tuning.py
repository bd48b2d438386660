"""On-device tuning as the app sees it, without Qt and torch: the request, the run folder, its step commands,
each step `alma-train tune step RUN_DIR NAME` as a child process the Tune view starts (docs/tuning.md)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import yaml

from alma_core.atomic import write_text_atomic
from alma_core.bundle import Bundle, BundleAdapter, bundle_root, is_bundle, load_bundle
from alma_core.gguf_file import ModelLoadError, read_model_info
from alma_core.languages import parse_pair
from alma_core.models import (
    BASES,
    DefaultModelMissingError,
    get_base,
    is_base_name,
    resolve_translation_model,
)
from alma_core.parallel_files import ParallelRecord, read_records
from alma_core.paths import tuning_runs_dir
from desktop.memory.store import MEMORY_MIN_PAIRS
from desktop.models.card import ORIGIN_LABELS, base_of_gguf
from desktop.models.lineage import CORRECTIONS_ORIGIN

TRAINING_MODULES = ("torch", "transformers", "peft")
INSTALL_HINT = 'pip install "alma-local[train]"'
QUANT_TYPES = ("q8_0", "q4_k_m")
FINETUNE_MODES = ("lora", "full")
PRESETS = ("quick", "workstation")  # what each means for stage 2: alma_train.tune.TRAIN_PRESETS
SUPPORTED_SUFFIXES = (".tmx", ".tsv", ".jsonl", ".po")
# Every step a run can have, in their order; a run has the ones its base and fine-tuning mode need.
# A bundle's run has import-gguf (its base), stage2, convert-adapter (instead of merge and convert) and the rest.
TUNE_STEPS = ("import-gguf", "convert-base", "stage2", "merge", "convert", "convert-adapter", "evaluate-base",
              "evaluate-tuned", "compare", "finish")
STATE_FILE = "tune-state.json"  # the steps done: written by alma-train tune step (alma_train.pipeline)


class TuningError(ValueError):
    """A bad tuning request (file, pair, setting), named in one line."""


def missing_training_modules() -> list[str]:
    """The training extra's modules that are not installed (found without importing them)."""
    return [name for name in TRAINING_MODULES if importlib.util.find_spec(name) is None]


def runs_root() -> Path:
    return tuning_runs_dir()


# --- the user's data -----------------------------------------------------------------------------
def read_data(path: Path) -> list[ParallelRecord]:
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise TuningError(f"{path}: not a TMX, TSV, jsonl or .po file")
    if not path.is_file():
        raise TuningError(f"{path}: no such file")
    return list(read_records(path))


def detect_languages(path: Path) -> list[str]:
    """Language codes the file gives, most frequent first (TMX xml:lang, TSV header, jsonl keys, .po)."""
    counts: dict[str, int] = {}
    for record in read_data(path):
        for lang, text in record.texts.items():
            if text:
                counts[lang] = counts.get(lang, 0) + 1
    return sorted(counts, key=lambda lang: (-counts[lang], lang))


def detect_pairs(path: Path) -> list[str]:
    """xx-en for every other language when English is there (the ALMA setup), else the first two."""
    langs = detect_languages(path)
    if len(langs) < 2:
        raise TuningError(f"{path}: needs segments in two languages, found {langs or 'none'}")
    if "en" in langs:
        return [f"{lang}-en" for lang in langs if lang != "en"]
    return [f"{langs[0]}-{langs[1]}"]


def parse_pairs(text: str | Sequence[str]) -> list[str]:
    items = text.split(",") if isinstance(text, str) else list(text)
    pairs = []
    for item in filter(None, (part.strip() for part in items)):
        try:
            src, tgt = parse_pair(item)
        except ValueError as exc:  # UnknownLanguageError is a ValueError too
            raise TuningError(f"language pair {item!r}: {exc}") from exc
        pairs.append(f"{src}-{tgt}")
    if not pairs:
        raise TuningError("no language pair given (e.g. de-en)")
    return pairs


def directions_of(pairs: Sequence[str]) -> list[str]:
    """Both directions of each pair, as training and evaluation use them: de-en -> de-en, en-de."""
    return [d for pair in pairs for d in (pair, "-".join(reversed(pair.split("-"))))]


def split_heldout(records: Sequence[ParallelRecord], pairs: Sequence[str], heldout_fraction: float = 0.1,
                  max_heldout: int = 200) -> tuple[list[dict], list[dict]]:
    """(train, held-out) rows as {lang: text}; the same data always gives the same split.

    A record goes to the held-out slice by a hash of its text, not by position or a random draw, so
    rerunning with the same file (or the file with rows appended) keeps the held-out slice unseen.
    """
    langs = sorted({lang for pair in pairs for lang in pair.split("-")})
    rows = []
    for record in records:
        row = {lang: record.texts[lang] for lang in langs if record.texts.get(lang)}
        if any(all(lang in row for lang in pair.split("-")) for pair in pairs):
            rows.append(row)
    if len(rows) < 4:
        raise TuningError(f"only {len(rows)} usable segments for {', '.join(pairs)}: need at least 4")
    n_heldout = max(2, min(max_heldout, round(len(rows) * heldout_fraction)))

    def key(row: dict) -> str:
        return hashlib.sha256(json.dumps(row, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    by_hash = sorted(range(len(rows)), key=lambda i: key(rows[i]))
    heldout_ids = set(by_hash[:n_heldout])
    train = [row for i, row in enumerate(rows) if i not in heldout_ids]
    heldout = [row for i, row in enumerate(rows) if i in heldout_ids]
    return train, heldout


def write_jsonl(path: Path, rows: Sequence[dict]) -> None:
    write_text_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


# --- the plan -------------------------------------------------------------------------------------
@dataclass
class TuningRequest:
    """What the user chose in the Tune view."""

    data_file: Path
    pairs: list[str]
    base_model: str = "default"  # "default" (the app's model), a base name, an HF model folder, or a .gguf file
    finetune: str = "lora"
    preset: str = "quick"
    quant: str = "q8_0"
    train_overrides: dict = field(default_factory=dict)  # alma-train settings, e.g. {"max_steps": 2}
    eval_limit: int = 20  # held-out segments per direction
    eval_max_new_tokens: int = 64
    heldout_fraction: float = 0.1
    origin: str | None = None  # where the data came from, for the lineage: None = the data file's name


@dataclass
class Step:
    name: str
    args: list[str]  # argv after the Python interpreter


def step_args(run_dir: Path, name: str) -> list[str]:
    """The child process of one step: `alma-train tune step RUN_DIR NAME` (alma_train.tune)."""
    return ["-m", "alma_train.cli", "tune", "step", str(run_dir), name]


@dataclass(frozen=True)
class BundleTarget:
    """What a run on a bundle writes: the next generation of one language's adapter, inside the bundle.

    Paths are relative to the bundle folder, as bundle.json records them; parent is None for a language the
    bundle has no adapter for yet (the run trains a fresh one)."""

    root: Path
    language: str
    adapter: str  # adapters/<xx>.g<N>.lora.gguf
    peft: str  # adapters/<xx>.g<N>.peft: the trainable adapter beside it, which the next run starts from
    parent: str | None
    parent_peft: str | None

    def to_json(self) -> dict:
        return {**asdict(self), "root": str(self.root)}

    @classmethod
    def from_json(cls, data: dict) -> BundleTarget:
        return cls(**{**data, "root": Path(data["root"])})


@dataclass
class TuningPlan:
    """One run folder: what was asked, what the base resolved to, the steps and where things go."""

    request: TuningRequest
    run_dir: Path
    steps: list[Step]
    candidate_gguf: Path
    final_gguf: Path
    base_gguf: Path  # the model evaluated as "before" (and imported, for an import-gguf step)
    base_description: str = ""  # where the base came from, e.g. "default: built by make model"
    done_steps: list[str] = field(default_factory=list)  # steps that succeeded (skipped on resume)
    hf_base: str = ""  # what stage 2 trains: a base name or an HF folder (work/base-hf after import-gguf)
    bundle: BundleTarget | None = None  # set when the model tuned is a bundle: the run writes a new adapter

    @property
    def model_path(self) -> Path:
        """What the run adds to the Models view: the bundle it tuned, or the new GGUF."""
        return self.bundle.root if self.bundle is not None else self.final_gguf

    @property
    def candidate_bundle(self) -> Path:
        """A copy of the bundle with the new adapter in place of its parent, evaluated as "after"."""
        return self.work_dir / "candidate.bundle"

    @property
    def candidate_peft(self) -> Path:
        return self.work_dir / "adapter.peft"

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    def log_path(self, step: Step) -> Path:
        return self.run_dir / "logs" / f"{step.name}.log"

    @property
    def config_path(self) -> Path:
        return self.run_dir / "config.yaml"

    @property
    def work_dir(self) -> Path:
        return self.run_dir / "work"

    @property
    def train_dir(self) -> Path:
        return self.work_dir / "train"

    @property
    def train_file(self) -> Path:
        return self.run_dir / "data" / "train.jsonl"

    @property
    def heldout_file(self) -> Path:
        return self.run_dir / "data" / "heldout.jsonl"

    @property
    def report_dir(self) -> Path:
        return self.run_dir / "report"

    @property
    def report_path(self) -> Path:
        return self.report_dir / "report.json"

    def command(self, step: Step) -> list[str]:
        return [sys.executable, *step.args]


def check_request(request: TuningRequest) -> None:
    if request.finetune not in FINETUNE_MODES:
        raise TuningError(f"finetune must be one of {FINETUNE_MODES}, got {request.finetune!r}")
    if request.preset not in PRESETS:
        raise TuningError(f"preset must be one of {PRESETS}, got {request.preset!r}")
    if request.quant not in QUANT_TYPES:
        raise TuningError(f"quantization must be one of {QUANT_TYPES}, got {request.quant!r}")
    base = request.base_model
    if base != "default" and not is_base_name(base):
        path = Path(base)
        if is_bundle(path) or path.name == "bundle.json":
            return  # checked by load_bundle when the plan is built
        if path.suffix == ".gguf":
            if not path.is_file():
                raise TuningError(f"base model {path}: no such GGUF file")
        elif not (path / "config.json").is_file():
            raise TuningError(f"base model {path}: not an HF model folder (no config.json), a GGUF file or a "
                              f"base name (default, {', '.join(BASES)})")


def resolve_base(base_model: str) -> tuple[str | None, Path, str]:
    """(the base name alma-train takes, or None when the GGUF must be imported first; the GGUF to
    evaluate as "before"; a description) for "default", a base name or a .gguf file.

    "default" is the model the app translates with (resolve_translation_model): a merged translator
    (`alma-train build-translator`) is a GGUF, imported to an HF folder like any GGUF (the bundle `make
    model` builds is tuned as a bundle: _bundle_of); a base resolves to its name, which alma-train exports
    itself (once, into the user cache).
    """
    if is_base_name(base_model) and base_model != "default":
        base = get_base(base_model)
        try:
            return base.name, base.gguf_path(), f"base {base.name}"
        except FileNotFoundError as exc:  # BaseNotInstalledError: says how to install it
            raise TuningError(str(exc)) from None
    if base_model == "default":
        try:
            choice = resolve_translation_model()
        except DefaultModelMissingError as exc:
            raise TuningError(f"base model default: {exc}") from None
        path, description = choice.path, f"default: {ORIGIN_LABELS.get(choice.origin, choice.origin)}"
    else:
        path, description = Path(base_model).resolve(), "GGUF file"
    try:
        registry_base = base_of_gguf(path, read_model_info(path))
    except ModelLoadError:
        registry_base = None  # import-gguf names the problem in its log
    if registry_base is not None:
        return registry_base.name, path, f"{description} (base {registry_base.name})"
    return None, path, description


def new_run_dir(root: Path | None = None, prefix: str = "tune") -> Path:
    """A new folder <root>/<prefix>-<time>[-n] (the tuning runs folder by default), made here so that two
    runs started in the same second never share one."""
    root = Path(root) if root else runs_root()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        run_dir = root / (f"{prefix}-{stamp}" + (f"-{n}" if n else ""))
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            continue
    raise TuningError(f"{root}: cannot make a new run folder")


def build_plan(request: TuningRequest, run_dir: Path) -> TuningPlan:
    """The steps of one run and what its base resolves to; nothing is run or written here."""
    check_request(request)
    request = replace(request, pairs=parse_pairs(request.pairs))
    run_dir = Path(run_dir)
    work = run_dir / "work"
    names: list[str] = []

    base = request.base_model
    bundle = _bundle_of(base)
    if bundle is not None:
        return _bundle_plan(request, run_dir, bundle)
    if base == "default" or is_base_name(base) or base.endswith(".gguf"):
        base_name, base_gguf, base_description = resolve_base(base)
        if base_name is not None:
            hf_base = base_name  # alma-train exports a base's HF folder itself
        else:
            hf_base = str(work / "base-hf")
            names.append("import-gguf")
    else:
        base_description = "HF model folder"
        hf_base, base_gguf = str(Path(base).resolve()), work / f"base.{request.quant}.gguf"
        names.append("convert-base")
    names += ["stage2", *(["merge"] if request.finetune == "lora" else []), "convert", "evaluate-base",
              "evaluate-tuned", "compare", "finish"]
    final = run_dir / f"{run_dir.name}.{request.quant}.gguf"
    return TuningPlan(request, run_dir, [Step(name, step_args(run_dir, name)) for name in names],
                      candidate_gguf=work / final.name, final_gguf=final, base_gguf=base_gguf,
                      base_description=base_description, hf_base=hf_base)


def _bundle_of(base_model: str) -> Path | None:
    """The bundle folder base_model names (itself, its bundle.json, or "default" resolving to one), else None."""
    if base_model == "default":
        try:
            path = resolve_translation_model().path
        except DefaultModelMissingError:
            return None  # resolve_base names the problem
    elif is_base_name(base_model):
        return None
    else:
        path = Path(base_model)
    path = bundle_root(path)
    return path.resolve() if is_bundle(path) else None


def adapter_language(pairs: Sequence[str], where: str) -> str:
    """The one language other than English that every pair has: a bundle's adapter is xx <-> en."""
    languages = {lang for pair in pairs for lang in pair.split("-")}
    others = sorted(languages - {"en"})
    if "en" not in languages or len(others) != 1:
        raise TuningError(f"{where} holds one adapter per language <-> English: tune one language at a time "
                          f"with English (e.g. de-en), not {', '.join(pairs)}")
    return others[0]


def next_generation(bundle: Bundle, language: str) -> int:
    """1 + the highest generation N of adapters/<xx>.g<N>.lora.gguf on disk or in bundle.json (1 for none)."""
    pattern = re.compile(rf"{re.escape(language)}\.g(\d+)\.lora\.gguf")
    names = [path.name for path in (bundle.root / "adapters").glob(f"{language}.g*.lora.gguf")]
    names += [Path(a.file).name for a in bundle.adapters]
    found = [int(m.group(1)) for name in names if (m := pattern.fullmatch(name))]
    return max(found, default=0) + 1


def peft_folder(adapter_file: str) -> str:
    """Where a bundle keeps the peft folder of an adapter: adapters/de.g2.lora.gguf -> adapters/de.g2.peft."""
    return adapter_file.removesuffix(".gguf").removesuffix(".lora") + ".peft"


def _bundle_plan(request: TuningRequest, run_dir: Path, root: Path) -> TuningPlan:
    """A run that trains the next generation of one language's adapter of the bundle at root."""
    try:
        bundle = load_bundle(root)
    except ModelLoadError as exc:  # BundleError names bundle.json and the key
        raise TuningError(str(exc)) from None
    if request.finetune != "lora":
        raise TuningError(f"{root.name}: a bundle is tuned with LoRA (each language is an adapter), not "
                          f"{request.finetune!r} fine-tuning")
    language = adapter_language(request.pairs, root.name)
    current: BundleAdapter | None = next((a for a in bundle.adapters if a.language == language), None)
    parent_peft = None
    if current is not None:
        parent_peft = peft_folder(current.file)
        if not (root / parent_peft / "adapter_config.json").is_file():
            raise TuningError(f"{root / current.file}: no peft folder {parent_peft} beside it, so tuning cannot "
                              "continue this adapter (only adapters a tuning run or add-language wrote keep one)")
    generation = next_generation(bundle, language)
    adapter = f"adapters/{language}.g{generation}.lora.gguf"
    target = BundleTarget(root, language, adapter, peft_folder(adapter), current.file if current else None,
                          parent_peft)
    run_dir = Path(run_dir)
    work = run_dir / "work"
    names = ["import-gguf", "stage2", "convert-adapter", "evaluate-base", "evaluate-tuned", "compare", "finish"]
    return TuningPlan(request, run_dir, [Step(name, step_args(run_dir, name)) for name in names],
                      candidate_gguf=work / Path(adapter).name, final_gguf=root / adapter, base_gguf=root,
                      base_description=f"bundle {root.name}: {language} adapter "
                      f"{current.file if current else '(none yet)'} -> {adapter}",
                      hf_base=str(work / "base-hf"), bundle=target)


def prepare_run(request: TuningRequest, root: Path | None = None, run_dir: Path | None = None) -> TuningPlan:
    """Check the request, make the run folder with its data split and config.yaml; return the plan.

    run_dir: a folder already made by new_run_dir (tuning on corrections exports its data there first)."""
    check_request(request)
    pairs = parse_pairs(request.pairs)
    records = read_data(request.data_file)
    train, heldout = split_heldout(records, pairs, request.heldout_fraction)
    run_dir = Path(run_dir) if run_dir is not None else new_run_dir(root)
    plan = build_plan(request, run_dir)
    write_jsonl(plan.train_file, train)
    write_jsonl(plan.heldout_file, heldout)
    (run_dir / "logs").mkdir(exist_ok=True)
    (run_dir / "work").mkdir(exist_ok=True)
    config = {
        "request": {**asdict(request), "data_file": str(Path(request.data_file).resolve()), "pairs": pairs},
        "data": {"train": len(train), "heldout": len(heldout)},
        "base_gguf": str(plan.base_gguf),
        "base": plan.base_description,
        "hf_base": plan.hf_base,
        "model": str(plan.final_gguf),
        "candidate": str(plan.candidate_gguf),
        **({"bundle": plan.bundle.to_json()} if plan.bundle is not None else {}),
        "steps": [{"name": step.name, "command": plan.command(step)} for step in plan.steps],
    }
    write_text_atomic(plan.config_path, yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    set_status(plan, "running")
    return plan


def prepare_corrections_run(memory, src: str, tgt: str, base_model: str, root: Path | None = None,
                            **settings) -> TuningPlan:
    """A run on the translation memory's pairs for src -> tgt (desktop.memory.store.TranslationMemory),
    continuing from base_model (the model in use); the pairs are exported into the run folder.

    settings: other TuningRequest fields (finetune, preset, quant, train_overrides, eval_limit, ...).
    """
    count = memory.count(src, tgt)
    if count < MEMORY_MIN_PAIRS:
        raise TuningError(f"{src}-{tgt}: {count} corrections in the translation memory, "
                          f"tuning needs at least {MEMORY_MIN_PAIRS}")
    run_dir = new_run_dir(root)
    data_file = run_dir / "data" / "corrections.jsonl"
    data_file.parent.mkdir(parents=True, exist_ok=True)
    memory.export_jsonl(data_file, src, tgt)
    request = TuningRequest(data_file=data_file, pairs=[f"{src}-{tgt}"], base_model=str(base_model),
                            origin=CORRECTIONS_ORIGIN, **settings)
    try:
        return prepare_run(request, run_dir=run_dir)
    except ValueError:
        shutil.rmtree(run_dir, ignore_errors=True)  # nothing started: no half-made run left to resume
        raise


def set_status(plan: TuningPlan, state: str, message: str = "", step: str | None = None) -> None:
    write_text_atomic(plan.run_dir / "status.json",
                json.dumps({"state": state, "step": step, "message": message, "time": time.time(),
                            "done_steps": plan.done_steps}) + "\n")


def read_status(run_dir: Path) -> dict:
    """A run's status.json ({} when missing or unreadable)."""
    try:
        status = json.loads((Path(run_dir) / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}


RESUMABLE_STATES = ("cancelled", "failed")


def resumable_runs(root: Path | None = None) -> list[Path]:
    """Run folders that stopped before the end (cancelled or failed), newest first."""
    root = Path(root) if root else runs_root()
    if not root.is_dir():
        return []
    runs = [path for path in root.iterdir()
            if (path / "config.yaml").is_file() and read_status(path).get("state") in RESUMABLE_STATES]
    return sorted(runs, key=lambda path: path.name, reverse=True)


def done_steps(run_dir: Path) -> list[str]:
    """The steps alma-train tune step recorded as done in the run's tune-state.json ([] when none)."""
    try:
        state = json.loads((Path(run_dir) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    done = state.get("done") if isinstance(state, dict) else None
    return list(done) if isinstance(done, dict) else []


def load_plan(run_dir: Path, purpose: str = "read") -> TuningPlan:
    """The plan of a run folder, from its config.yaml, with the steps it finished marked done.

    The base is the one resolved when the run started (not again: "default" may resolve to another
    model by now). Raises TuningError naming the file when it cannot be read.
    """
    run_dir = Path(run_dir)
    config_path = run_dir / "config.yaml"
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        request_fields = dict(config["request"])
        request_fields["data_file"] = Path(request_fields["data_file"])
        request = TuningRequest(**request_fields)
        names = [entry["name"] for entry in config["steps"]]
        final = Path(config["model"])
        candidate = Path(config.get("candidate") or run_dir / "work" / final.name)
        base_gguf = Path(config["base_gguf"])
        hf_base = str(config["hf_base"])
        bundle = BundleTarget.from_json(config["bundle"]) if config.get("bundle") else None
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise TuningError(f"{config_path}: cannot {purpose} this run ({exc})") from None
    unknown = [name for name in names if name not in TUNE_STEPS]
    if unknown:
        raise TuningError(f"{config_path}: cannot {purpose} this run (unknown steps: {', '.join(unknown)})")
    steps = [Step(name, step_args(run_dir, name)) for name in names]
    return TuningPlan(request, run_dir, steps, candidate, final, base_gguf, str(config.get("base", "")),
                      done_steps=[name for name in done_steps(run_dir) if name in names], hf_base=hf_base,
                      bundle=bundle)


def resume_run(run_dir: Path) -> TuningPlan:
    """The plan of an earlier run (load_plan), marked running again; TuningError when it cannot resume."""
    plan = load_plan(run_dir, "resume")
    if read_status(plan.run_dir).get("state") == "done" or _finished(plan):
        raise TuningError(f"{plan.run_dir}: this run already finished ({plan.final_gguf.name})")
    (plan.run_dir / "logs").mkdir(exist_ok=True)
    set_status(plan, "running", "resumed")
    return plan


def _finished(plan: TuningPlan) -> bool:
    """Whether the run's model was written: its GGUF, or for a bundle, bundle.json on the new adapter."""
    if plan.bundle is None:
        return plan.final_gguf.is_file()
    try:
        bundle = load_bundle(plan.bundle.root, check_files=False)
    except ModelLoadError:
        return False
    return any(a.file == plan.bundle.adapter for a in bundle.adapters)


def next_step_index(plan: TuningPlan, start: int = 0) -> int:
    """The first step from start on that is not done yet (len(steps) when all are)."""
    index = start
    while index < len(plan.steps) and plan.steps[index].name in plan.done_steps:
        index += 1
    return index


def finish_run(plan: TuningPlan) -> dict:
    """After every step succeeded (the last one wrote the model): the run's report, and the run marked done."""
    report = json.loads(plan.report_path.read_text(encoding="utf-8"))
    set_status(plan, "done")
    return report


def report_markdown(report: dict) -> str:
    lines = [f"# Tuning run {report['run']}", "",
             f"Held-out slice of {report['data_file']}, {report['finetune']} ({report['preset']} preset), "
             f"{report['quant']}.", "",
             "| direction | n | BLEU before | BLEU after | chrF before | chrF after |",
             "|---|---|---|---|---|---|"]

    def fmt(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f}"

    for direction, row in report["directions"].items():
        lines.append(f"| {direction} | {row['n']} | {fmt(row['bleu_before'])} | {fmt(row['bleu_after'])} | "
                     f"{fmt(row['chrf_before'])} | {fmt(row['chrf_after'])} |")
    lines += ["", f"BLEU: {report['bleu_signature']}", f"chrF: {report['chrf_signature']}", ""]
    return "\n".join(lines)


# --- progress ---------------------------------------------------------------------------------------
TQDM_PROGRESS = re.compile(r"(\d+)/(\d+) \[([\d:]+)<([\d:?]+)")


@dataclass
class TrainProgress:
    step: int = 0
    total: int = 0
    loss: float | None = None
    eta: str = ""

    def describe(self) -> str:
        parts = [f"step {self.step}/{self.total}" if self.total else f"step {self.step}"]
        if self.loss is not None:
            parts.append(f"loss {self.loss:.3f}")
        if self.eta:
            parts.append(f"ETA {self.eta}")
        return ", ".join(parts)


def update_progress(progress: TrainProgress, output: str, train_dir: Path | None = None) -> TrainProgress:
    """Step and ETA from the trainer's progress bar in output; the latest loss from train_log.jsonl."""
    matches = TQDM_PROGRESS.findall(output)
    if matches:
        step, total, _, eta = matches[-1]
        progress.step, progress.total, progress.eta = int(step), int(total), eta
    if train_dir is not None and (train_dir / "train_log.jsonl").is_file():
        for line in reversed((train_dir / "train_log.jsonl").read_text(encoding="utf-8").splitlines()):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written
            if "loss" in record:
                progress.loss = float(record["loss"])
                progress.step = max(progress.step, int(record.get("step", 0)))
                break
    return progress
