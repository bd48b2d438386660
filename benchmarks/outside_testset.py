"""The outside test set: the operating system's own message catalogs, which never feed training.

The .mo files that Debian packages install under /usr/share/locale (coreutils, gtk, glib, git, apt,
PAM, ...) are human translations of software messages from projects our training data does not
come from. They measure the product from outside: a model that only learnt Django's phrasing shows
it here. This script lives in benchmarks/ on purpose: nothing under alma_train/ may read these files.

For each language it takes up to --per-language messages, round-robin over the catalogs (so no single
big catalog dominates), each catalog's messages in the order of a hash of their English text, so the
set is deterministic for a given machine. Skipped: country/language/script name lists (iso_*),
plural and context entries, messages that are not a phrase (no letters, format-only, over 200
characters), and any English string that occurs in the training data given with --exclude-data.

    .venv/bin/python benchmarks/outside_testset.py --output runs/outside [--exclude-data data]
    alma-train evaluate --model MODEL.gguf --test runs/outside/*.jsonl --output runs/outside-eval.json

Writes OUTPUT/<xx>-en.jsonl ({"xx": ..., "en": ..., "domain": ...} per line) and OUTPUT/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

LOCALE_ROOT = Path("/usr/share/locale")
LOCALES = {"de": "de", "cs": "cs", "is": "is", "zh": "zh_CN", "ru": "ru"}
_FORMAT_ONLY = re.compile(r"^[\W\d_%sdfiuxXlczp.*-]*$")


_MNEMONIC = re.compile(r"_(?=\w)")


def _clean(text: str) -> str:
    # GTK-style menu mnemonics ("_Open", "Ö_ffnen") are markup for the toolkit, not text.
    return " ".join(_MNEMONIC.sub("", text, count=1).split())


def _usable(en: str, xx: str) -> bool:
    if not (3 <= len(en) <= 200 and 2 <= len(xx) <= 300) or en == xx:
        return False
    if sum(ch.isalpha() for ch in en) < 3 or _FORMAT_ONLY.match(en):
        return False
    return " " in en  # a phrase, not a lone identifier or menu mnemonic


def catalog_messages(path: Path) -> list[tuple[str, str]]:
    """(English, translation) of one .mo file, cleaned, in hash order of the English."""
    import polib

    try:
        catalog = polib.mofile(str(path))
    except (OSError, ValueError) as exc:
        print(f"skipping {path}: {exc}")
        return []
    pairs = {}
    for entry in catalog:
        if entry.msgid_plural or entry.msgctxt or not entry.msgstr:
            continue
        en, xx = _clean(entry.msgid), _clean(entry.msgstr)
        if _usable(en, xx):
            pairs.setdefault(en, xx)
    return sorted(pairs.items(), key=lambda item: hashlib.sha256(item[0].encode()).hexdigest())


def training_english(data_dir: Path | None) -> set[str]:
    """Every English string of the training corpora under data_dir (all .jsonl files)."""
    seen: set[str] = set()
    if data_dir is None:
        return seen
    for path in data_dir.rglob("*.jsonl"):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line) if line.strip() else {}
                if isinstance(record, dict) and isinstance(record.get("en"), str):
                    seen.add(" ".join(record["en"].split()))
    return seen


def round_robin(per_catalog: dict[str, list[tuple[str, str]]]) -> Iterator[tuple[str, str, str]]:
    iterators = {name: iter(items) for name, items in sorted(per_catalog.items())}
    while iterators:
        for name in list(iterators):
            item = next(iterators[name], None)
            if item is None:
                del iterators[name]
            else:
                yield name, *item


def build(lang: str, count: int, exclude: set[str]) -> list[dict[str, str]]:
    folder = LOCALE_ROOT / LOCALES[lang] / "LC_MESSAGES"
    per_catalog = {path.stem: catalog_messages(path) for path in sorted(folder.glob("*.mo"))
                   if not path.stem.startswith("iso_")}
    records, seen = [], set()
    for domain, en, xx in round_robin(per_catalog):
        if en in exclude or en in seen:
            continue
        seen.add(en)
        records.append({lang: xx, "en": en, "domain": domain})
        if len(records) == count:
            break
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--per-language", type=int, default=150)
    parser.add_argument("--exclude-data", type=Path, help="training data folder whose English is left out")
    args = parser.parse_args()
    exclude = training_english(args.exclude_data)
    args.output.mkdir(parents=True, exist_ok=True)
    lines = ["# Outside test set (operating-system message catalogs)", "",
             "| pair | messages | catalogs |", "|---|---|---|"]
    for lang in LOCALES:
        records = build(lang, args.per_language, exclude)
        with open(args.output / f"{lang}-en.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        domains = sorted({r["domain"] for r in records})
        lines.append(f"| {lang}-en | {len(records)} | {len(domains)} |")
        print(f"{lang}-en: {len(records)} messages from {len(domains)} catalogs")
    (args.output / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
