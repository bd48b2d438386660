"""A translator bundle: `<name>.bundle/` with bundle.json, one base GGUF and a LoRA adapter per language;
reading (checked), writing (atomic) and the base's sha256 check (docs/adapters.md)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alma_core.atomic import write_text_atomic
from alma_core.file_memo import per_file_version, sha256_of_file
from alma_core.gguf_file import AlmaKey, ModelLoadError, read_model_info
from alma_core.languages import LANGUAGES
from alma_core.paths import user_cache_dir

FORMAT = "alma-bundle/1"
MANIFEST = "bundle.json"
SUFFIX = ".bundle"
_HEX64 = re.compile(r"[0-9a-f]{64}")
# bundle.json of a real bundle is a few KB; anything this large is not one.
_MAX_MANIFEST_BYTES = 1 << 20


class BundleError(ModelLoadError):
    """A bundle that cannot be used: no bundle.json, a bad key, a missing or changed file."""


@dataclass(frozen=True)
class Score:
    """One direction's score: chrF on `set` (e.g. "heldout-test") over `segments` segments."""

    set: str
    chrf: float
    segments: int


@dataclass(frozen=True)
class BundleBase:
    file: str  # relative to the bundle folder
    sha256: str
    architecture: str


@dataclass(frozen=True)
class BundleAdapter:
    """One language's adapter: both directions of `language` <-> en (or whatever `directions` lists)."""

    language: str
    directions: tuple[str, ...]
    file: str  # relative to the bundle folder
    sha256: str
    alpha: float
    parent: str | None = None  # the adapter this one was tuned from (a path inside the bundle)
    trained: dict[str, Any] = field(default_factory=dict)  # recipe facts, as the trainer wrote them
    scores: dict[str, Score] = field(default_factory=dict)  # direction -> score


@dataclass
class Bundle:
    """A bundle as bundle.json describes it; root is its folder (not stored in the file)."""

    name: str
    base: BundleBase
    adapters: list[BundleAdapter]
    root: Path

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def base_path(self) -> Path:
        return self.root / self.base.file

    def adapter_path(self, adapter: BundleAdapter) -> Path:
        return self.root / adapter.file

    def adapter_for(self, src: str, tgt: str) -> BundleAdapter | None:
        """The adapter of the direction src-tgt, or None (the base translates it alone)."""
        direction = f"{src}-{tgt}"
        return next((a for a in self.adapters if direction in a.directions), None)

    @property
    def directions(self) -> list[tuple[str, str]]:
        """Every direction an adapter covers, in the file's order."""
        return [tuple(d.split("-", 1)) for a in self.adapters for d in a.directions]  # type: ignore[misc]

    @property
    def languages(self) -> list[str]:
        return [a.language for a in self.adapters]

    def size(self) -> int:
        """Bytes on disk: the base and every adapter."""
        return self.base_path.stat().st_size + sum(self.adapter_path(a).stat().st_size for a in self.adapters)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "base": {"file": self.base.file, "sha256": self.base.sha256, "architecture": self.base.architecture},
            "adapters": [
                {"language": a.language, "directions": list(a.directions), "file": a.file, "sha256": a.sha256,
                 "alpha": a.alpha, "parent": a.parent, "trained": a.trained,
                 "scores": {d: {"set": s.set, "chrf": s.chrf, "segments": s.segments} for d, s in a.scores.items()}}
                for a in self.adapters
            ],
        }


def is_bundle(path: Path | str) -> bool:
    """Whether path is a bundle folder (a `*.bundle` folder, or any folder holding a bundle.json)."""
    path = Path(path)
    return path.is_dir() and (path.suffix == SUFFIX or (path / MANIFEST).is_file())


def bundle_root(path: Path | str) -> Path:
    """The bundle folder of a path that names it or its bundle.json."""
    path = Path(path)
    return path.parent if path.name == MANIFEST and path.is_file() else path


def bundle_info(bundle: Bundle) -> dict[str, Any]:
    """read_model_info's dict for a bundle: its base's, with the bundle's folder, total size, name, adapter
    languages, and its directions as alma.language_pairs (what it is trained for)."""
    info = read_model_info(bundle.base_path)
    info.update({"path": str(bundle.root), "file_size": bundle.size(), "bundle": bundle.name,
                 "adapters": bundle.languages,
                 AlmaKey.LANGUAGE_PAIRS: ",".join(f"{s}-{t}" for s, t in bundle.directions)})
    return info


def model_info(path: Path | str) -> dict[str, Any]:
    """read_model_info of a GGUF file, or bundle_info of a bundle folder (checked, without its hashes:
    a listing stays fast; the engine checks them at load). ModelLoadError for a bad one."""
    if is_bundle(path):
        return bundle_info(load_bundle(path, check_files=False))
    return read_model_info(path)


