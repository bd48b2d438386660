"""Software strings (.po, XLIFF) as whole sentences for the model with their placeholders and syntax kept exact: printf,
{0}/{name}, $name, HTML, ICU plural/select branches, & accelerators, tab shortcuts (docs/translate.md, "Software strings")."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from desktop.documents import icu_message
from desktop.documents.base import Piece, Translatable, has_words
from desktop.documents.inline_markup import (
    Tag,
    TaggedText,
    check_tags,
    empty_tag,
    escape_text,
    parse,
    strip_tags,
)

# Not a caller's numbered tag ("<3>", "</3>", "<3/>"): the classes below never reach into one.
_NOT_TAG = r"(?!</?\d)"
# Placeholders the model sees as they are (it was trained on catalogs that carry them): printf and its
# positional, Python, Qt, Apple and Ruby kinds, brace formats (Python, .NET, Java, ICU simple arguments,
# {{ }} templates), $variables and entities. Named groups say how each is shown: "code" ones as an empty
# HTML element (whitespace and directives a model would rewrite), "tag" ones as the HTML tag they are.
PLACEHOLDER = re.compile(
    rf"(?P<code><!--(?:{_NOT_TAG}[^\n]){{0,2000}}?-->"  # HTML comments, Cheetah/SSI directives <!--#if $a #-->
    r"|\\[nrt]|\t)"  # escapes written out, a tab
    r"|(?P<tag></?[A-Za-z][\w:.-]{0,64}(?:\s[^<>]{0,2000})?/?>)"  # HTML tags, paired where they pair
    r"|%[A-Za-z_][A-Za-z0-9_]{1,64}"  # a word: Drupal's %name, %url (not printf's %n and "ame"); %ld, %dpx whole
    r"|%(?:\d+\$|\([^()\s<>]{1,64}\))?[-+#0']*(?:\d+|\*(?:\d+\$)?)?(?:\.(?:\d+|\*(?:\d+\$)?))?"
    r"(?:hh|ll|[hlLqjzt]|I64|I32)?[diouxXeEfFgGaAcspnCS@%]"  # %s %04x %% %1$s %(name)s %ld %1$@
    r"|%#@\w+@|%\{\w+\}|%L?\d{1,2}(?!\d)"  # Apple %#@KEY@, Ruby %{name}, Qt %1 %L1
    r"|\{\{[^{}<>]{0,200}\}\}|\$\{[^{}<>]{0,200}\}"  # {{ name }}, ${name}
    r"|\$[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\]\s<>]*\])*"  # $name, $obj.attr, $stages[$stage]
    r"|\{[\w.\[\]]{0,200}(?:![rsa])?(?::[^{}<>]{0,200})?\}"  # {} {0} {name} {0:N2} {name!r}
    r"|\{\s*\w+\s*,\s*-?\w+(?:\s*[,:][^{}<>]{0,200})?\}"  # {0,-10} {0,number,#.##} {n, date, short}
    r"|&(?:[A-Za-z][\w.-]*|#\d+|#[xX][0-9A-Fa-f]+);"  # &amp; &#160;
)
# An ICU message that does not parse: its syntax protected piece by piece, the words between translated.
_BROKEN_ICU = re.compile(
    r"\{\s*[^\s{}',#]+\s*,\s*(?:plural|select|selectordinal)\s*,(?:\s*offset\s*:\s*\d+)?"
    r"(?:\s*(?:=\s*-?\d+|[A-Za-z_]\w*)\s*\{)?"
    r"|\}\s*(?:=\s*-?\d+|[A-Za-z_]\w*)\s*\{|[{}#]")
# A keyboard shortcut after a tab at the end of a UI string ("&New\tCtrl+N"); in other strings only one that
# names a modifier or a function key.
_SHORTCUT_UI = re.compile(r"\t[^\t\n<>\ue000]{1,32}\Z")
_SHORTCUT = re.compile(r"\t(?:(?:Ctrl|Control|Alt|AltGr|Shift|Cmd|Command|Meta|Super|Win|Option|Opt|Strg|Umschalt)"
                       r"\s*[+-]\s*)+[^\t\n<>\ue000]{1,16}\Z|\tF\d{1,2}\Z", re.IGNORECASE)
# Accelerator syntax of UI strings: "&&" a literal ampersand, "&F" marks F.
_AMPERSANDS = re.compile(r"&&|&(?=[^\W_])")
_ELEMENT = re.compile(r"</?([A-Za-z][\w:.-]*)")
# A line's comment or list mark ("## ", "- ", "* ", "> ", "1. "): kept in front of the line's translation (one "#"
# is not: "# of files" is a sentence).
_LINE_MARK = re.compile(r"[ \t]*(?:#{2,6}|[-*•>]|\d{1,3}[.)])[ \t]+")


@dataclass
class _Run:
    """One text to translate, built up item by item: the tagged string the model's pipeline gets (the caller's
    tags as they are, new standalone or paired tags for what is protected) and how to write each new tag back."""

    first_id: int
    icu: bool = False  # written as ICU message text: literal text quoted
    amp: bool = False  # the string has accelerator syntax: the translation's "&" doubled
    braces: bool = True  # the model's own braces kept (a malformed ICU message's are the source's only)
    parts: list[str] = field(default_factory=list)
    markup: dict[str, tuple[str, bool]] = field(default_factory=dict)  # new tag ("<4/>") -> (text, quoted like text)
    names: dict[int, str] = field(default_factory=dict)
    literals: dict[int, str] = field(default_factory=dict)
    accelerator: str | None = None  # the letter the source's "&" marked

    def new_id(self) -> int:
        return self.first_id + len(self.names) + len(self.literals)

    def text(self, text: str) -> None:
        self.parts.append(text)

    def caller(self, tag: str) -> None:
        self.parts.append(tag)

    def protected(self, text: str, quoted: bool, name: str | None = None, kind: str = "empty",
                  number: int | None = None) -> int:
        """A protected span as a new tag: shown as its own text (name None) or as the HTML element `name`;
        a closing tag takes its opening tag's `number`."""
        if number is None:
            number = self.new_id()
            if name is None:
                self.literals[number] = strip_tags(text)
            else:
                self.names[number] = name
        tag = {"empty": empty_tag(number), "open": f"<{number}>", "close": f"</{number}>"}[kind]
        self.markup[tag] = (text, quoted)
        self.parts.append(tag)
        return number

    def tagged(self) -> str:
        return "".join(self.parts)


