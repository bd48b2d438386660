"""Inline markup through a sentence translator: a tagged sentence is translated as ONE sentence and its
markup put back around the right words, whatever the model does (docs/inline_markup.md)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal

from desktop.documents.base import has_words

TranslateText = Callable[[str], str]
TagKind = Literal["open", "close", "empty"]

# The numbered tags of the tagged string. Escaped literal text never matches it (see escape_text).
_TAG = re.compile(r"<(/?)(\d{1,6})(/?)>")
# A literal "<" that would read as a numbered tag is escaped with a character that never occurs in
# real text (U+E000, private use) followed by the rest.
_ESCAPE = "\ue000"


@dataclass(frozen=True)
class Tag:
    """One numbered tag: `id` is the caller's number, kind is open, close or empty (standalone)."""

    id: int
    kind: TagKind

    def __str__(self) -> str:
        return {"open": f"<{self.id}>", "close": f"</{self.id}>", "empty": f"<{self.id}/>"}[self.kind]


class TaggedText(str):
    """A tagged string handed to the document pipeline as one segment: the DocumentJob sends it
    through translate_tagged (with these element names as spelling hints, and `literals`: standalone
    tags shown to the model as their own text, such as a placeholder "%s") instead of translating it
    as plain text. Formats yield and translate TaggedText where a segment carries inline markup."""

    names: dict[int, str]
    literals: dict[int, str]

    def __new__(cls, tagged: str, names: Mapping[int, str] | None = None,
                literals: Mapping[int, str] | None = None) -> TaggedText:
        value = super().__new__(cls, tagged)
        value.names = dict(names or {})
        value.literals = dict(literals or {})
        return value


def open_tag(tag_id: int) -> str:
    return f"<{tag_id}>"


def close_tag(tag_id: int) -> str:
    return f"</{tag_id}>"


def empty_tag(tag_id: int) -> str:
    return f"<{tag_id}/>"


def escape_text(text: str) -> str:
    """Literal text for a tagged string: anything that would read as a numbered tag is escaped."""
    return _TAG.sub(lambda m: _ESCAPE + m.group()[1:], text.replace(_ESCAPE, ""))


def _unescape(text: str) -> str:
    return text.replace(_ESCAPE, "<")


def parse(tagged: str) -> list[str | Tag]:
    """A tagged string as plain text pieces (unescaped) and Tags, in order; empty texts left out."""
    pieces: list[str | Tag] = []
    start = 0
    for match in _TAG.finditer(tagged):
        if match.start() > start:
            pieces.append(_unescape(tagged[start:match.start()]))
        closing, number, empty = match.groups()
        if closing and empty:  # "</3/>" is no tag: kept as text, check_tags reports the missing one
            pieces.append(match.group())
        else:
            pieces.append(Tag(int(number), "close" if closing else "empty" if empty else "open"))
        start = match.end()
    if start < len(tagged):
        pieces.append(_unescape(tagged[start:]))
    return pieces


