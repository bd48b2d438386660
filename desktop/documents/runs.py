"""Runs <-> tags: a paragraph of formatted runs translated as ONE sentence, its formatting put back on the
translated words; nothing here knows XML (docs/inline_markup.md, "What the formats do with it")."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from desktop.documents import inline_markup
from desktop.documents.base import Translate


@dataclass(frozen=True)
class TextRun:
    """A run's text, its formatting identity, and the HTML element closest to it (a hint for the model)."""

    text: str
    key: Hashable
    name: str = "span"


@dataclass(frozen=True)
class Span:
    """A piece of the translation and the index of the source run whose formatting it takes."""

    text: str
    run: int


@dataclass(frozen=True)
class _Group:
    text: str
    first: int  # index of its first run: the template of its formatting
    key: Hashable
    name: str


def _groups(runs: Sequence[TextRun]) -> list[_Group]:
    """Consecutive runs of one formatting merged; a run of only spaces joins its neighbour (a bold
    space between two words is no formatting a reader sees, and a tag around it is noise to the model)."""
    groups: list[_Group] = []
    for index, run in enumerate(runs):
        if groups and (groups[-1].key == run.key or not run.text.strip()):
            last = groups[-1]
            groups[-1] = _Group(last.text + run.text, last.first, last.key, last.name)
        elif groups and not groups[-1].text.strip():  # spaces first: they take this run's formatting
            groups[-1] = _Group(groups[-1].text + run.text, index, run.key, run.name)
        else:
            groups.append(_Group(run.text, index, run.key, run.name))
    return groups


def _base_key(groups: Sequence[_Group]) -> Hashable:
    """The formatting left untagged: of the runs with no emphasis a model knows (name "span"), the one
    covering most characters; else the one covering most characters (the first of equals)."""
    chars: dict[Hashable, int] = {}
    plain: set[Hashable] = set()
    for group in groups:
        chars[group.key] = chars.get(group.key, 0) + len(group.text.strip())
        if group.name == "span":
            plain.add(group.key)
    candidates = [key for key in chars if key in plain] or list(chars)
    return max(candidates, key=lambda key: chars[key])  # max keeps the first of equals


def tag_runs(runs: Sequence[TextRun]) -> tuple[str, dict[int, int], int, dict[int, str]]:
    """(tagged string, tag id -> template run index, base template run index, tag id -> element name)."""
    groups = _groups(runs)
    base = _base_key(groups)
    base_run = next(group.first for group in groups if group.key == base)
    parts: list[str] = []
    templates: dict[int, int] = {}
    names: dict[int, str] = {}
    for number, group in enumerate(groups, start=1):
        if group.key == base:
            parts.append(inline_markup.escape_text(group.text))
            continue
        templates[number] = group.first
        names[number] = group.name
        parts.append(inline_markup.open_tag(number) + inline_markup.escape_text(group.text)
                     + inline_markup.close_tag(number))
    return "".join(parts), templates, base_run, names


def spans_of(tagged_translation: str, templates: dict[int, int], base_run: int) -> list[Span]:
    """A translated tagged string as spans: text inside tag n takes run templates[n], the rest base_run."""
    spans: list[Span] = []
    open_ids: list[int] = []
    for piece in inline_markup.parse(tagged_translation):
        if isinstance(piece, inline_markup.Tag):
            if piece.kind == "open":
                open_ids.append(piece.id)
            elif piece.kind == "close" and piece.id in open_ids:
                open_ids.remove(piece.id)
            continue
        # Tags are flat (one per stretch of formatting); the innermost one wins if a model nested them.
        run = templates.get(open_ids[-1], base_run) if open_ids else base_run
        if spans and spans[-1].run == run:
            spans[-1] = Span(spans[-1].text + piece, run)
        else:
            spans.append(Span(piece, run))
    return [span for span in spans if span.text] or [Span("", base_run)]


def segment_text(runs: Sequence[TextRun]) -> str:
    """What the runs send to translation: their plain text, or a TaggedText when formatting differs.

    A TaggedText is a str, so a document's segment count and length are measured on it as on any
    segment; the DocumentJob sends it through inline_markup.translate_tagged.
    """
    if len({run.key for run in runs}) <= 1:  # one formatting: a plain sentence, the common case
        return "".join(run.text for run in runs)
    tagged, _, _, names = tag_runs(runs)
    return inline_markup.TaggedText(tagged, names)


def translate_runs(runs: Sequence[TextRun], translate: Translate) -> list[Span]:
    """The runs' text translated as one sentence, cut into spans that carry their source formatting.

    `translate` is the document's segment translator (the DocumentJob's): it receives a TaggedText
    and answers with the tagged translation, every tag present and well nested.
    """
    text = segment_text(runs)
    if not isinstance(text, inline_markup.TaggedText):
        translated = translate(text)
        # An empty answer would leave an empty run: a field's result or a link's text would vanish.
        return [Span(translated if translated.strip() or not text.strip() else text, 0)]
    _, templates, base_run, _ = tag_runs(runs)
    result = translate(text)
    if inline_markup.check_tags(text, result) or inline_markup.emptied_tags(text, result):
        # A translator that did not carry the tags (a plain str -> str callable): put them back by
        # alignment, so every formatting still lands on some words and nothing is lost.
        plain = inline_markup.strip_tags(result)
        result = inline_markup.align_tags(text, plain)
    return spans_of(result, templates, base_run)