def software_pieces(tagged: str, names: Mapping[int, str] | None = None, *, ui: bool = False,
                    lines: bool = False) -> list[Piece]:
    """A software string cut into what is kept as it is (str) and the sentences to translate (Translatable).

    tagged: the string as a tagged string (inline_markup: escaped text and the caller's numbered tags, such as an
    XLIFF unit's codes; names: their HTML spelling). Each Translatable's text is a TaggedText (plain str when it
    has no tag) whose placeholders are tags, and its `written` turns the translation back into a tagged string
    with only the caller's tags: joined with the kept pieces it is the translated string. ui: the format says
    the string is UI text (accelerators, shortcuts); lines: a line break ends a sentence (gettext strings).
    """
    names = dict(names or {})
    first_id = max((tag.id for tag in _tags(tagged)), default=0) + 1
    suffix = ""
    shortcut = (_SHORTCUT_UI if ui else _SHORTCUT).search(tagged)
    if shortcut:  # "&New\tCtrl+N": the key names stay as they are
        tagged, suffix = tagged[:shortcut.start()], shortcut.group()
    amp = _ampersands(tagged) if ui else None
    pieces: list[Piece] = []
    if icu_message.is_icu(tagged):
        try:
            message = icu_message.parse(tagged)
        except icu_message.IcuSyntaxError:
            message = None
        if message is not None and message.branching():
            built = _icu_pieces(message, names, first_id, amp, lines, in_plural=False)
            if built is not None:
                pieces = built
        if not pieces:  # not well-formed ICU, or branches that cut through the caller's markup
            pieces = _text_pieces(tagged, names, first_id, amp, lines, broken_icu=True)
    else:
        pieces = _text_pieces(tagged, names, first_id, amp, lines)
    if suffix:
        pieces.append(suffix)
    return pieces


def written(pieces: list[Piece], translate: Callable[[str], str]) -> str:
    """The translated string (a tagged string) of software_pieces' pieces, each text through `translate`."""
    return "".join(piece.written(translate(piece.text)) if isinstance(piece, Translatable) else piece
                   for piece in pieces)


