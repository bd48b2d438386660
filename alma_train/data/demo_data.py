"""Build the demo corpora from real data that installs offline: PyPI packages' translation catalogs (parallel,
split by a hash of the English side, two held-out projects) and Debian's man pages (monolingual);
docs/training.md#the-demo-data-alma-train-demo-data."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from alma_core.atomic import atomic_writer, write_text_atomic
from alma_core.languages import DATA_LANGUAGES, EXTRA_LANGUAGES, PAPER_LANGUAGES
from alma_train.data.catalog_sources import (
    HELDOUT_TEST,
    HELDOUT_VALID,
    SOURCES,
    TRAIN,
    CatalogSource,
    catalog_files,
    get_source,
    installed_version,
    iter_catalog_pairs,
    read_source_pairs,
)
from alma_train.data.parallel import cap_per_group

DEMO_LANGUAGES = PAPER_LANGUAGES
# Every language demo-data can build (`--languages all`).
ALL_LANGUAGES = DATA_LANGUAGES  # the paper five, then the extra fifteen, as the app lists them
# The held-out sets are chosen per group, in this order, each group's over all of its languages whatever
# is asked for: the paper five's sets and splits stay exactly as they were before the extra languages
# came (so earlier results stay comparable), and a language's data never depends on which others are built.
HELDOUT_GROUPS = (PAPER_LANGUAGES, EXTRA_LANGUAGES)
DEMO_MONO_LANGUAGES = ("en", "de", "cs", "ru", "zh")
# Django's locale folder names for our codes.
DJANGO_LOCALES = {"de": "de", "cs": "cs", "is": "is", "zh": "zh_Hans", "ru": "ru"}
# Debian man page folders for our codes ("" is the untranslated, English tree).
MAN_LOCALES = {"en": "", "de": "de", "cs": "cs", "ru": "ru", "zh": "zh_CN"}
SPLITS = ("train", "valid", "test")
HELDOUT_SPLITS = ("heldout-valid", "heldout-test")
# Per hundred: train < 80 <= valid < 90 <= test.
SPLIT_BOUNDS = (80, 90)
# In-source valid/test pairs kept per language (the held-out sets have HELDOUT_PAIRS each).
EVAL_SPLIT_PAIRS = 200
# Pairs per language in each out-of-source set: a couple hundred short segments is plenty for a loss or
# a chrF, and keeps an evaluation over 10 directions affordable on a CPU.
HELDOUT_PAIRS = 200


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


def read_django_pairs(lang: str, root: Path | None = None) -> list[CatalogPair]:
    """Cleaned, translated singular entries of Django's catalogs for one language, one per English."""
    source = get_source("django")
    paths = (sorted(root.glob(f"**/locale/{DJANGO_LOCALES[lang]}/LC_MESSAGES/*.po")) if root
             else catalog_files(source, lang))
    seen: dict[str, CatalogPair] = {}
    for po_path in paths:
        for en, xx in iter_catalog_pairs(po_path, lang):
            seen.setdefault(en, CatalogPair(en=en, xx=xx, source=source.name))
    return list(seen.values())


def english_key(english: str) -> str:
    """The English side as splits and leak checks compare it: case, spacing and punctuation ignored,
    so "Password", "password:" and "Password…" are one string (they must never straddle two splits)."""
    return " ".join(re.sub(r"[\W_]+", " ", english.casefold()).split())


def _bucket(english: str) -> int:
    return int(hashlib.sha256(english_key(english).encode("utf-8")).hexdigest(), 16) % 100


def split_of(english: str) -> str:
    """train/valid/test, from a stable hash of the (normalised) English side."""
    bucket = _bucket(english)
    if bucket < SPLIT_BOUNDS[0]:
        return "train"
    if bucket < SPLIT_BOUNDS[1]:
        return "valid"
    return "test"


def _hash_order(english: str) -> str:
    return hashlib.sha256(english_key(english).encode("utf-8")).hexdigest()


