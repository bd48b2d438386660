"""Software strings with placeholders: the whole sentence to the model (placeholders shown as they are) against the
old way of cutting the text around them (docs/translate.md, "Software strings").

Data: real UI strings with placeholders (printf, %(name)s, {name}, $name, ...) and their human German translations,
from the gettext catalogs the demo data is built from (alma_train.data.catalog_sources), only where the English
string was never trained on (the valid/test splits and the held-out Deluge and Thonny catalogs), taken from each
project in turn. Both directions on the same pairs.

Methods (same model, greedy; outputs cached in a benchmark-only SQLite file, so methods share model calls):
- whole: desktop.documents.placeholders as the formats use it: the sentence to the model with its placeholders as
  they are, checked and put back by inline_markup.translate_tagged (alignment when the model loses one);
- fragments: what .po did before: the text between placeholders translated piece by piece.

Scores: placeholders exact (share of strings whose every placeholder is in the output exactly as often), chrF of the
output against the human translation (sacrebleu), model calls per string.

    nice -n 19 .venv/bin/python benchmarks/placeholders.py [--model PATH] [--limit 60] [--threads 2]
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections import Counter
from pathlib import Path

from desktop.documents.base import Translatable, protected_pieces
from desktop.documents.inline_markup import TaggedText, escape_text, strip_tags, translate_tagged
from desktop.documents.placeholders import PLACEHOLDER, software_pieces, written


def placeholders(text: str) -> Counter:
    return Counter(match.group() for match in PLACEHOLDER.finditer(text) if match.lastgroup != "tag")


def load_pairs(limit: int) -> list[tuple[str, str]]:
    """(en, de) pairs whose English has a placeholder and whose German has the same ones, never trained on."""
    from alma_train.data.catalog_sources import SOURCES
    from alma_train.data.demo_data import collect_pairs, split_of

    by_project: dict[str, list[tuple[str, str]]] = {}
    for pair in collect_pairs(SOURCES, "de"):
        if split_of(pair.en) == "train" and pair.source not in ("deluge", "thonny"):
            continue
        wanted = placeholders(pair.en)
        if wanted and wanted == placeholders(pair.xx) and any(ch.isalpha() for ch in pair.en):
            by_project.setdefault(pair.source, []).append((pair.en, pair.xx))
    chosen: list[tuple[str, str]] = []
    for project in by_project.values():
        project.sort()
    while len(chosen) < limit and any(by_project.values()):
        for project in sorted(by_project):
            if by_project[project] and len(chosen) < limit:
                chosen.append(by_project[project].pop(0))
    return chosen


def whole(text: str, translate) -> str:
    def segment(piece: str) -> str:
        if isinstance(piece, TaggedText):
            return translate_tagged(piece, translate, piece.names, literals=piece.literals).text
        return translate(piece)

    return strip_tags(written(software_pieces(escape_text(text), lines=True), segment))


def fragments(text: str, translate) -> str:
    return "".join(translate(piece.text) if isinstance(piece, Translatable) else piece
                   for piece in protected_pieces(text, PLACEHOLDER))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path,
                        default=Path.home() / ".local/share/alma-local/models/default-translator.gguf")
    parser.add_argument("--limit", type=int, default=60, help="strings per direction")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--directions", default="de-en,en-de")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/alma-placeholders-bench.sqlite3"),
                        help="the benchmark's own output cache (never the user's)")
    args = parser.parse_args()

    import sacrebleu

    from desktop.engine import TranslationEngine
    from desktop.stores.cache import TranslationCache

    engine = TranslationEngine(args.model, n_threads=args.threads, cache=TranslationCache(args.cache))
    pairs = load_pairs(args.limit)
    chrf = sacrebleu.CHRF()
    print(f"# placeholders: {len(pairs)} held-out catalog strings with placeholders per direction, model "
          f"{args.model.name}, greedy; {platform.processor() or platform.machine()}, {args.threads} threads")
    print()
    print("| direction | method | placeholders exact | chrF | model calls per string |")
    print("|---|---|---|---|---|")
    examples: list[str] = []
    for src, tgt in (tuple(direction.split("-")) for direction in args.directions.split(",")):
        for name, method in (("whole", whole), ("fragments", fragments)):
            calls: list[str] = []

            def translate(text: str, calls: list[str] = calls, src: str = src, tgt: str = tgt) -> str:
                calls.append(text)
                return engine.translate(text, src, tgt)

            exact = 0
            hyps, refs = [], []
            for index, (en, de) in enumerate(pairs):
                source, reference = (de, en) if src == "de" else (en, de)
                output = method(source, translate)
                exact += placeholders(output) == placeholders(source)
                hyps.append(output)
                refs.append(reference)
                if index < 5 and src == "en":
                    examples.append(f"- {name}: `{source}` -> `{output}` (reference `{reference}`)")
            score = chrf.corpus_score(hyps, [refs]).score
            print(f"| {src}-{tgt} | {name} | {exact}/{len(pairs)} ({100 * exact / len(pairs):.0f}%) | {score:.1f} "
                  f"| {len(calls) / len(pairs):.1f} |", flush=True)
    print()
    print(f"chrF signature: {chrf.get_signature()}")
    print()
    print("Examples (en->de, first five strings):")
    print()
    print("\n".join(examples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