def _tags(tagged: str) -> list[Tag]:
    return [piece for piece in parse(tagged) if isinstance(piece, Tag)]


@dataclass
class _Ampersands:
    """A UI string's ampersand syntax ("&&" a literal "&"): the offset of its one accelerator's "&" (None: none)."""

    accelerator: int | None


def _ampersands(tagged: str) -> _Ampersands | None:
    """The string's accelerator syntax, None when it has none or it is ambiguous (two single "&" before letters:
    prose, "Tom &Jerry &Co"); entities and placeholders do not count."""
    masked = PLACEHOLDER.sub(lambda match: "\0" * len(match.group()), tagged)
    singles = [match.start() for match in _AMPERSANDS.finditer(masked) if match.group() != "&&"]
    doubled = "&&" in masked
    if len(singles) > 1 or not singles and not doubled:
        return None
    return _Ampersands(singles[0] if singles else None)


def _icu_pieces(message: icu_message.Message, names: dict[int, str], first_id: int, amp: _Ampersands | None,
                lines: bool, in_plural: bool, offset: int = 0) -> list[Piece] | None:
    """An ICU message's pieces: its branching arguments' syntax kept, each run of text and simple arguments
    between them translated; None when a run's caller tags do not pair up within it."""
    pieces: list[Piece] = []
    run: list[icu_message.Node] = []
    run_start = position = offset  # where the run and the node start in the caller's string (the accelerator's place)

    def flush() -> bool:
        if not run:
            return True
        built = _run_pieces(run, names, first_id, amp, lines, in_plural, run_start)
        run.clear()
        if built is None:
            return False
        pieces.extend(built)
        return True

    for node in message.nodes:
        if isinstance(node, icu_message.Branching):
            if not flush():
                return None
            for part in node.parts:
                if isinstance(part, str):
                    pieces.append(part)
                    position += len(part)
                else:
                    built = _icu_pieces(part, names, first_id, amp, lines, not node.argument.endswith(", select"),
                                        position)
                    if built is None:
                        return None
                    pieces.extend(built)
                    position += len(part.raw)
            run_start = position
        else:
            run.append(node)
            position += len(node.raw)
    if not flush():
        return None
    return pieces


def _run_pieces(nodes: list[icu_message.Node], names: dict[int, str], first_id: int, amp: _Ampersands | None,
                lines: bool, in_plural: bool, offset: int) -> list[Piece] | None:
    """A run of ICU text and simple arguments: the texts' values searched for placeholders, arguments kept."""
    items: list[tuple[str, str, int]] = []  # ("text", value, offset) or ("arg", raw, offset)
    at = offset
    for node in nodes:
        if isinstance(node, icu_message.Text) and in_plural and "'#'" in node.raw and node.raw != "'#'":
            # A quoted "#" is text, but shown as "#" the model's output could not tell it from the argument.
            for number, part in enumerate(node.raw.split("'#'")):
                if number:
                    items.append(("arg", "'#'", -1))
                if part:
                    items.append(("text", _unquoted(part, in_plural), -1))
        elif isinstance(node, icu_message.Text) and node.raw == "'#'" and in_plural:
            items.append(("arg", node.raw, -1))
        elif isinstance(node, icu_message.Text):
            items.append(("text", node.value, at if node.raw == node.value else -1))
        else:
            items.append(("arg", node.raw, at))
        at += len(node.raw)
    if not any(kind == "text" and has_words(strip_tags(value)) for kind, value, _ in items):
        return ["".join(node.raw for node in nodes)]  # nothing to translate: as written
    return _build(items, names, first_id, amp, lines, icu=True, in_plural=in_plural)


def _unquoted(raw: str, in_plural: bool) -> str:
    """The value of ICU literal text as written (a piece of a Text node's raw; as written if it does not read)."""
    try:
        return "".join(node.value for node in icu_message.parse_text(raw, in_plural))
    except icu_message.IcuSyntaxError:
        return raw


