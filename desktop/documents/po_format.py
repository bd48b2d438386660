"""gettext catalogs and templates (.po, .pot; polib): empty msgstr filled from msgid and flagged fuzzy for review;
msgid, existing translations, comments and references untouched (docs/translate.md, "Documents")."""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from desktop.documents.base import (
    MAX_LINE_CHARS,
    DocumentError,
    DocumentFormat,
    Piece,
    Translatable,
    Translate,
)
from desktop.documents.inline_markup import escape_text, strip_tags
from desktop.documents.placeholders import software_pieces, written

# A keyword line or a continuation line: a keyword (optional) and one whole quoted string. polib
# accepts an unterminated string silently (and drops its last character), msgfmt does not.
_STRING_LINE = re.compile(rb'(?:(?:msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)[ \t]*)?"(?:[^"\\]|\\.)*"[ \t]*')


def check_catalog(source: Path) -> None:
    """Refuse what polib would misread or read whole: NUL bytes, lines over MAX_LINE_CHARS, broken strings.

    Works on bytes, line by line with a length limit, so a hostile file costs neither memory nor time.
    """
    try:
        with source.open("rb") as handle:
            number = 0
            while line := handle.readline(MAX_LINE_CHARS + 2):
                number += 1
                if len(line) == MAX_LINE_CHARS + 2 and not line.endswith((b"\n", b"\r")):
                    raise DocumentError(f"{source}: line {number} is longer than {MAX_LINE_CHARS:,} characters; "
                                        "not a gettext catalog")
                if b"\x00" in line:
                    raise DocumentError(f"{source}: line {number}: a NUL byte; this is not a gettext catalog "
                                        "(a binary .mo file, or UTF-16 text?)")
                body = line.strip()
                if body.startswith((b"msg", b'"')) and not _STRING_LINE.fullmatch(body):
                    raise DocumentError(f"{source}: line {number}: not a whole quoted string "
                                        f"({body[:40].decode('utf-8', 'replace')!r}); the catalog is damaged")
    except OSError as exc:
        raise DocumentError(f"{source}: cannot be read ({exc.strerror or exc})") from None


# A comment line whose marker is not followed by a space ("#Comment", "#,fuzzy", "#:src/a.c:1"): GNU
# gettext reads it, polib calls it a syntax error. The marker gets its space before polib parses the
# text (a translator comment "#Comment" is written back as "# Comment").
_TIGHT_COMMENT = re.compile(r"^([ \t]*#(?:~\|?|[,.:|])?)(?=[^\s#~,.:|])", re.MULTILINE)
_CHARSET = re.compile(r"charset=([^\s;]*)", re.IGNORECASE)


@dataclass(frozen=True)
class _Layout:
    """What polib does not keep of a catalog's bytes and its writer puts back: a UTF-8 BOM, the line ending
    (the one most of its lines have; polib reads and writes "\n") and whether the last line ends with one."""

    bom: bool = False
    newline: str = "\n"
    final_newline: bool = True

    def bytes(self, text: str, encoding: str) -> bytes:
        if not self.final_newline:
            text = text.rstrip("\n")
        data = text.replace("\n", self.newline).encode(encoding)
        return codecs.BOM_UTF8 + data if self.bom and codecs.lookup(encoding).name == "utf-8" else data


def _open(source: Path):
    """The catalog, read in the charset its header declares (UTF-8 if it declares none or an unknown one)."""
    return _read(source)[0]