class TaggedBuilder:
    """A tagged string built while a format reads its inline markup in order (HTML, Markdown), keeping
    each tag's original markup so that a translation's tags can be written back as that markup.

    Tags are numbered 1, 2, ... as they come; `key` says what closes an open tag (an element name, a
    Markdown delimiter), so markup that does not nest is found (`close` returns False)."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}  # tag id -> element name shown to the model
        self._parts: list[str] = []
        self._markup: dict[int, str] = {}  # tag id -> opening (or standalone) markup; -id -> closing markup
        self._open: list[tuple[str, int]] = []  # (what closes it, tag id), innermost last

    def text(self, text: str) -> None:
        self._parts.append(escape_text(text))

    def open(self, key: str, markup: str, name: str) -> None:
        number = self._add(markup, name)
        self._open.append((key, number))
        self._parts.append(open_tag(number))

    def empty(self, markup: str, name: str) -> None:
        self._parts.append(empty_tag(self._add(markup, name)))

    def close(self, key: str, markup: str) -> bool:
        """Close the innermost open tag; False (nothing added) when `key` is not what closes it."""
        if self.innermost() != key:
            return False
        _, number = self._open.pop()
        self._markup[-number] = markup
        self._parts.append(close_tag(number))
        return True

    def innermost(self) -> str | None:
        return self._open[-1][0] if self._open else None

    @property
    def balanced(self) -> bool:
        return not self._open

    def tagged(self) -> str:
        return "".join(self._parts)

    def markup(self, tag: Tag) -> str:
        """The source markup a tag of the translation stands for."""
        return self._markup[-tag.id if tag.kind == "close" else tag.id]

    def _add(self, markup: str, name: str) -> int:
        number = len(self.names) + 1
        self._markup[number] = markup
        self.names[number] = name
        return number


def strip_tags(tagged: str) -> str:
    """The plain text of a tagged string (tags removed, text unescaped)."""
    return "".join(piece for piece in parse(tagged) if isinstance(piece, str))


def tags_of(tagged: str) -> list[Tag]:
    return [piece for piece in parse(tagged) if isinstance(piece, Tag)]


def check_tags(source: str, translation: str) -> list[str]:
    """What is wrong with the translation's tags compared with the source's; empty when nothing is.

    Right means: every source tag exactly once, nothing else, and paired tags opened before they are
    closed and properly nested (the order of sibling tags may change: word order differs).
    """
    problems: list[str] = []
    wanted = sorted((t.id, t.kind) for t in tags_of(source))
    got = tags_of(translation)
    if sorted((t.id, t.kind) for t in got) != wanted:
        missing = set(wanted) - {(t.id, t.kind) for t in got}
        extra = [str(t) for t in got if (t.id, t.kind) not in wanted]
        counts: dict[tuple[int, str], int] = {}
        for t in got:
            counts[(t.id, t.kind)] = counts.get((t.id, t.kind), 0) + 1
        doubled = [str(Tag(i, k)) for (i, k), n in counts.items() if n > 1]
        if missing:
            problems.append("missing " + " ".join(str(Tag(i, k)) for i, k in sorted(missing)))  # type: ignore[arg-type]
        if extra:
            problems.append("unknown " + " ".join(extra))
        if doubled:
            problems.append("repeated " + " ".join(doubled))
        return problems
    stack: list[int] = []
    for tag in got:
        if tag.kind == "open":
            stack.append(tag.id)
        elif tag.kind == "close":
            if not stack or stack[-1] != tag.id:
                problems.append(f"{tag} closes out of order")
                return problems
            stack.pop()
    if stack:
        problems.append("unclosed " + " ".join(open_tag(i) for i in stack))
    return problems


def _inner_texts(tagged: str) -> dict[int, str]:
    """Each paired tag's text (its nested tags' text included), by tag id."""
    inner: dict[int, list[str]] = {}
    open_ids: list[int] = []
    for piece in parse(tagged):
        if isinstance(piece, str):
            for tag_id in open_ids:
                inner[tag_id].append(piece)
        elif piece.kind == "open":
            open_ids.append(piece.id)
            inner.setdefault(piece.id, [])
        elif piece.kind == "close" and piece.id in open_ids:
            open_ids.remove(piece.id)
    return {tag_id: "".join(texts) for tag_id, texts in inner.items()}


def emptied_tags(source: str, translation: str) -> list[str]:
    """Paired tags that held text in the source and hold none in the translation: an emptied hyperlink
    or field would vanish from the document (a tag's text is what makes it visible)."""
    before, after = _inner_texts(source), _inner_texts(translation)
    emptied = [tag_id for tag_id, text in before.items() if text.strip() and not after.get(tag_id, "").strip()]
    return ["emptied " + " ".join(open_tag(tag_id) for tag_id in emptied)] if emptied else []


# --- spelling the tags for the model ------------------------------------------------------------

# Inline HTML element names a caller's hint may keep; anything else gets a name from the pool.
_INLINE_NAMES = frozenset({"a", "b", "i", "u", "s", "em", "strong", "code", "span", "sub", "sup", "small",
                           "mark", "kbd", "var", "samp", "q", "abbr", "cite", "del", "ins", "tt", "font"})
_NAME_POOL = ("b", "i", "em", "strong", "u", "span", "a", "code", "s", "mark", "small", "q", "cite", "abbr",
              "sub", "sup", "ins", "del", "kbd", "var", "samp", "tt", "font")
_EMPTY_NAMES = frozenset({"br", "img", "wbr", "hr"})
_HTML_TAG = re.compile(r"<(/?)\s*([A-Za-z][A-Za-z0-9]*)\s*[^<>]*?(/?)\s*>")


def _html_names(tags: list[Tag], names: Mapping[int, str] | None) -> dict[tuple[int, str], str]:
    """A distinct HTML element name per tag id (per kind class: paired or empty)."""
    chosen: dict[tuple[int, str], str] = {}
    used: set[str] = set()
    ordered = []
    seen = set()
    for tag in tags:
        key = (tag.id, "empty" if tag.kind == "empty" else "pair")
        if key not in seen:
            seen.add(key)
            ordered.append(key)
    for tag_id, kind in ordered:
        hint = (names or {}).get(tag_id, "").lower()
        if kind == "pair" and hint in _INLINE_NAMES and hint not in used:
            chosen[(tag_id, kind)] = hint
        elif kind == "empty" and hint in _EMPTY_NAMES and hint not in used:
            chosen[(tag_id, kind)] = hint
        used.update(chosen.values())
    counter = 0
    for tag_id, kind in ordered:
        if (tag_id, kind) in chosen:
            continue
        if kind == "pair":
            name = next((n for n in _NAME_POOL if n not in used), None)
        else:
            name = next((n for n in ("br", "img", "wbr", "hr") if n not in used), None)
        if name is None:  # more tags than names: numbered names, still HTML-shaped
            counter += 1
            name = f"x{counter}"
        chosen[(tag_id, kind)] = name
        used.add(name)
    return chosen


def to_html(tagged: str, names: Mapping[int, str] | None = None,
            literals: Mapping[int, str] | None = None) -> tuple[str, dict[str, Tag]]:
    """The tagged string spelled with HTML element names for the model, and the way back; a standalone
    tag in `literals` is shown as its own text (a placeholder as the model knows it from catalogs).

    Literal "<" and "&" of the text are left as they are: the model reads catalog text, not HTML.
    """
    literals = literals or {}
    pieces = parse(tagged)
    tags = [p for p in pieces if isinstance(p, Tag) and not (p.kind == "empty" and p.id in literals)]
    chosen = _html_names(tags, names)
    back: dict[str, Tag] = {}
    out: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
            continue
        if piece.kind == "empty" and piece.id in literals:
            out.append(literals[piece.id])
            continue
        if piece.kind == "empty":
            name = chosen[(piece.id, "empty")]
            spelled = f"<{name}/>"
        else:
            name = chosen[(piece.id, "pair")]
            spelled = f"<{name}>" if piece.kind == "open" else f"</{name}>"
        back[spelled] = piece
        out.append(spelled)
    return "".join(out), back


def drop_invented_markup(output: str, source_text: str) -> str:
    """The model's output without HTML-like tags that are not in the source's own text: a small model
    likes to add a <code> or <b> of its own, which would end up in the document as literal text."""
    return _HTML_TAG.sub(lambda m: m.group() if m.group() in source_text else "", output)


def from_html(translation: str, back: Mapping[str, Tag], source_text: str = "",
              literals: Mapping[int, str] | None = None) -> str:
    """The model's HTML-spelled output as a tagged string. Other HTML-like tags are dropped unless the
    source's text has them literally (then they are text, as in the source); the texts of `literals`
    become their tags again."""
    return tag_literals(_from_html(translation, back, source_text), literals or {})


def tag_literals(tagged: str, literals: Mapping[int, str]) -> str:
    """Each occurrence of a literal's text in the text of a tagged string turned into its standalone tag:
    the n-th occurrence of a text into the n-th tag (in `literals`' order) shown as it; an occurrence
    more than the source had repeats the last tag (check_tags reports it)."""
    if not literals:
        return tagged
    ids: dict[str, list[int]] = {}
    for tag_id, text in literals.items():
        ids.setdefault(text, []).append(tag_id)
    pattern = _literal_pattern(ids)
    used: dict[str, int] = {}
    out: list[str] = []
    for piece in parse(tagged):
        if isinstance(piece, Tag):
            out.append(str(piece))
            continue
        start = 0
        for match in pattern.finditer(piece):
            out.append(escape_text(piece[start:match.start()]))
            text = match.group()
            number = used.get(text, 0)
            used[text] = number + 1
            out.append(empty_tag(ids[text][min(number, len(ids[text]) - 1)]))
            start = match.end()
        out.append(escape_text(piece[start:]))
    return "".join(out)


def _literal_pattern(texts: Collection[str]) -> re.Pattern[str]:
    """Any of the literal texts, longest first; a variable ("$name") not as the start of a longer name ("$names")."""
    return re.compile("|".join(_literal_regex(text) for text in sorted(texts, key=len, reverse=True)))


def _literal_regex(text: str) -> str:
    return re.escape(text) + (r"(?!\w)" if re.fullmatch(r"\$\w+", text) else "")


def _from_html(translation: str, back: Mapping[str, Tag], source_text: str) -> str:
    out: list[str] = []
    start = 0
    for match in _HTML_TAG.finditer(translation):
        closing, name, empty = match.groups()
        spelled = f"</{name.lower()}>" if closing else f"<{name.lower()}/>" if empty else f"<{name.lower()}>"
        tag = back.get(spelled)
        if tag is None and not closing and not empty:
            tag = back.get(f"<{name.lower()}/>")  # <br> written without its slash
        if tag is None:
            if match.group() in source_text:
                continue  # literal text of the source ("<Person>"): stays text
            out.append(escape_text(translation[start:match.start()]))
            start = match.end()  # invented by the model: dropped
            continue
        out.append(escape_text(translation[start:match.start()]))
        out.append(str(tag))
        start = match.end()
    out.append(escape_text(translation[start:]))
    return "".join(out)


# --- the translation ----------------------------------------------------------------------------

Method = Literal["auto", "html", "numbered", "align"]


@dataclass
class TaggedTranslation:
    """The translation (a tagged string with all the source's tags, well nested) and how it was made.

    method: "plain" (no tags to carry), "html"/"numbered" (the model carried the tags), "align" (tags
    re-inserted by alignment), "fragments" (the text between tags translated piece by piece); model_kept_tags: whether the model's own tagged output was complete
    (None when it was not asked to carry tags); problems: what was wrong with the model's tags.
    """

    text: str
    method: str
    model_kept_tags: bool | None = None
    problems: list[str] = field(default_factory=list)


def _peel(tagged: str, keep: Collection[int] = ()) -> tuple[str, str, str]:
    """(head, core, tail): tags that wrap the whole sentence or sit at its very ends, and the rest.

    "<1><2/>Hello <3>world</3></1>" -> ("<1><2/>", "Hello <3>world</3>", "</1>").
    Leading and trailing whitespace stays with the head and tail; standalone tags in `keep` (placeholders
    the model sees as words of the sentence: "%d files" may become "Dateien: %d") stay in the core.
    """
    pieces = parse(tagged)
    head: list[str | Tag] = []
    tail: list[str | Tag] = []

    def peelable(piece: str | Tag) -> bool:
        if isinstance(piece, Tag):
            return piece.kind == "empty" and piece.id not in keep
        return not piece.strip()

    while True:
        changed = False
        while pieces and peelable(pieces[0]):
            head.append(pieces.pop(0))
            changed = True
        while pieces and peelable(pieces[-1]):
            tail.insert(0, pieces.pop())
            changed = True
        if (len(pieces) >= 2 and isinstance(pieces[0], Tag) and pieces[0].kind == "open"
                and pieces[-1] == Tag(pieces[0].id, "close")
                and not any(p == Tag(pieces[0].id, "close") for p in pieces[1:-1])):
            head.append(pieces.pop(0))
            tail.insert(0, pieces.pop())
            changed = True
        if not changed:
            break
    return _join(head), _join(pieces), _join(tail)


def _join(pieces: list[str | Tag]) -> str:
    return "".join(str(p) if isinstance(p, Tag) else escape_text(p) for p in pieces)


def translate_tagged(tagged: str, translate: TranslateText, names: Mapping[int, str] | None = None,
                     method: Method = "auto", literals: Mapping[int, str] | None = None) -> TaggedTranslation:
    """Translate a tagged string as one sentence; the result carries all its tags (see the module doc).

    names: the real element name behind each tag id where there is one ({1: "a", 2: "b"}), used to
    spell the tags for the model. literals: standalone tags the model sees as their own text ({3: "%s"}),
    found again by that text in its output. method: "auto" (HTML-spelled tags, alignment when they come
    back wrong), "html" or "numbered" (that spelling, alignment as fallback), "align" (never show tags).
    """
    literals = literals or {}
    head, core, tail = _peel(tagged, literals)
    literals = {tag.id: literals[tag.id] for tag in tags_of(core) if tag.kind == "empty" and tag.id in literals}
    if not has_words(strip_tags(core)):
        return TaggedTranslation(tagged, "plain")  # nothing a model could translate
    if not tags_of(core):
        return TaggedTranslation(head + escape_text(translate(strip_tags(core))) + tail, "plain")
    problems: list[str] = []
    outputs: dict[str, str] = {}

    def ask(text: str) -> str:  # a sentence whose only tags are literals is shown the same way twice: asked once
        if text not in outputs:
            outputs[text] = translate(text)
        return outputs[text]

    if method != "align":
        shown = first_input(core, names, method, literals)
        if method == "numbered":
            result = tag_literals(_read_numbered(drop_invented_markup(ask(shown), strip_tags(core))), literals)
        else:
            _, back = to_html(core, names, literals)
            result = from_html(ask(shown), back, strip_tags(core), literals)
        problems = check_tags(core, result) or emptied_tags(core, result)
        if not problems and has_words(strip_tags(result)):
            return TaggedTranslation(head + result + tail, "numbered" if method == "numbered" else "html", True)
    # Removing a standalone tag between two spaces leaves two: the model gets one.
    shown = _plain_for_model(core, literals)
    translation = drop_invented_markup(ask(shown), shown)
    kept = False if method != "align" else None
    if len(re.findall(r"\S+", translation)) < sum(1 for piece in parse(core) if isinstance(piece, str)
                                                  and has_words(piece)):
        # Fewer words than stretches of text (a cut or one-word answer): alignment would leave some
        # formatting, a link, with no word; each stretch is translated on its own instead.
        return TaggedTranslation(head + _fragments(core, translate) + tail, "fragments", kept, problems)
    if literals:
        aligned = _align_literals(core, translation, literals, translate)
    else:
        aligned = align_tags(core, translation, translate)
    return TaggedTranslation(head + aligned + tail, "align", kept, problems)


def _fragments(tagged: str, translate: TranslateText) -> str:
    """Each stretch of text between tags translated alone, its edge spaces and the tags kept in place."""
    out: list[str] = []
    for piece in parse(tagged):
        if isinstance(piece, Tag):
            out.append(str(piece))
            continue
        core = piece.strip()
        translated = translate(core).strip() if has_words(core) else core
        lead, trail = piece[:len(piece) - len(piece.lstrip())], piece[len(piece.rstrip()):]
        out.append(lead + escape_text(translated if has_words(translated) else core) + trail)
    return "".join(out)


def first_input(tagged: str, names: Mapping[int, str] | None = None, method: Method = "auto",
                literals: Mapping[int, str] | None = None) -> str | None:
    """What translate_tagged sends to the model first for this tagged string (None: nothing, it has no words):
    a document job decodes it ahead in a batch like a plain sentence."""
    literals = literals or {}
    _, core, _ = _peel(tagged, literals)
    if not has_words(strip_tags(core)):
        return None
    if not tags_of(core):
        return strip_tags(core)
    if method == "align":
        return _plain_for_model(core, literals)
    if method == "numbered":
        return _show_numbered(core, literals)
    return to_html(core, names, literals)[0]


def _plain_for_model(tagged: str, literals: Mapping[int, str] | None = None) -> str:
    """The sentence without tags, as the model should read it: a standalone tag (a line break, a
    code) becomes a space, so "Titel<br/>Text" is not glued into "TitelText", one of `literals` its text;
    one space where removing a tag left several."""
    literals = literals or {}
    text = "".join(piece if isinstance(piece, str) else literals.get(piece.id, " ") if piece.kind == "empty"
                   else "" for piece in parse(tagged))
    return re.sub(r"(?<=\S)[ \t]{2,}(?=\S)", " ", text)


def _show_numbered(tagged: str, literals: Mapping[int, str] | None = None) -> str:
    # What the model sees for method "numbered": the tags as they are (literals as their text), the text unescaped.
    literals = literals or {}
    return "".join(p if isinstance(p, str) else literals[p.id] if p.kind == "empty" and p.id in literals else str(p)
                   for p in parse(tagged))


def _read_numbered(translation: str) -> str:
    # The model's output read as a tagged string: its numbered tags are tags, the rest literal text.
    return "".join(str(p) if isinstance(p, Tag) else escape_text(p) for p in parse(translation))


# --- alignment ----------------------------------------------------------------------------------


@dataclass
class _Node:
    """A paired tag (or the root) with its children, and its text's place in the plain source."""

    tag_id: int | None
    start: int = 0
    end: int = 0
    children: list[_Node | tuple[int, int]] = field(default_factory=list)  # nodes, or (empty id, offset)


def _tree(tagged: str) -> tuple[_Node, str]:
    """The paired tags of a well-formed tagged string as a tree over the plain text's offsets."""
    root = _Node(None)
    stack = [root]
    plain: list[str] = []
    offset = 0
    for piece in parse(tagged):
        if isinstance(piece, str):
            plain.append(piece)
            offset += len(piece)
        elif piece.kind == "open":
            node = _Node(piece.id, start=offset)
            stack[-1].children.append(node)
            stack.append(node)
        elif piece.kind == "close":
            stack[-1].end = offset
            stack.pop()
        else:
            stack[-1].children.append((piece.id, offset))
    root.end = offset
    return root, "".join(plain)


def _word_boundaries(text: str) -> list[int]:
    """Offsets where a tag may go: the text's ends and the starts and ends of its words."""
    points = {0, len(text)}
    for match in re.finditer(r"\S+", text):
        points.add(match.start())
        points.add(match.end())
    return sorted(points)


def _nearest(points: list[int], value: float, low: int, high: int) -> int:
    inside = [p for p in points if low <= p <= high] or [low]
    return min(inside, key=lambda p: (abs(p - value), p))


def _find(needle: str, haystack: str, low: int, high: int) -> tuple[int, int] | None:
    """needle in haystack[low:high], case-insensitive, at word boundaries if possible; trailing punctuation
    of the needle forgiven (a translated phrase alone often gains a full stop)."""
    needle = needle.strip()
    candidates = [needle, needle.rstrip(".!?:;,…")]
    for candidate in candidates:
        if not any(ch.isalnum() for ch in candidate):  # a number (a field's page number) is found too
            continue
        pattern = re.compile(r"(?<!\w)" + re.escape(candidate) + r"(?!\w)", re.IGNORECASE)
        match = pattern.search(haystack, low, high) or re.compile(re.escape(candidate), re.IGNORECASE).search(
            haystack, low, high)
        if match:
            return match.start(), match.end()
    return None


def _tagged_inside(node: _Node, plain: str) -> str:
    """The tagged string inside a node of _tree (its nested tags included, its own left out)."""
    out: list[str] = []
    position = node.start
    for child in node.children:
        if isinstance(child, tuple):
            tag_id, offset = child
            out += [escape_text(plain[position:offset]), empty_tag(tag_id)]
            position = offset
        else:
            out += [escape_text(plain[position:child.start]), open_tag(child.tag_id), _tagged_inside(child, plain),
                    close_tag(child.tag_id)]
            position = child.end
    out.append(escape_text(plain[position:node.end]))
    return "".join(out)


def _filled(node: _Node, plain: str, translation: str, at: int, translate: TranslateText | None) -> str:
    """The node's tags around its own text, to be inserted at `at` of the translation: its inner text
    translated alone (when a translator is given and answers with words), else the source's text."""
    inner = plain[node.start:node.end]
    text = translate(inner.strip()).strip() if translate is not None and has_words(inner) else ""
    if not has_words(text):
        text = inner.strip()
    inside = _tagged_inside(node, plain)
    body = align_tags(inside, text, translate) if tags_of(inside) else escape_text(text)
    # Scripts written without spaces (Chinese, Japanese) get none; a one-word translation goes by the source.
    spaced = " " in translation.strip() or " " in plain.strip()
    before = " " if spaced and at > 0 and not translation[at - 1].isspace() else ""
    after = " " if spaced and at < len(translation) and translation[at].isalnum() else ""
    return before + open_tag(node.tag_id) + body + close_tag(node.tag_id) + after  # type: ignore[arg-type]


def align_tags(tagged_source: str, translation: str, translate: TranslateText | None = None) -> str:
    """Re-insert the source's tags into a plain translation; the result is always well formed.

    Each paired tag, outermost first and within its parent's place: its inner text verbatim in the
    translation (placeholders, names, code), else its inner text's own translation (`translate`, when
    given), else the same relative word position as in the source. Standalone tags keep their
    relative position, snapped to a word boundary. A paired tag that held text never comes back
    empty: when no word of the translation is left for it, it is inserted with its own text (translated
    alone when `translate` is given, else the source's).
    """
    root, plain = _tree(tagged_source)
    points = _word_boundaries(translation)
    scale = len(translation) / max(len(plain), 1)
    inserts: list[tuple[int, str]] = []  # (offset in the translation, tag)

    def place(node: _Node, low: int, high: int) -> None:
        cursor = low
        for child in node.children:
            if isinstance(child, tuple):
                tag_id, offset = child
                at = _nearest(points, offset * scale, cursor, high)
                inserts.append((at, empty_tag(tag_id)))
                cursor = at
                continue
            inner = plain[child.start:child.end]
            span = _find(inner, translation, cursor, high)
            if span is None and translate is not None and has_words(inner):
                span = _find(translate(inner), translation, cursor, high)
            if span is None:
                start = _nearest(points, child.start * scale, cursor, high)
                end = _nearest(points, child.end * scale, start, high)
                if not translation[start:end].strip() and inner.strip():  # a tag that held text keeps a word
                    end = next((p for p in points if start < p <= high and translation[start:p].strip()), start)
                span = (start, end)
            if not translation[span[0]:span[1]].strip() and inner.strip():
                # No word of the translation is left for it (a short translation, more tags than words): it
                # gets its own text, so that a hyperlink or a field never comes back empty and vanishes.
                inserts.append((span[0], _filled(child, plain, translation, span[0], translate)))
                cursor = span[0]
                continue
            inserts.append((span[0], open_tag(child.tag_id)))  # type: ignore[arg-type]
            place(child, span[0], span[1])
            inserts.append((span[1], close_tag(child.tag_id)))  # type: ignore[arg-type]
            cursor = span[1]

    place(root, 0, len(translation))
    # Inserts were made in document order and every child lies within its parent after the previous
    # sibling, so their offsets never decrease: writing them in order keeps the nesting.
    out: list[str] = []
    previous = 0
    for offset, text in inserts:
        out.append(escape_text(translation[previous:offset]))
        out.append(text)
        previous = offset
    out.append(escape_text(translation[previous:]))
    return "".join(out)


# Private-use characters standing for the literals' texts while tags are aligned (U+E000 is the escape).
_MARKER_BASE = 0xE100


def _align_literals(core: str, translation: str, literals: Mapping[int, str], translate: TranslateText) -> str:
    """align_tags for a sentence whose placeholders the model saw as text: each literal text of the
    translation becomes its tag where the model put it (one per source tag: extra copies removed, lost ones
    put at their relative place), the other tags aligned around them."""
    texts = list(dict.fromkeys(literals.values()))
    marker = {text: chr(_MARKER_BASE + number) for number, text in enumerate(texts)}
    text_of = {value: key for key, value in marker.items()}
    pattern = _literal_pattern(texts)

    def mark(text: str) -> str:
        return pattern.sub(lambda match: marker[match.group()], text)

    def unmark(text: str) -> str:
        return "".join(text_of.get(char, char) for char in text)

    # The source with each literal tag as its marker character, which align_tags treats as text.
    source = "".join(escape_text(p) if isinstance(p, str) else marker[literals[p.id]]
                     if p.kind == "empty" and p.id in literals else str(p) for p in parse(core))
    plain_source = strip_tags(source)
    marked = mark(translation)
    for text in texts:
        char = marker[text]
        wanted = [index for index, c in enumerate(plain_source) if c == char]
        found = [index for index, c in enumerate(marked) if c == char]
        if len(found) < len(wanted) and sum(other.casefold() == text.casefold() for other in texts) == 1:
            # "%D" for "%d", "{Name}" for "{name}": the model's copy in another case stands for it
            missing = len(wanted) - len(found)
            marked = re.sub(_literal_regex(text), lambda _, char=char: char, marked, count=missing, flags=re.IGNORECASE)
            found = [index for index, c in enumerate(marked) if c == char]
        for index in reversed(found[len(wanted):]):  # a copy the model added: removed
            marked = marked[:index] + marked[index + 1:]
        for offset in wanted[len(found):]:  # one the model lost: where it left a remnant, else at its place
            remnant = _remnant(text, marked)
            if remnant is not None:
                marked = marked[:remnant.start()] + char + marked[remnant.end():]
            else:
                marked = _insert_word(marked, char, offset / max(len(plain_source), 1))
    aligned = align_tags(source, marked, lambda inner: mark(translate(unmark(inner))))
    out: list[str] = []
    ids: dict[str, list[int]] = {}
    for tag_id, text in literals.items():
        ids.setdefault(marker[text], []).append(tag_id)
    used: dict[str, int] = {}
    for piece in parse(aligned):
        if isinstance(piece, Tag):
            out.append(str(piece))
            continue
        run: list[str] = []
        for char in piece:
            if char in ids:
                out.append(escape_text("".join(run)))
                run.clear()
                number = used.get(char, 0)
                used[char] = number + 1
                out.append(empty_tag(ids[char][number]))
            else:
                run.append(char)
        out.append(escape_text("".join(run)))
    return "".join(out)


def _remnant(literal: str, text: str) -> re.Match[str] | None:
    """A mangled copy of a placeholder in the model's output: its name with some of its punctuation, such as
    "(name)s" or "{ name }" for "%(name)s" or "{name}" (a bare word is a translation, not a remnant)."""
    name = max(re.findall(r"[^\W\d_][\w.]*", literal), key=len, default="")
    if len(name) < 3:
        return None
    pattern = re.compile(r"[%$#@{(\[]+\s*" + re.escape(name) + r"(?:\s*[)}\]]+[A-Za-z@]?|(?!\w))"
                         r"|(?<![\w%$#@{(\[])" + re.escape(name) + r"\s*[)}\]]+[A-Za-z@]?(?![\w])")
    return pattern.search(text)


def _insert_word(text: str, word: str, fraction: float) -> str:
    """`word` inserted at the word boundary nearest to `fraction` of the text, spaced as a word."""
    at = _nearest(_word_boundaries(text), fraction * len(text), 0, len(text))
    before = " " if at > 0 and not text[at - 1].isspace() else ""
    after = " " if at < len(text) and not text[at].isspace() else ""
    return text[:at] + before + word + after + text[at:]