def _text_pieces(tagged: str, names: dict[int, str], first_id: int, amp: _Ampersands | None, lines: bool,
                 broken_icu: bool = False) -> list[Piece]:
    """A string that is not an ICU message with branches (or one that does not parse: its syntax kept as code)."""
    items: list[tuple[str, str, int]] = []
    if broken_icu:  # the ICU syntax protected as code the model keeps, the rest as text
        start = 0
        for match in _BROKEN_ICU.finditer(tagged):
            items.append(("text", tagged[start:match.start()], start))
            items.append(("arg", match.group(), match.start()))
            start = match.end()
        items.append(("text", tagged[start:], start))
    else:
        items.append(("text", tagged, 0))
    built = _build(items, names, first_id, amp, lines, icu=False, in_plural=False, braces=not broken_icu)
    if built is None:  # the caller's tags never cross a line here; kept whole if they do
        built = _build(items, names, first_id, amp, False, icu=False, in_plural=False, braces=not broken_icu) \
            or [tagged]
    return built


def _build(items: list[tuple[str, str, int]], names: dict[int, str], first_id: int, amp: _Ampersands | None,
           lines: bool, icu: bool, in_plural: bool, braces: bool = True) -> list[Piece] | None:
    """Runs of text (placeholders found in it) and kept arguments as pieces: a Translatable per sentence (per line
    with `lines`), the line breaks and wordless stretches kept; None when a run's caller tags do not pair up."""
    pieces: list[Piece] = []
    run = _Run(first_id, icu, amp is not None, braces)
    raw: list[str] = []  # the run as written, for a run without words

    def flush() -> bool:
        nonlocal run
        if run.parts:
            piece = _finish(run, names, "".join(raw), in_plural)
            if piece is None:
                return False
            pieces.append(piece)
        run = _Run(first_id, icu, amp is not None, braces)
        raw.clear()
        return True

    for kind, value, offset in items:
        if kind == "arg":
            run.protected(value, quoted=False)
            raw.append(value)
            continue
        at = offset
        for line_number, line in enumerate(value.split("\n") if lines else [value]):
            if line_number:
                if not flush():
                    return None
                pieces.append("\n")
            body, carriage = (line[:-1], "\r") if lines and line.endswith("\r") else (line, "")
            start = at
            lead = _LINE_MARK.match(body) if lines and not run.parts and not icu else None
            if lead and has_words(body[lead.end():]):  # "## comment", "- item": the mark stays as it is
                pieces.append(lead.group())
                body = body[lead.end():]
                start = at + lead.end() if at >= 0 else -1
            _add_text(run, body, amp, start)
            at = at + len(line) + 1 if at >= 0 else -1
            raw.append(icu_message.quote(body, in_plural) if icu else body)
            if carriage:
                if not flush():
                    return None
                pieces.append(carriage)
    if not flush():
        return None
    return pieces


def _add_text(run: _Run, text: str, amp: _Ampersands | None, offset: int) -> None:
    """Text of a run: placeholders become tags, the accelerator's "&" is taken out (remembered), "&&" read as "&"."""
    start = 0
    quoted = run.icu  # placeholders found in ICU text are text too: written quoted like it
    tags = list(PLACEHOLDER.finditer(text))
    pairs = _pair_html(tags)
    opened: dict[int, int] = {}  # index of an opening tag's match -> its tag id
    for index, match in enumerate(tags):
        _add_words(run, text[start:match.start()], amp, offset + start if offset >= 0 else -1)
        found = match.group()
        if match.lastgroup == "tag":
            element = _ELEMENT.match(found).group(1).lower()
            kind, partner = pairs.get(index, ("empty", None))
            number = run.protected(found, quoted, element, kind, opened.get(partner) if kind == "close" else None)
            if kind == "open":
                opened[index] = number
        elif match.lastgroup == "code":
            run.protected(found, quoted, "br")
        else:
            run.protected(found, quoted)
        start = match.end()
    _add_words(run, text[start:], amp, offset + start if offset >= 0 else -1)


def _pair_html(matches: list[re.Match[str]]) -> dict[int, tuple[str, int]]:
    """Which HTML tag matches open and close a pair (index -> ("open"/"close", the other's index)); the others
    stand alone."""
    kinds: dict[int, tuple[str, int]] = {}
    stack: list[tuple[str, int]] = []
    for index, match in enumerate(matches):
        if match.lastgroup != "tag" or match.group().endswith("/>"):
            continue
        element = _ELEMENT.match(match.group()).group(1).lower()
        if match.group().startswith("</"):
            if stack and stack[-1][0] == element:
                _, opened = stack.pop()
                kinds[opened] = ("open", index)
                kinds[index] = ("close", opened)
        else:
            stack.append((element, index))
    return kinds