def _read(source: Path):
    """The catalog (as _open) and its _Layout."""
    import polib

    check_catalog(source)
    try:
        encoding = polib.detect_encoding(str(source))
        data = source.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DocumentError(f"{source}: line {line}: not {encoding.upper()} text ({exc.reason}), the charset its "
                            "header declares; fix the header's charset or convert the file (msgconv)") from None
    bom = text.startswith("\ufeff")  # a BOM is no comment: polib would read it as an empty "#" line
    endings = Counter(re.findall(r"\r\n|\r|\n", text))
    layout = _Layout(bom, endings.most_common(1)[0][0] if endings else "\n", text.endswith(("\n", "\r")))
    text = re.sub(r"\r\n?", "\n", text.removeprefix("\ufeff"))
    # polib takes a string holding a newline as the catalog's text (a one-line text could name a file).
    text = _TIGHT_COMMENT.sub(r"\1 ", text) + "\n"
    try:
        return polib.pofile(text, encoding=encoding, wrapwidth=78), layout
    except (OSError, ValueError) as exc:
        raise DocumentError(f"{source}: not a readable gettext catalog ({exc})") from None


def _needs_translation(entry, overwrite: bool = False) -> bool:
    # An entry that already has a translation keeps it (a human translation beats the model), unless
    # the job overwrites.
    if entry.obsolete or not entry.msgid:
        return False
    if overwrite:
        return True
    if entry.msgid_plural:
        return not entry.msgstr_plural or not all(entry.msgstr_plural.values())
    return not entry.msgstr


def _is_ui(entry) -> bool:
    """Whether a message is a program's text, where "&" marks an accelerator: a format flag (c-format,
    python-format, qt-format, ...) or a context says so; a template's prose ("Tom & Jerry") has neither."""
    return bool(entry.msgctxt) or any(flag.endswith("-format") and not flag.startswith("no-") for flag in entry.flags)


def _pieces(entry, text: str) -> list[Piece]:
    """A message's text as software_pieces: placeholders and syntax kept, each line's sentence translated whole."""
    return software_pieces(escape_text(text), ui=_is_ui(entry), lines=True)


def _units(po, overwrite: bool = False, nplurals: int | None = None,
           ) -> Iterator[tuple[object, str, Callable[[str], None]]]:
    """(entry, source text, setter for its translation) for every message to fill, in catalog order;
    nplurals: the plural forms each plural message gets (a template's), else the forms it has."""
    for entry in po:
        if not _needs_translation(entry, overwrite):
            continue
        if entry.msgid_plural:
            indexes = list(range(nplurals)) if nplurals else sorted(entry.msgstr_plural) or [0, 1]
            for index in indexes:
                # A language with one form (ja, zh, ko) says every count with it: the plural reads best.
                source = entry.msgid if index == 0 and len(indexes) > 1 else entry.msgid_plural

                def set_plural(text: str, entry=entry, index=index) -> None:
                    entry.msgstr_plural[index] = text

                yield entry, source, set_plural
        else:
            yield entry, entry.msgid, lambda text, entry=entry: setattr(entry, "msgstr", text)


def _template_plurals(po, tgt: str | None) -> tuple[int, str] | None:
    """A template's Plural-Forms placeholder ("nplurals=INTEGER; plural=EXPRESSION;") replaced, as
    msginit does: the target language's number of forms and expression from translate-toolkit's table;
    None when the header has real ones (or none) or the language is not in the table."""
    forms = po.metadata.get("Plural-Forms")
    if tgt is None or forms is None or re.search(r"nplurals\s*=\s*\d", forms):
        return None
    from translate.lang import data

    known = data.languages.get(tgt) or next(
        (value for code, value in data.languages.items() if code.startswith(f"{tgt}_")), None)
    return (known[1], known[2]) if known else None


def _messages(count: int) -> str:
    return "1 message is" if count == 1 else f"{count:,} messages are"


def _output_encoding(po, text: str) -> str:
    """The charset the translated catalog is written in: the one its header declares when that can hold
    the text, else UTF-8, with the header's Content-Type changed to say so (a template's "CHARSET", an
    ASCII catalog that now holds umlauts)."""
    content_type = po.metadata.get("Content-Type")
    match = _CHARSET.search(content_type or "")
    declared = match.group(1) if match else None
    if declared:
        try:
            text.encode(declared)
            return declared
        except (LookupError, UnicodeEncodeError):
            pass
    elif text.isascii():
        return po.encoding  # no charset said, none needed
    if match:
        po.metadata["Content-Type"] = content_type[:match.start(1)] + "UTF-8" + content_type[match.end(1):]
    else:
        po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    return "utf-8"