def write_jsonl_atomic(path: Path, records: Iterable[dict]) -> int:
    """Write JSON Lines atomically; return the record count."""
    count = 0
    with atomic_writer(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def collect_pairs(sources: Sequence[CatalogSource], lang: str) -> list[CatalogPair]:
    """Cleaned pairs of the given sources for one language, deduplicated across sources: the same
    English + translation once, credited to the first source (in the order given)."""
    seen: dict[tuple[str, str], CatalogPair] = {}
    for source in sources:
        if lang not in source.locales:
            continue
        for en, xx in read_source_pairs(source, lang):
            seen.setdefault((en, xx), CatalogPair(en=en, xx=xx, source=source.name))
    return list(seen.values())


def _one_per_english(pairs: Iterable[CatalogPair]) -> list[CatalogPair]:
    # Evaluation sets keep one reference per English string (the first source's).
    seen: dict[str, CatalogPair] = {}
    for pair in pairs:
        seen.setdefault(english_key(pair.en), pair)
    return list(seen.values())


def select_heldout(pairs_by_lang: dict[str, list[CatalogPair]], size: int,
                   exclude: set[str] = frozenset()) -> dict[str, list[CatalogPair]]:
    """Up to `size` pairs per language from one out-of-source set, one per English string, none whose
    English key is in `exclude`. English strings translated in more languages come first (so the
    directions share their segments as far as the catalogs allow), then a stable hash order."""
    candidates = {lang: [p for p in _one_per_english(pairs) if english_key(p.en) not in exclude]
                  for lang, pairs in pairs_by_lang.items()}
    coverage: dict[str, int] = {}
    for pairs in candidates.values():
        for pair in pairs:
            key = english_key(pair.en)
            coverage[key] = coverage.get(key, 0) + 1
    chosen = {}
    for lang, pairs in candidates.items():
        ranked = sorted(pairs, key=lambda p: (-coverage[english_key(p.en)], _hash_order(p.en)))
        chosen[lang] = sorted(ranked[:size], key=lambda p: _hash_order(p.en))
    return chosen


def _balanced_sample(pairs: list[CatalogPair], size: int) -> list[CatalogPair]:
    """Up to `size` pairs taken round-robin over the sources (each source's in hash order), so that a
    big source (Gramps) does not make the in-source valid/test sets mostly its own; hash order out."""
    queues = {source: sorted((p for p in pairs if p.source == source), key=lambda p: _hash_order(p.en))
              for source in dict.fromkeys(p.source for p in pairs)}
    chosen: list[CatalogPair] = []
    while len(chosen) < size and any(queues.values()):
        for queue in queues.values():
            if queue and len(chosen) < size:
                chosen.append(queue.pop(0))
    return sorted(chosen, key=lambda p: _hash_order(p.en))


def _record(lang: str, pair: CatalogPair) -> dict:
    return {lang: pair.xx, "en": pair.en, "source": pair.source}


def build_parallel(output_dir: Path, languages: Iterable[str] = DEMO_LANGUAGES,
                   sources: Sequence[CatalogSource] = SOURCES, heldout_pairs: int = HELDOUT_PAIRS,
                   max_train_pairs_per_source: int | None = None,
                   eval_pairs: int = EVAL_SPLIT_PAIRS) -> dict[str, dict[str, int]]:
    """Write output_dir/<xx>-en/{train,valid,test,heldout-valid,heldout-test}.jsonl, output_dir/SOURCES.md
    and output_dir/sources.json; return counts per pair and split.

    The out-of-source sets are chosen per group of HELDOUT_GROUPS over all of its languages whatever
    `languages` asks for, so the English strings removed from training (and hence the training splits)
    do not depend on it. A group's training splits lose the held-out strings of its own and every earlier
    group (the extra languages lose the paper five's too; the paper five's splits are as before).
    The in-source valid and test splits keep up to `eval_pairs` pairs per language, balanced over the
    sources. `max_train_pairs_per_source` caps each source's train split per language (a stable hash sample):
    Gramps alone is over half of the training pairs, and quick runs need far fewer.
    """
    languages = check_languages(languages)
    by_role = {role: [s for s in sources if s.role == role] for role in (TRAIN, HELDOUT_VALID, HELDOUT_TEST)}
    test_sets, valid_sets, heldout_keys = _heldout_sets(by_role, languages, heldout_pairs)

    counts: dict[str, dict[str, int]] = {}
    per_source: dict[str, dict[str, dict[str, int]]] = {}
    for lang in languages:
        by_split: dict[str, list[CatalogPair]] = {s: [] for s in SPLITS}
        for pair in collect_pairs(by_role[TRAIN], lang):
            if english_key(pair.en) not in heldout_keys[lang]:
                by_split[split_of(pair.en)].append(pair)
        for split in ("valid", "test"):
            # One reference per English string, and a size that a full evaluation of all ten
            # directions can afford on a CPU (the rest of the bucket is left unused, never trained).
            by_split[split] = _balanced_sample(_one_per_english(by_split[split]), eval_pairs)
        if max_train_pairs_per_source is not None:
            by_split["train"] = cap_per_group(by_split["train"], max_train_pairs_per_source, lambda p: p.source,
                                              lambda p: (_hash_order(p.en), p.xx))
        by_split["heldout-valid"] = valid_sets.get(lang, [])
        by_split["heldout-test"] = test_sets.get(lang, [])
        pair_name = f"{lang}-en"
        counts[pair_name] = {}
        for split, pairs in by_split.items():
            counts[pair_name][split] = write_jsonl_atomic(output_dir / pair_name / f"{split}.jsonl",
                                                          (_record(lang, p) for p in pairs))
            for pair in pairs:
                cell = per_source.setdefault(pair.source, {}).setdefault(lang, {})
                cell[split] = cell.get(split, 0) + 1
    write_sources_summary(output_dir, sources, languages, per_source, heldout_pairs)
    return counts


def check_languages(languages: Iterable[str]) -> list[str]:
    """The languages asked for, in order, each once; a ValueError names any that demo-data cannot build."""
    chosen = list(dict.fromkeys(languages))
    unknown = [lang for lang in chosen if lang not in ALL_LANGUAGES]
    if unknown or not chosen:
        raise ValueError(f"languages {', '.join(unknown) or '(none)'}: demo-data builds "
                         f"{', '.join(ALL_LANGUAGES)} (or 'all', 'paper')")
    return chosen


def parse_languages(text: str) -> list[str]:
    """`--languages`: comma-separated codes, `paper` (the five), `all`, or a mix ("paper,fr,es")."""
    names = {"all": ALL_LANGUAGES, "paper": PAPER_LANGUAGES}
    return check_languages(code for item in text.split(",") if item.strip()
                           for code in names.get(item.strip(), (item.strip(),)))


def _heldout_sets(by_role: dict[str, list[CatalogSource]], languages: Sequence[str], size: int
                  ) -> tuple[dict[str, list[CatalogPair]], dict[str, list[CatalogPair]], dict[str, set[str]]]:
    """The test and validation sets of every group up to the last one `languages` needs, and per language
    the English keys its training splits must not hold (its group's and every earlier group's)."""
    last = max(i for i, group in enumerate(HELDOUT_GROUPS) if set(group) & set(languages))
    test_sets: dict[str, list[CatalogPair]] = {}
    valid_sets: dict[str, list[CatalogPair]] = {}
    test_keys: set[str] = set()
    heldout_keys: set[str] = set()
    excluded: dict[str, set[str]] = {}
    for group in HELDOUT_GROUPS[:last + 1]:
        tests = select_heldout({lang: collect_pairs(by_role[HELDOUT_TEST], lang) for lang in group}, size)
        test_keys |= {english_key(p.en) for pairs in tests.values() for p in pairs}
        valids = select_heldout({lang: collect_pairs(by_role[HELDOUT_VALID], lang) for lang in group}, size,
                                exclude=test_keys)
        heldout_keys |= test_keys | {english_key(p.en) for pairs in valids.values() for p in pairs}
        test_sets.update(tests)
        valid_sets.update(valids)
        excluded.update({lang: set(heldout_keys) for lang in group})
    return test_sets, valid_sets, excluded


def write_sources_summary(output_dir: Path, sources: Sequence[CatalogSource], languages: Sequence[str],
                          per_source: dict[str, dict[str, dict[str, int]]], heldout_pairs: int) -> None:
    """output_dir/SOURCES.md (for people) and output_dir/sources.json (for programs)."""
    splits = (*SPLITS, *HELDOUT_SPLITS)
    rows = []
    for source in sources:
        rows.append({
            "name": source.name, "role": source.role, "licence": source.licence, "domain": source.domain,
            "requirements": list(source.requirements), "installed": installed_version(source),
            "languages": [lang for lang in languages if lang in source.locales],
            "counts": {lang: {s: per_source.get(source.name, {}).get(lang, {}).get(s, 0) for s in splits}
                       for lang in languages if lang in source.locales},
            "note": source.note,
        })
    write_text_atomic(output_dir / "sources.json", json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    lines = [
        "# Parallel data sources",
        "",
        "Human-written translations from the catalogs that PyPI packages ship (alma_train/data/catalog_sources.py).",
        "Records: `{\"<xx>\": translation, \"en\": English, \"source\": project}` per line.",
        "",
        "- `<xx>-en/train.jsonl`, `valid.jsonl`, `test.jsonl`: the training sources, split 80/10/10 by a hash",
        "  of the English side (the same English string is in the same split for every language and source);",
        f"  valid and test keep up to {EVAL_SPLIT_PAIRS} pairs per language, taken in turn from each source.",
        f"- `<xx>-en/heldout-valid.jsonl`: out-of-source validation, up to {heldout_pairs} pairs per language from",
        "  a project never trained on; choose steps, learning rate and the best checkpoint on it.",
        f"- `<xx>-en/heldout-test.jsonl`: out-of-source test, up to {heldout_pairs} pairs per language from another",
        "  project, used for no choice at all.",
        "- No English string of either held-out set (case and punctuation ignored) is in train/valid/test.",
        "- The operating system's message catalogs (/usr/share/locale) are never a source: they are the",
        "  outside test set of benchmarks/outside_testset.py.",
        "",
        "| source | role | licence | version | domain |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['name']} | {row['role']} | {row['licence']} | {row['installed']} | {row['domain']} |")
    lines += ["", "Pairs per source, language and split (train / valid / test / heldout-valid / heldout-test):", "",
              "| source | " + " | ".join(languages) + " |", "|---" * (len(languages) + 1) + "|"]
    for row in rows:
        cells = []
        for lang in languages:
            if lang not in row["counts"]:
                cells.append("-")
                continue
            c = row["counts"][lang]
            cells.append(f"{c['heldout-valid']}" if row["role"] == HELDOUT_VALID
                         else f"{c['heldout-test']}" if row["role"] == HELDOUT_TEST
                         else f"{c['train']} / {c['valid']} / {c['test']}")
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    totals = []
    for lang in languages:
        t = {s: sum(r["counts"].get(lang, {}).get(s, 0) for r in rows) for s in splits}
        totals.append(" / ".join(str(t[s]) for s in splits))
    lines.append("| **all** | " + " | ".join(totals) + " |")
    lines += ["", "Notes:"] + [f"- {r['name']}: {r['note']}" for r in rows if r["note"]]
    write_text_atomic(output_dir / "SOURCES.md", "\n".join(lines) + "\n")


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


def build_catalog_monolingual(output_dir: Path, parallel_dir: Path, lang: str, chars: int = 1500) -> int:
    """Write output_dir/<lang>.jsonl from the <lang> side of the parallel *train* split (never valid, test
    or held-out text), a source's consecutive segments joined line by line into documents of about
    `chars` characters. A stand-in where no running text of the language installs offline (Icelandic:
    no Debian man pages, no PyPI corpus). Returns the document count."""
    records = [json.loads(line) for line in
               (parallel_dir / f"{lang}-en" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    docs: list[dict] = []
    lines: list[str] = []
    size = 0
    for index, record in enumerate(records):
        lines.append(record[lang])
        size += len(record[lang]) + 1
        last = index + 1 == len(records) or records[index + 1].get("source") != record.get("source")
        if size >= chars or last:
            docs.append({"text": "\n".join(lines), "source": f"{record.get('source')} catalog ({lang}, train split)"})
            lines, size = [], 0
    return write_jsonl_atomic(output_dir / f"{lang}.jsonl", docs)


def build_demo_data(output_dir: Path, monolingual: bool = True, max_documents: int = 150,
                    heldout_pairs: int = HELDOUT_PAIRS, max_train_pairs_per_source: int | None = None,
                    languages: Sequence[str] = DEMO_LANGUAGES) -> dict:
    """Both demo corpora under output_dir/parallel and output_dir/monolingual, and output_dir/SOURCES.md;
    returns the counts: per pair and split, per source, and monolingual documents per language.
    `languages`: the parallel data's (the monolingual corpus is the paper five's stage-1 text)."""
    parallel_dir = output_dir / "parallel"
    summary: dict = {"parallel": build_parallel(parallel_dir, languages=languages, heldout_pairs=heldout_pairs,
                                                max_train_pairs_per_source=max_train_pairs_per_source)}
    rows = json.loads((parallel_dir / "sources.json").read_text(encoding="utf-8"))
    summary["sources"] = {row["name"]: {lang: {split: n for split, n in cells.items() if n}
                                        for lang, cells in row["counts"].items()} for row in rows}
    mono_lines: list[str] = []
    if monolingual:
        mono_dir = output_dir / "monolingual"
        counts = build_monolingual(mono_dir, max_documents=max_documents)
        mono_lines = [
            "", "# Monolingual data (stage 1)", "",
            "| language | documents | from |", "|---|---|---|",
            *(f"| {lang} | {n} | Debian man pages ({'manpages' if lang == 'en' else 'manpages-' + lang}), "
              "rendered with groff |" for lang, n in counts.items()),
        ]
        if "is-en" in summary["parallel"]:  # Icelandic's stand-in needs its parallel train split
            counts["is"] = build_catalog_monolingual(mono_dir, parallel_dir, "is")
            mono_lines.append(f"| is | {counts['is']} | the Icelandic side of the parallel train split (catalog "
                              "strings, one per line): no running Icelandic text installs offline |")
        summary["monolingual"] = counts
    parallel_md = (parallel_dir / "SOURCES.md").read_text(encoding="utf-8")
    write_text_atomic(output_dir / "SOURCES.md", parallel_md.replace("`<xx>-en/", "`parallel/<xx>-en/")
                      + "\n".join(mono_lines) + ("\n" if mono_lines else ""))
    return summary
