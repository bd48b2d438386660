"""Build the demo corpora from real data that installs offline.

Parallel (stage 2): Django's gettext catalogs, human-written UI translations, for de cs is zh ru <-> en.
Each English msgid with a translated, non-fuzzy msgstr becomes one pair. The split is decided by a
hash of the English side, so it is deterministic and the same English string lands in the same split
for every language (no test sentence leaks into training through another direction).

Monolingual (stage 1): Debian's translated man pages (packages manpages, manpages-de, manpages-cs,
manpages-ru, manpages-zh), rendered to plain text with groff.

Data format on the way in (and out of this builder): JSON Lines, one object per line, keyed by language
code, e.g. {"de": "Passwort ändern", "en": "Change password"}. Monolingual files hold {"text": "..."}
per document.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from alma_train.atomic_files import atomic_writer

DEMO_LANGUAGES = ("de", "cs", "is", "zh", "ru")
DEMO_MONO_LANGUAGES = ("en", "de", "cs", "ru", "zh")
# Django's locale folder names for our codes.
DJANGO_LOCALES = {"de": "de", "cs": "cs", "is": "is", "zh": "zh_Hans", "ru": "ru"}
# Debian man page folders for our codes ("" is the untranslated, English tree).
MAN_LOCALES = {"en": "", "de": "de", "cs": "cs", "ru": "ru", "zh": "zh_CN"}
SPLITS = ("train", "valid", "test")
# Per hundred: train < 80 <= valid < 90 <= test.
SPLIT_BOUNDS = (80, 90)


@dataclass(frozen=True)
class CatalogPair:
    """One English string and its translation, with where it came from."""

    en: str
    xx: str
    source: str


def django_locale_root() -> Path:
    """The installed Django package folder (its catalogs are the demo parallel data)."""
    import importlib.util

    spec = importlib.util.find_spec("django")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("Django is not installed; `pip install django` provides the demo catalogs")
    return Path(list(spec.submodule_search_locations)[0])


def _clean_ui_string(text: str) -> str:
    # Catalog strings carry keyboard-accelerator-free UI text; keep them as they are but put
    # multi-line msgids on one line, since ALMA trains on single segments.
    return " ".join(text.split())


def read_django_pairs(lang: str, root: Path | None = None) -> list[CatalogPair]:
    """All translated singular entries of Django's catalogs for one language, deduplicated."""
    import polib

    root = root or django_locale_root()
    locale = DJANGO_LOCALES[lang]
    seen: dict[str, CatalogPair] = {}
    for po_path in sorted(root.glob(f"**/locale/{locale}/LC_MESSAGES/*.po")):
        for entry in polib.pofile(str(po_path)):
            if entry.obsolete or "fuzzy" in entry.flags or entry.msgid_plural:
                continue
            en, xx = _clean_ui_string(entry.msgid), _clean_ui_string(entry.msgstr)
            if not en or not xx or en in seen:
                continue
            seen[en] = CatalogPair(en=en, xx=xx, source=str(po_path.relative_to(root)))
    return list(seen.values())


def split_of(english: str) -> str:
    """train/valid/test, from a stable hash of the English side."""
    bucket = int(hashlib.sha256(english.encode("utf-8")).hexdigest(), 16) % 100
    if bucket < SPLIT_BOUNDS[0]:
        return "train"
    if bucket < SPLIT_BOUNDS[1]:
        return "valid"
    return "test"


def write_jsonl_atomic(path: Path, records: Iterable[dict]) -> int:
    """Write JSON Lines atomically; return the record count."""
    count = 0
    with atomic_writer(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def build_parallel(output_dir: Path, languages: Iterable[str] = DEMO_LANGUAGES) -> dict[str, dict[str, int]]:
    """Write output_dir/<xx>-en/{train,valid,test}.jsonl; return counts per pair and split."""
    counts: dict[str, dict[str, int]] = {}
    for lang in languages:
        pairs = read_django_pairs(lang)
        by_split: dict[str, list[dict]] = {s: [] for s in SPLITS}
        for pair in pairs:
            by_split[split_of(pair.en)].append({lang: pair.xx, "en": pair.en})
        pair_name = f"{lang}-en"
        counts[pair_name] = {}
        for split, records in by_split.items():
            counts[pair_name][split] = write_jsonl_atomic(output_dir / pair_name / f"{split}.jsonl", records)
    return counts


def man_page_files(lang: str, man_root: Path = Path("/usr/share/man")) -> list[Path]:
    """Man page sources of one language, sorted; .so redirect stubs are skipped."""
    base = man_root / MAN_LOCALES[lang] if MAN_LOCALES[lang] else man_root
    files = []
    for section in sorted(base.glob("man[1-8]")):
        for path in sorted(section.iterdir()):
            if path.is_file() and not _is_redirect(path):
                files.append(path)
    return files


def _read_man_source(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _is_redirect(path: Path) -> bool:
    try:
        head = _read_man_source(path)[:200].lstrip()
    except (OSError, EOFError, gzip.BadGzipFile):
        return True
    return head.startswith(b".so ")


def render_man_page(path: Path) -> str:
    """Plain text of one man page: groff with preconv (-k) for the encoding, backspaces removed."""
    source = _read_man_source(path)
    env = {**os.environ, "LC_ALL": "C.UTF-8", "MANWIDTH": "100"}
    groff = subprocess.run(
        ["groff", "-k", "-Tutf8", "-man", "-rLL=100n", "-P-c"],
        input=source, capture_output=True, env=env, timeout=60, check=False,
    )
    text = groff.stdout.decode("utf-8", errors="replace")
    text = re.sub(r".\x08", "", text)  # overstrike bold/underline, if any survived -P-c
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def iter_man_documents(lang: str, max_documents: int) -> Iterator[str]:
    """Up to max_documents rendered man pages of one language (empty renders skipped)."""
    if shutil.which("groff") is None:
        raise FileNotFoundError("groff is not installed (Debian package groff-base)")
    produced = 0
    for path in man_page_files(lang):
        if produced >= max_documents:
            return
        text = render_man_page(path)
        if len(text) >= 200:
            produced += 1
            yield text


def build_monolingual(
    output_dir: Path, languages: Iterable[str] = DEMO_MONO_LANGUAGES, max_documents: int = 150
) -> dict[str, int]:
    """Write output_dir/<lang>.jsonl ({"text": page} per line); return document counts."""
    counts = {}
    for lang in languages:
        files = man_page_files(lang)
        if not files:
            raise FileNotFoundError(
                f"no man pages for {lang!r} under /usr/share/man/{MAN_LOCALES[lang]}: "
                f"install Debian's {'manpages' if lang == 'en' else 'manpages-' + lang}"
            )
        docs = ({"text": doc} for doc in iter_man_documents(lang, max_documents))
        counts[lang] = write_jsonl_atomic(output_dir / f"{lang}.jsonl", docs)
    return counts


def build_demo_data(output_dir: Path, monolingual: bool = True, max_documents: int = 150) -> dict:
    """Both demo corpora under output_dir/parallel and output_dir/monolingual; returns the counts."""
    summary: dict = {"parallel": build_parallel(output_dir / "parallel")}
    if monolingual:
        summary["monolingual"] = build_monolingual(output_dir / "monolingual", max_documents=max_documents)
    return summary