class PoFormat(DocumentFormat):
    """gettext catalogs and templates (.po, .pot). `configured` binds a job's target language (a
    template's empty Language header) and the overwrite switch (translated messages translated again)."""

    extensions = (".po", ".pot")

    def __init__(self, tgt: str | None = None, overwrite: bool = False) -> None:
        self.tgt = tgt
        self.overwrite = overwrite

    def configured(self, src: str, tgt: str, overwrite: bool = False, model_name: str | None = None) -> PoFormat:
        return PoFormat(tgt, overwrite)

    def output_suffix(self, suffix: str) -> str:
        return ".po" if suffix.lower() == ".pot" else suffix  # a template's translation is a catalog

    def _units(self, po) -> Iterator[tuple[object, str, Callable[[str], None]]]:
        plurals = _template_plurals(po, self.tgt)
        return _units(po, self.overwrite, plurals[0] if plurals else None)

    def segments(self, source: Path) -> Iterator[str]:
        for entry, text, _ in self._units(_open(source)):
            for piece in _pieces(entry, text):
                if isinstance(piece, Translatable):
                    yield piece.text

    def why_empty(self, source: Path) -> str:
        """All messages translated already (how many, and --overwrite), only obsolete ones, or none."""
        po = _open(source)
        live = [entry for entry in po if not entry.obsolete and entry.msgid]
        if not live:
            obsolete = sum(1 for entry in po if entry.obsolete)
            if obsolete:
                return f"nothing to translate: the catalog's {_messages(obsolete)} obsolete (#~)"
            return "nothing to translate (the catalog has no messages)"
        open_ = [entry for entry in live if _needs_translation(entry, self.overwrite)]
        translated = len(live) - len(open_)
        wordless = f"{_messages(len(open_))} without words to translate (only placeholders or markup)"
        if not translated:
            return f"nothing to translate: {wordless}"
        fuzzy = sum(1 for entry in live if "fuzzy" in entry.flags and not _needs_translation(entry))
        said = (f"{'its one message is' if translated == 1 else 'all ' + _messages(translated)} translated "
                f"already" if not open_ else f"{_messages(translated)} translated already")
        if fuzzy:
            said += f", {fuzzy:,} of them marked fuzzy" if translated > 1 else ", marked fuzzy"
        them = "it" if translated == 1 else "them"
        return f"{said} (use --overwrite to translate {them} again)" + (f"; the other {wordless}" if open_ else "")

    def write(self, source: Path, out: BinaryIO, translate: Translate) -> None:
        po, layout = _read(source)
        filled = []
        for entry, text, set_translation in self._units(po):
            set_translation(strip_tags(written(_pieces(entry, text), translate)))
            filled.append(entry)
        plurals = _template_plurals(po, self.tgt)
        if plurals is not None:
            forms, expression = plurals
            po.metadata["Plural-Forms"] = f"nplurals={forms}; plural={expression};"
            for entry in filled:  # a template's two forms where the language has one
                if entry.msgid_plural:
                    entry.msgstr_plural = {index: entry.msgstr_plural[index] for index in range(forms)}
        # Fuzzy is gettext's "check me": translators review machine output before msgfmt compiles it.
        for entry in filled:
            if "fuzzy" not in entry.flags:
                entry.flags.append("fuzzy")
        if self.tgt and not po.metadata.get("Language", "").strip() and po.metadata:
            po.metadata["Language"] = self.tgt  # a template's empty Language: the catalog is now this one
        encoding = _output_encoding(po, str(po))
        text = str(po)
        if not po.header and text.startswith("#\n"):
            text = text[2:]  # polib writes an empty header comment as "#"; the source had none
        # The catalog in its charset (as polib's save() writes it), with the source's BOM, line ending and
        # final newline.
        out.write(layout.bytes(text, encoding))
