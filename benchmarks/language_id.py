"""Language identification for `alma-translate serve`'s source "auto": lingua vs langid on short strings.

Both libraries are restricted to the languages the translators are trained on (en de cs is zh ru), as
the server uses them, and run on every string of the out-of-source test set (Thonny's catalog, both
sides of each xx-en file): short UI strings, the hard case for language identification. Reported per
library: accuracy overall, per language and on strings under 20 characters, load time, time per
string, and the installed size. A library that is not importable is skipped, so the figures in
docs/api.md can be re-made with either or both installed (`pip install --target DIR NAME` and
`--path DIR` keeps a library out of .venv while it is measured).

    .venv/bin/python benchmarks/language_id.py --data /tmp/build1/data --path /tmp/lid-lingua --path /tmp/lid-langid
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

LANGS = ("en", "de", "cs", "is", "zh", "ru")
SHORT = 20


def load_strings(data: Path) -> list[tuple[str, str]]:
    """(language, text) for both sides of every heldout-test pair; each English string once."""
    seen: set[tuple[str, str]] = set()
    items = []
    for pair_dir in sorted((data / "parallel").glob("*-en")):
        xx = pair_dir.name.split("-")[0]
        for line in (pair_dir / "heldout-test.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for lang in (xx, "en"):
                key = (lang, record[lang].strip())
                if key[1] and key not in seen:
                    seen.add(key)
                    items.append(key)
    return items


def lingua_detector() -> Callable[[str], str | None]:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in LANGS]
    detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models().build()

    def detect(text: str) -> str | None:
        language = detector.detect_language_of(text)
        return language.iso_code_639_1.name.lower() if language is not None else None

    return detect


def langid_detector() -> Callable[[str], str | None]:
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    identifier.set_languages(list(LANGS))
    return lambda text: identifier.classify(text)[0]


def installed_size(module: str) -> int:
    """Bytes of the package folder (plus its dist-info), as a bundle would carry it."""
    spec = importlib.util.find_spec(module)
    folder = Path(spec.origin).parent
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    for info in folder.parent.glob(f"{module}*.dist-info"):
        total += sum(p.stat().st_size for p in info.rglob("*") if p.is_file())
    return total


def measure(name: str, module: str, build: Callable[[], Callable[[str], str | None]],
            items: list[tuple[str, str]]) -> dict:
    started = time.perf_counter()
    detect = build()
    load_s = time.perf_counter() - started
    right: Counter = Counter()
    total: Counter = Counter()
    confusions: dict[str, Counter] = defaultdict(Counter)
    started = time.perf_counter()
    for lang, text in items:
        guess = detect(text)
        for bucket in (lang, "all", *(["short"] if len(text) < SHORT else [])):
            total[bucket] += 1
            right[bucket] += guess == lang
        if guess != lang:
            confusions[lang][guess or "none"] += 1
    per_string_ms = (time.perf_counter() - started) / len(items) * 1000
    return {"name": name, "size_mb": installed_size(module) / 1e6, "load_s": load_s,
            "per_string_ms": per_string_ms,
            "accuracy": {k: right[k] / total[k] for k in total}, "counts": dict(total),
            "confusions": {k: dict(v.most_common(3)) for k, v in confusions.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="demo data folder (with parallel/*-en/)")
    parser.add_argument("--path", action="append", default=[], help="extra folder to import libraries from")
    args = parser.parse_args()
    sys.path[:0] = args.path
    items = load_strings(args.data)
    print(f"{len(items)} strings ({sum(len(t) < SHORT for _, t in items)} under {SHORT} characters): "
          + ", ".join(f"{lang} {n}" for lang, n in sorted(Counter(lang for lang, _ in items).items())))
    for name, module, build in (("lingua", "lingua", lingua_detector), ("langid", "langid", langid_detector)):
        if importlib.util.find_spec(module) is None:
            print(f"{name}: not installed, skipped")
            continue
        result = measure(name, module, build, items)
        acc = result["accuracy"]
        print(f"{name}: all {acc['all']:.1%}, short {acc['short']:.1%}; "
              + " ".join(f"{lang} {acc[lang]:.1%}" for lang in LANGS)
              + f"; installed {result['size_mb']:.1f} MB, load {result['load_s']:.2f} s, "
              f"{result['per_string_ms']:.3f} ms/string")
        print(f"  most frequent errors (true: guess count): {result['confusions']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
