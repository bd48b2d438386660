"""alma-train bundle-add: a trained peft adapter (an add-language run) into a bundle, as
adapters/<xx>.lora.gguf (alma-convert lora) with its bundle.json entry (docs/adapters.md, "Adding a language")."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from alma_core.bundle import Bundle, BundleAdapter, BundleError, Score, load_bundle, new_adapter, write_bundle
from convert.errors import ConversionError
from convert.lora_adapter import ADAPTER_TYPES, convert_lora

# The entry add-language writes beside the adapter, in bundle.json's shape (sha256 null until converted).
ENTRY_FILE = "bundle-entry.json"


def read_entry(adapter_dir: Path) -> dict[str, Any]:
    """The adapter folder's bundle-entry.json; a ValueError names the file and the key at fault."""
    path = adapter_dir / ENTRY_FILE
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file (bundle-add takes an adapter folder that `alma-train "
                         "add-language` wrote)") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: not readable JSON ({error})") from None
    if not isinstance(entry, dict):
        raise ValueError(f"{path}: must hold a JSON object")
    for key, kind in (("language", str), ("directions", list), ("file", str), ("alpha", (int, float))):
        if not isinstance(entry.get(key), kind):
            raise ValueError(f"{path}: key '{key}' is missing or of the wrong type")
    relative = Path(entry["file"])
    if relative.is_absolute() or ".." in relative.parts or relative.suffix != ".gguf":
        raise ValueError(f"{path}: key 'file': {entry['file']!r} must be a .gguf path inside the bundle folder")
    return entry


def _scores(entry: dict[str, Any], path: Path) -> dict[str, Score]:
    scores = {}
    for direction, score in (entry.get("scores") or {}).items():
        try:
            scores[direction] = Score(set=str(score["set"]), chrf=float(score["chrf"]),
                                      segments=int(score["segments"]))
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"{path}: key 'scores.{direction}' needs set, chrf and segments") from None
    return scores


def add_to_bundle(adapter_dir: Path, bundle_dir: Path, out_type: str = "f16") -> BundleAdapter:
    """Convert the peft adapter in adapter_dir against the bundle's base into the bundle (the file its
    bundle-entry.json names) and add its entry to bundle.json, replacing an entry of the same language
    (whose `parent` it keeps unless the new entry names one); returns the entry written.

    The bundle is checked first (the base's sha256 included: the adapter is converted for that base). If
    bundle.json cannot be written, the adapter file it had before is put back.
    """
    adapter_dir, bundle_dir = Path(adapter_dir), Path(bundle_dir)
    entry = read_entry(adapter_dir)
    try:
        bundle = load_bundle(bundle_dir)
    except BundleError as error:
        raise ValueError(str(error)) from None
    language = entry["language"]
    old = next((a for a in bundle.adapters if a.language == language), None)
    target = bundle.root / entry["file"]
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.with_name(f".{target.name}.new")
    backup = target.with_name(f".{target.name}.old")
    try:
        # Named for the run folder (alma-convert lora's default): the same adapter gives the same file in any bundle.
        convert_lora(adapter_dir, bundle.base_path, fresh, out_type=out_type, force=True)
    except ConversionError as error:
        raise ValueError(str(error)) from None
    had_file = target.exists()
    if had_file:
        os.replace(target, backup)
    os.replace(fresh, target)
    try:
        added = new_adapter(bundle.root, language, entry["directions"], entry["file"], entry["alpha"],
                            parent=entry.get("parent") or (old.parent if old else None),
                            trained=entry.get("trained") or {}, scores=_scores(entry, adapter_dir / ENTRY_FILE))
        adapters = [added if a is old else a for a in bundle.adapters] if old else [*bundle.adapters, added]
        write_bundle(Bundle(name=bundle.name, base=bundle.base, adapters=adapters, root=bundle.root))
    except (BundleError, ValueError) as error:
        # bundle.json still names the old file's sha256: put that file back.
        if had_file:
            os.replace(backup, target)
        else:
            target.unlink()
        raise ValueError(str(error)) from None
    if had_file:
        backup.unlink()
    return added


def _cmd_bundle_add(args: argparse.Namespace) -> int:
    added = add_to_bundle(Path(args.adapter).expanduser(), Path(args.bundle).expanduser(), args.type)
    print(f"{args.bundle}: {added.language} ({', '.join(added.directions)}) -> {added.file}, "
          f"sha256 {added.sha256[:16]}…")
    return 0


def add_bundle_add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "bundle-add", help="put a trained language adapter into a bundle (converted to GGUF, bundle.json updated)",
        description=f"Convert an adapter folder that `alma-train add-language` wrote (peft files and {ENTRY_FILE}) "
        "against the bundle's base GGUF into the bundle, and add or replace its language's entry in bundle.json.")
    parser.add_argument("adapter", metavar="ADAPTER_DIR", help=f"the adapter folder (with {ENTRY_FILE})")
    parser.add_argument("--bundle", required=True, metavar="X.bundle", help="the bundle folder")
    parser.add_argument("--type", default="f16", choices=list(ADAPTER_TYPES),
                        help="the adapter's matrices' type (default f16)")
    parser.set_defaults(handler=_cmd_bundle_add)