def _add_words(run: _Run, text: str, amp: _Ampersands | None, offset: int) -> None:
    if not text:
        return
    if amp is None:
        run.text(text)
        return
    # The model sees a UI string's words without its ampersand syntax ("&Open" as "Open", "A && B" as "A & B").
    out: list[str] = []
    start = 0
    for match in _AMPERSANDS.finditer(text):
        out.append(text[start:match.start()])
        if match.group() == "&&":
            out.append("&")
        elif offset >= 0 and offset + match.start() == amp.accelerator:
            run.accelerator = text[match.end()]
        else:
            out.append("&")
        start = match.end()
    out.append(text[start:])
    run.text("".join(out))


def _finish(run: _Run, names: dict[int, str], raw: str, in_plural: bool) -> Piece | None:
    """The run as a piece: kept as written when it has no words, else a Translatable (None: the caller's tags
    do not pair up in it, so it cannot be translated on its own)."""
    tagged = run.tagged()
    if not has_words(strip_tags(tagged)):
        return raw
    if check_tags(tagged, tagged):
        return None
    tags = _tags(tagged)
    render = _renderer(run, in_plural)
    if not tags:
        return Translatable(strip_tags(tagged), lambda translation: render(escape_text(translation)))
    hints = {tag.id: names[tag.id] for tag in tags if tag.id in names}
    hints.update(run.names)
    return Translatable(TaggedText(tagged, hints, run.literals), render)


def _renderer(run: _Run, in_plural: bool) -> Callable[[str], str]:
    """How a run's translation (a tagged string) is written: the new tags as the text they stand for, the
    accelerator put back, "&" doubled where the string has accelerator syntax, ICU text quoted."""
    markup = dict(run.markup)
    accelerator, icu, amp, braces = run.accelerator, run.icu, run.amp, run.braces

    def render(translation: str) -> str:
        pieces = [_without_invented(piece) if isinstance(piece, str) else piece for piece in parse(translation)]
        if not braces:
            pieces = [re.sub("[{}]", "", piece) if isinstance(piece, str) else piece for piece in pieces]
        if amp:
            pieces = _with_accelerator(pieces, accelerator)
        out: list[tuple[str, bool]] = []  # (text, is literal text to quote for ICU); tags as written
        for piece in pieces:
            if isinstance(piece, str):
                out.append((piece, True))
            elif str(piece) in markup:
                text, quoted = markup[str(piece)]
                out.append((strip_tags(text) if quoted else text, quoted))
            else:
                out.append((str(piece), False))
        written: list[str] = []
        for index, (text, literal) in enumerate(out):
            if not literal:
                written.append(text)
                continue
            if icu:
                # what follows the run in the message is syntax ("}" of its branch, "{" of an argument)
                following = next((t for t, _ in out[index + 1:] if t), "}")
                text = icu_message.quote(text, in_plural, following)
            written.append(escape_text(text))
        return "".join(written)

    return render


def _without_invented(text: str) -> str:
    """The model's text without placeholders of its own (a "%s" the source did not have would make the program
    read an argument that is not there); entities, tags and whitespace codes are text here."""
    out: list[str] = []
    start = 0
    for match in PLACEHOLDER.finditer(text):
        if match.lastgroup or match.group().startswith("&"):
            continue
        before, end = text[start:match.start()], match.end()
        if text[end:end + 1] == " ":  # one space goes with it, as with a word
            end += 1
        else:
            before = before.removesuffix(" ")
        out.append(before)
        start = end
    out.append(text[start:])
    return "".join(out)


def _with_accelerator(pieces: list, letter: str | None) -> list:
    """The translation's own ampersands doubled (all are literal in accelerator syntax) and one "&" put before
    the accelerator's letter: the first that starts a word, else the first anywhere, else the first letter."""
    pieces = [piece.replace("&", "&&") if isinstance(piece, str) else piece for piece in pieces]
    if letter is None:
        return pieces
    texts = [(index, piece) for index, piece in enumerate(pieces) if isinstance(piece, str)]
    for search in (rf"(?<![^\W_]){re.escape(letter)}", re.escape(letter), r"[^\W_]"):
        for index, piece in texts:
            match = re.search(search, piece, re.IGNORECASE)
            if match:
                pieces[index] = piece[:match.start()] + "&" + piece[match.start():]
                return pieces
    return pieces