# --- the base's sha256, remembered across starts -------------------------------------------------
# Hashing a 145-290 MB base at every start costs ~0.5-1 s on a laptop (more on a slow disk), so the
# digest is kept per (path, size, mtime_ns) in the user cache: a file changed in place gets a new mtime
# (a same-size rewrite within the clock's resolution would go unseen, as in alma_core.file_memo).
_HASH_CACHE = "file-sha256.json"


@per_file_version
def file_sha256(path: Path) -> str:
    """The file's sha256, from the user cache's record when the file's size and mtime are the same."""
    stat = path.stat()
    key = str(path)
    store = user_cache_dir() / _HASH_CACHE
    try:
        known = json.loads(store.read_text(encoding="utf-8"))
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}
    entry = known.get(key)
    if isinstance(entry, dict) and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns \
            and isinstance(entry.get("sha256"), str):
        return entry["sha256"]
    digest = sha256_of_file(path)
    known[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(store, json.dumps(known, indent=1, sort_keys=True))
    except OSError:
        pass  # a read-only cache only costs the hash again next time
    return digest


# --- reading -----------------------------------------------------------------------------------
class _Reader:
    """Checks one bundle.json's values, each error naming the file and the key at fault."""

    def __init__(self, manifest: Path) -> None:
        self.manifest = manifest

    def error(self, key: str, problem: str) -> BundleError:
        return BundleError(f"{self.manifest}: {key}: {problem}")

    def get(self, obj: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...],
            optional: bool = False) -> Any:
        name = f"{where}.{key}" if where else key
        if key not in obj:
            if optional:
                return None
            raise self.error(name, "missing")
        value = obj[key]
        if optional and value is None:
            return None
        if not isinstance(value, kind) or (kind in (int, float, (int, float)) and isinstance(value, bool)):
            wanted = "a number" if kind == (int, float) else {
                str: "a string", dict: "an object", list: "a list", int: "an integer"}[kind]
            raise self.error(name, f"must be {wanted}, not {json.dumps(value)[:60]}")
        return value

    def relative_file(self, root: Path, value: str, key: str) -> str:
        """A path inside the bundle folder that names an existing file."""
        relative = Path(value)
        if relative.is_absolute() or ".." in relative.parts or not value.strip():
            raise self.error(key, f"{value!r} must be a path inside the bundle folder")
        if not (root / relative).is_file():
            raise self.error(key, f"{value} is not in the bundle ({root / relative}: no such file)")
        return value

    def sha256(self, value: str, key: str) -> str:
        if not _HEX64.fullmatch(value):
            raise self.error(key, f"{value!r} is not a sha256 (64 lowercase hex digits)")
        return value

    def direction(self, value: Any, key: str, language: str) -> str:
        if not isinstance(value, str) or value.count("-") != 1:
            raise self.error(key, f"{json.dumps(value)} is not a direction such as de-en")
        src, tgt = value.split("-")
        for code in (src, tgt):
            if code not in LANGUAGES:
                raise self.error(key, f"{value}: unknown language code {code!r}")
        if src == tgt:
            raise self.error(key, f"{value} has the same language on both sides")
        if language not in (src, tgt):
            raise self.error(key, f"{value} does not involve the adapter's language {language}")
        return value


