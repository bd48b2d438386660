"""Inline markup through the translator: which method keeps tags and translation quality best.

Data: real UI strings with inline HTML (<b>, <strong>, <em>, <a href>, <code>, <span>, <br>) and their
human translations, from the gettext catalogs the demo data is built from (alma_train.data.catalog_sources),
taken only where the English string was never trained on: the valid/test splits of the eight training
projects and the whole Deluge catalog (held out). Both directions (de->en, en->de) on the same pairs.

Methods, all with the same model, greedy (outputs cached in a benchmark-only SQLite file, so methods
that send the same text share one model call and a killed run resumes where it stopped):
- fragments: what the HTML/Markdown formats did before: the text between tags translated piece by
  piece, tags kept in place (tags always survive; the model sees fragments);
- numbered: the sentence with numbered tags <1>…</1> to the model, alignment when they come back wrong;
- html: the same with the tags spelled as HTML elements (<b>, <a>, ...); the module's default;
- align: the sentence without tags, tags re-inserted by alignment (never shown to the model).

Scores: model kept tags (share of sentences whose model output carried every tag, well nested: the
tag-preservation rate of the model itself; fallback then repairs the rest), final tags complete (of
what is written), chrF of the text without tags and chrF of the text with tags (each tag a token, so
tags around the wrong words cost), both against the human translation (sacrebleu, signature printed).

    nice -n 19 .venv/bin/python benchmarks/inline_markup.py [--model PATH] [--limit 40] [--threads 2]
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
from pathlib import Path

from desktop.documents.inline_markup import (
    check_tags,
    close_tag,
    empty_tag,
    escape_text,
    open_tag,
    parse,
    strip_tags,
    translate_tagged,
)

_INLINE = re.compile(r"<(/?)(b|strong|i|em|a|code|span|tt|kbd|u|abbr|samp|var|q|s|small|sup|sub|mark|br|img)"
                     r"\b[^<>]*?(/?)>", re.IGNORECASE)
_VOID = {"br", "img"}


def html_to_tagged(text: str, ids: dict[str, list[int]] | None = None) -> tuple[str, dict[int, str], dict[int, str]] | None:
    """An HTML string as a tagged string: (tagged, id -> element name, id -> raw opening tag).

    With `ids` (raw opening tag -> ids of the source side), the reference's tags get the source's
    ids, so the two tagged strings can be compared; None when a tag has no counterpart.
    """
    out: list[str] = []
    names: dict[int, str] = {}
    raws: dict[int, str] = {}
    stack: list[tuple[str, int]] = []
    pool = {raw: list(numbers) for raw, numbers in (ids or {}).items()}
    by_name: dict[str, list[int]] = {}
    for raw, numbers in pool.items():
        by_name.setdefault(_INLINE.match(raw).group(2).lower(), []).extend(numbers)
    next_id = 1
    start = 0
    for match in _INLINE.finditer(text):
        out.append(escape_text(text[start:match.start()]))
        start = match.end()
        closing, name, selfclosing = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            if not stack or stack[-1][0] != name:
                return None
            out.append(close_tag(stack.pop()[1]))
            continue
        if ids is None:
            number, next_id = next_id, next_id + 1
        else:
            raw = match.group()
            candidates = pool.get(raw) or by_name.get(name) or []
            if not candidates:
                return None
            number = candidates.pop(0)
            for other in (pool.get(raw, []), by_name.get(name, [])):
                if number in other:
                    other.remove(number)
        names[number] = name
        raws[number] = match.group()
        if name in _VOID or selfclosing:
            out.append(empty_tag(number))
        else:
            out.append(open_tag(number))
            stack.append((name, number))
    out.append(escape_text(text[start:]))
    if stack:
        return None
    return "".join(out), names, raws


def load_pairs(limit: int) -> list[tuple[str, str]]:
    """(en, de) pairs with inline HTML on both sides, never trained on, balanced over projects."""
    from alma_train.data.catalog_sources import SOURCES
    from alma_train.data.demo_data import collect_pairs, split_of

    pairs = []
    for pair in collect_pairs(SOURCES, "de"):
        if not (_INLINE.search(pair.en) and _INLINE.search(pair.xx)):
            continue
        if split_of(pair.en) == "train" and pair.source not in ("deluge", "thonny"):
            continue
        source = html_to_tagged(pair.en)
        if source is None or html_to_tagged(pair.xx, _ids(source)) is None:
            continue
        pairs.append((pair.en, pair.xx, pair.source))
    pairs.sort(key=lambda p: (p[2], p[0]))
    # Take projects in turn, so one large catalog does not decide the result.
    by_project: dict[str, list] = {}
    for pair in pairs:
        by_project.setdefault(pair[2], []).append(pair)
    chosen: list[tuple[str, str]] = []
    while len(chosen) < limit and any(by_project.values()):
        for project in sorted(by_project):
            if by_project[project] and len(chosen) < limit:
                en, de, _ = by_project[project].pop(0)
                chosen.append((en, de))
    return chosen


def _ids(tagged: tuple[str, dict[int, str], dict[int, str]]) -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {}
    for number, raw in sorted(tagged[2].items()):
        ids.setdefault(raw, []).append(number)
    return ids


def fragments(tagged: str, translate) -> str:
    """The old way: each stretch of text between tags translated alone."""
    out = []
    for piece in parse(tagged):
        if isinstance(piece, str):
            body = piece.strip()
            if any(ch.isalpha() for ch in body):
                lead = piece[: len(piece) - len(piece.lstrip())]
                trail = piece[len(piece.rstrip()):]
                out.append(escape_text(lead + translate(body) + trail))
            else:
                out.append(escape_text(piece))
        else:
            out.append(str(piece))
    return "".join(out)


def tokens_with_tags(tagged: str) -> str:
    """The tagged string for chrF: tags as separate tokens."""
    return " ".join("".join(f" {p} " if not isinstance(p, str) else p for p in parse(tagged)).split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path,
                        default=Path.home() / ".local/share/alma-local/models/default-translator.gguf")
    parser.add_argument("--limit", type=int, default=40, help="tagged strings per direction")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--methods", default="html,align,fragments,numbered")
    parser.add_argument("--directions", default="de-en,en-de", help="comma-separated, e.g. de-en")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/alma-inline-markup-bench.sqlite3"),
                        help="the benchmark's own output cache (never the user's)")
    args = parser.parse_args()

    import sacrebleu

    from desktop.engine import TranslationEngine
    from desktop.stores.cache import TranslationCache

    engine = TranslationEngine(args.model, n_threads=args.threads, cache=TranslationCache(args.cache))
    pairs = load_pairs(args.limit)
    methods = args.methods.split(",")
    chrf = sacrebleu.CHRF()
    print(f"# inline markup: {len(pairs)} held-out tagged catalog strings per direction, model "
          f"{args.model.name}, greedy; "
          f"{platform.processor() or platform.machine()}, {args.threads} threads")
    print()
    print("| direction | method | model kept tags | final tags complete | chrF (text) | chrF (with tags) "
          "| model inputs per string |")
    print("|---|---|---|---|---|---|---|")
    examples: list[str] = []
    for src, tgt in (tuple(direction.split("-")) for direction in args.directions.split(",")):
        items = []
        for en, de in pairs:
            source_html, ref_html = (de, en) if src == "de" else (en, de)
            source = html_to_tagged(source_html)
            ref = html_to_tagged(ref_html, _ids(source))
            items.append((source, ref))
        for method in methods:
            calls: list[str] = []

            def translate(text: str, calls: list[str] = calls, src: str = src, tgt: str = tgt) -> str:
                calls.append(text)  # what the method asks of the model (the cache may answer it)
                return engine.translate(text, src, tgt)

            kept = complete = 0
            hyps_plain, refs_plain, hyps_tags, refs_tags = [], [], [], []
            for index, ((tagged, names, _), (ref, _, _)) in enumerate(items):
                if method == "fragments":
                    output, model_kept = fragments(tagged, translate), None
                else:
                    result = translate_tagged(tagged, translate, names=names, method=method)
                    output, model_kept = result.text, result.model_kept_tags
                kept += bool(model_kept)
                complete += not check_tags(tagged, output)
                hyps_plain.append(strip_tags(output))
                refs_plain.append(strip_tags(ref))
                hyps_tags.append(tokens_with_tags(output))
                refs_tags.append(tokens_with_tags(ref))
                if index < 4 and src == "en":
                    examples.append(f"- {method}, {src}->{tgt}: `{tagged}` -> `{output}` (reference `{ref}`)")
            plain = chrf.corpus_score(hyps_plain, [refs_plain]).score
            with_tags = chrf.corpus_score(hyps_tags, [refs_tags]).score
            kept_text = "n/a" if method in ("fragments", "align") else f"{kept}/{len(items)} ({100 * kept / len(items):.0f}%)"
            print(f"| {src}-{tgt} | {method} | {kept_text} | {complete}/{len(items)} | {plain:.1f} | {with_tags:.1f} "
                  f"| {len(calls) / len(items):.1f} |", flush=True)
    print()
    print(f"chrF signature: {chrf.get_signature()}")
    print()
    print("Examples (en->de, first four strings):")
    print()
    print("\n".join(examples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