def load_bundle(path: Path | str, check_files: bool = True) -> Bundle:
    """The bundle at path (its folder or its bundle.json), checked: format, keys and types, every file
    present, each adapter's directions (real language codes, the adapter's language on one side, no
    direction in two adapters) and, with check_files, the sha256 of the base and of each adapter.

    Raises BundleError (a ModelLoadError) naming bundle.json and the key at fault.
    """
    root = bundle_root(path)
    manifest = root / MANIFEST
    if not root.is_dir():
        raise BundleError(f"{root}: no such bundle folder")
    try:
        with open(manifest, "rb") as handle:
            raw = handle.read(_MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        raise BundleError(f"{root}: not a bundle (no {MANIFEST})") from None
    except OSError as exc:
        raise BundleError(f"{manifest}: cannot read it ({exc.strerror})") from None
    if len(raw) > _MAX_MANIFEST_BYTES:
        raise BundleError(f"{manifest}: larger than {_MAX_MANIFEST_BYTES} bytes: not a bundle manifest")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BundleError(f"{manifest}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BundleError(f"{manifest}:{exc.lineno}: not JSON ({exc.msg})") from None
    bundle = _parse(data, root, manifest)
    if check_files:
        check_hashes(bundle)
    return bundle


def _parse(data: Any, root: Path, manifest: Path) -> Bundle:
    """bundle.json's content as a Bundle, every value checked (BundleError naming manifest and key)."""
    reader = _Reader(manifest)
    if not isinstance(data, dict):
        raise BundleError(f"{manifest}: must hold a JSON object")
    fmt = reader.get(data, "format", "", str)
    if fmt != FORMAT:
        raise reader.error("format", f"{fmt!r} is not {FORMAT!r} (a bundle from another version?)")
    name = reader.get(data, "name", "", str)
    base_obj = reader.get(data, "base", "", dict)
    base = BundleBase(
        file=reader.relative_file(root, reader.get(base_obj, "file", "base", str), "base.file"),
        sha256=reader.sha256(reader.get(base_obj, "sha256", "base", str), "base.sha256"),
        architecture=reader.get(base_obj, "architecture", "base", str),
    )
    adapters: list[BundleAdapter] = []
    owner: dict[str, str] = {}  # direction -> the key of the adapter that has it
    for i, item in enumerate(reader.get(data, "adapters", "", list)):
        where = f"adapters[{i}]"
        if not isinstance(item, dict):
            raise reader.error(where, "must be an object")
        language = reader.get(item, "language", where, str)
        if language not in LANGUAGES:
            raise reader.error(f"{where}.language", f"unknown language code {language!r}")
        directions = reader.get(item, "directions", where, list)
        if not directions:
            raise reader.error(f"{where}.directions", "empty: an adapter translates at least one direction")
        checked = tuple(reader.direction(d, f"{where}.directions", language) for d in directions)
        for direction in checked:
            if direction in owner:
                raise reader.error(f"{where}.directions", f"{direction} is already {owner[direction]}'s")
            owner[direction] = where
        alpha = float(reader.get(item, "alpha", where, (int, float)))
        if not math.isfinite(alpha) or alpha <= 0:
            raise reader.error(f"{where}.alpha", f"{alpha} must be a positive number")
        parent = reader.get(item, "parent", where, str, optional=True)
        trained = reader.get(item, "trained", where, dict, optional=True) or {}
        scores: dict[str, Score] = {}
        for direction, score in (reader.get(item, "scores", where, dict, optional=True) or {}).items():
            key = f"{where}.scores.{direction}"
            if direction not in checked:
                raise reader.error(key, f"{direction} is not one of the adapter's directions ({', '.join(checked)})")
            if not isinstance(score, dict):
                raise reader.error(key, "must be an object")
            scores[direction] = Score(set=reader.get(score, "set", key, str),
                                      chrf=float(reader.get(score, "chrf", key, (int, float))),
                                      segments=reader.get(score, "segments", key, int))
        adapters.append(BundleAdapter(
            language=language, directions=checked,
            file=reader.relative_file(root, reader.get(item, "file", where, str), f"{where}.file"),
            sha256=reader.sha256(reader.get(item, "sha256", where, str), f"{where}.sha256"),
            alpha=alpha, parent=parent, trained=trained, scores=scores))
    return Bundle(name=name, base=base, adapters=adapters, root=root)


def check_hashes(bundle: Bundle) -> None:
    """BundleError unless the base and every adapter have the sha256 bundle.json records."""
    files = [("base.sha256", bundle.base_path, bundle.base.sha256)]
    files += [(f"adapters[{i}].sha256", bundle.adapter_path(a), a.sha256) for i, a in enumerate(bundle.adapters)]
    for key, path, expected in files:
        try:
            actual = file_sha256(path)
        except OSError as exc:
            raise BundleError(f"{bundle.manifest_path}: {key}: cannot read {path} ({exc.strerror})") from None
        if actual != expected:
            raise BundleError(f"{bundle.manifest_path}: {key}: {path.name} has sha256 {actual[:16]}…, not the "
                              f"recorded {expected[:16]}… (the file was changed or replaced)")


# --- writing -----------------------------------------------------------------------------------
def write_bundle(bundle: Bundle) -> Path:
    """Write bundle.json into bundle.root atomically, after checking it as load_bundle reads it (the files
    it names must be there; their hashes are the caller's); returns its path."""
    data = bundle.to_json()
    _parse(json.loads(json.dumps(data)), bundle.root, bundle.manifest_path)
    write_text_atomic(bundle.manifest_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return bundle.manifest_path


def new_adapter(bundle_dir: Path, language: str, directions: list[str], file: str, alpha: float,
                parent: str | None = None, trained: dict[str, Any] | None = None,
                scores: dict[str, Score] | None = None) -> BundleAdapter:
    """An adapter entry for a file already in bundle_dir, its sha256 computed."""
    return BundleAdapter(language=language, directions=tuple(directions), file=file,
                         sha256=sha256_of_file(bundle_dir / file), alpha=float(alpha), parent=parent,
                         trained=trained or {}, scores=scores or {})


def new_base(bundle_dir: Path, file: str, architecture: str) -> BundleBase:
    """The base entry for a GGUF already in bundle_dir, its sha256 computed."""
    return BundleBase(file=file, sha256=sha256_of_file(bundle_dir / file), architecture=architecture)
