"""Glossary files: TSV/CSV/TBX term pairs and do-not-translate lists, read into TermEntry lists and written;
every problem is a GlossaryError naming file and line (docs/terminology.md, "File formats")."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from alma_core.atomic import write_text_atomic
from alma_core.languages import LANGUAGES
from alma_core.limited_read import LimitedReadError, read_limited
from alma_core.safe_xml import UnsafeXMLError, read_checked
from desktop.terminology.entry import TermEntry


class GlossaryError(ValueError):
    """A glossary or do-not-translate file that cannot be used; the message names file and line."""


TABLE_SUFFIXES = (".tsv", ".txt", ".csv")
GLOSSARY_SUFFIXES = (*TABLE_SUFFIXES, ".tbx")
MAX_GLOSSARY_BYTES = 64 * 1024 * 1024
_LANGUAGE_CODE = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{2,8})*$")
_HEADER_WORDS = {"source", "target", "src", "tgt", "term", "translation", "note", "notes", "comment"}


def base_language(code: str | None) -> str:
    """"de-DE" / "de_AT" / "DE" -> "de"; "" for nothing."""
    if not code:
        return ""
    match = _LANGUAGE_CODE.match(code.strip())
    return match.group(1).lower() if match else code.strip().lower()


def _read_text(path: Path) -> str:
    try:
        data = read_limited(path, MAX_GLOSSARY_BYTES, "a glossary")
    except LimitedReadError as exc:
        raise GlossaryError(str(exc)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise GlossaryError(f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x}); save the "
                            "glossary as UTF-8") from None


def read_glossary(path: Path | str, src: str, tgt: str) -> list[TermEntry]:
    """The term pairs of a TSV/CSV/TBX glossary for the direction src -> tgt."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".tbx":
        return _read_tbx(path, src, tgt)
    if suffix not in TABLE_SUFFIXES:
        raise GlossaryError(f"{path}: unknown glossary format {suffix or '(no suffix)'!r}; use "
                            f"{', '.join(GLOSSARY_SUFFIXES)}")
    text = _read_text(path)
    delimiter = "\t" if suffix in (".tsv", ".txt") else _sniff_delimiter(text)
    return _read_table(path, text, delimiter, src, tgt)


def _sniff_delimiter(text: str) -> str:
    """"," or ";": the one that splits more of the first rows into 2-3 columns (a tie: ",")."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")][:50]
    sample = "\n".join(lines)

    def fitting(delimiter: str) -> int:
        try:
            return sum(2 <= len(row) <= 3 for row in csv.reader(io.StringIO(sample), delimiter=delimiter))
        except csv.Error:
            return 0

    return ";" if fitting(";") > fitting(",") else ","


def _rows(path: Path, text: str, delimiter: str) -> Iterable[tuple[int, list[str]]]:
    """(line number, fields) of the non-blank, non-comment rows."""
    if delimiter == "\t":
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            yield number, line.split("\t")
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for row in reader:
            number, start = start, reader.line_num + 1
            if not any(field.strip() for field in row) or row[0].lstrip().startswith("#"):
                continue
            yield number, row
    except csv.Error as exc:
        raise GlossaryError(f"{path}:{reader.line_num}: not readable CSV ({exc})") from None


def _header_languages(fields: Sequence[str]) -> tuple[str, str] | None:
    """("de", "en") when the row names two languages by code or English name, else None."""
    by_name = {name.lower(): code for code, name in LANGUAGES.items()}
    codes = []
    for field in fields[:2]:
        value = field.strip()
        if value.lower() in by_name:
            codes.append(by_name[value.lower()])
        elif _LANGUAGE_CODE.match(value) and base_language(value) in LANGUAGES:
            codes.append(base_language(value))
        else:
            return None
    return codes[0], codes[1]


def _read_table(path: Path, text: str, delimiter: str, src: str, tgt: str) -> list[TermEntry]:
    entries: list[TermEntry] = []
    swap = False
    first = True
    separator = "tab" if delimiter == "\t" else repr(delimiter)
    for number, fields in _rows(path, text, delimiter):
        fields = [field.strip() for field in fields]
        if first:
            first = False
            if len(fields) in (2, 3):
                languages = _header_languages(fields)
                if languages is not None:
                    if languages == (src, tgt):
                        continue
                    if languages == (tgt, src):
                        swap = True
                        continue
                    raise GlossaryError(f"{path}:{number}: the header names {languages[0]}-{languages[1]}, "
                                        f"but the glossary is used for {src}-{tgt}")
                if {field.lower() for field in fields} <= _HEADER_WORDS:
                    continue
        if len(fields) < 2:
            raise GlossaryError(f"{path}:{number}: one column; a glossary line is source{separator}target "
                                f"(columns separated by {separator})")
        if len(fields) > 3:
            raise GlossaryError(f"{path}:{number}: {len(fields)} columns; a glossary line has 2 or 3 "
                                f"(source, target, note) separated by {separator}")
        source, target = fields[0], fields[1]
        if swap:
            source, target = target, source
        if not source or not target:
            raise GlossaryError(f"{path}:{number}: an empty {'source' if not source else 'target'} term")
        note = fields[2] if len(fields) == 3 else ""
        entries.append(TermEntry(source, target, note, f"{path}:{number}"))
    return entries


def _read_tbx(path: Path, src: str, tgt: str) -> list[TermEntry]:
    try:
        data = read_checked(path, "TBX file")
    except UnsafeXMLError as exc:
        raise GlossaryError(str(exc)) from None
    from translate.misc.xml_helpers import getXMLlang
    from translate.storage import tbx

    try:
        store = tbx.tbxfile.parsestring(data)
    except Exception as exc:  # lxml and translate-toolkit raise many kinds; the message matters
        raise GlossaryError(f"{path}: not a readable TBX file ({exc})") from None
    entries: list[TermEntry] = []
    for unit in store.units:
        by_language: dict[str, list] = {}
        lines: dict[str, int] = {}
        for node in unit.getlanguageNodes():
            lang = getXMLlang(node) or ""
            base = base_language(lang)
            terms = [term for term in unit.get_target_terms(lang) if term.text.strip() and not term.deprecated]
            by_language.setdefault(base, []).extend(terms)
            lines.setdefault(base, node.sourceline or 0)
        sources, targets = by_language.get(src, []), by_language.get(tgt, [])
        if not sources or not targets:
            continue
        target = targets[0]
        note = next((n.text.strip() for n in (*target.notes, *sources[0].notes) if n.text and n.text.strip()), "")
        for source in sources:
            entries.append(TermEntry(source.text.strip(), target.text.strip(), note, f"{path}:{lines[src]}"))
    return entries


def read_do_not_translate(path: Path | str) -> list[TermEntry]:
    """A do-not-translate list: one term a line (case-sensitive), `#` comments and blank lines skipped."""
    path = Path(path)
    entries = []
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        term = line.strip()
        if not term or term.startswith("#"):
            continue
        if "\t" in term:
            raise GlossaryError(f"{path}:{number}: a tab; a do-not-translate list has one term a line "
                                "(a glossary with two columns is read with --glossary)")
        entries.append(TermEntry(term, term, "", f"{path}:{number}", keep=True))
    return entries


def write_glossary(path: Path | str, entries: Iterable[TermEntry], src: str, tgt: str) -> None:
    """Write entries as TSV/CSV/TBX (by suffix), atomically; a header row names the languages."""
    path = Path(path)
    entries = list(entries)
    suffix = path.suffix.lower()
    if suffix == ".tbx":
        text = _tbx_text(entries, src, tgt)
    elif suffix in TABLE_SUFFIXES:
        for entry in entries:
            for value in (entry.source, entry.target, entry.note):
                if "\n" in value or "\r" in value or (suffix != ".csv" and "\t" in value):
                    raise GlossaryError(f"{path}: the term {entry.source!r} has a line break or tab, which "
                                        f"a {suffix} glossary cannot hold")
        rows = [[src, tgt]] + [[e.source, e.target, *([e.note] if e.note else [])] for e in entries]
        if suffix == ".csv":
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows)
            text = out.getvalue()
        else:
            text = "".join("\t".join(row) + "\n" for row in rows)
    else:
        raise GlossaryError(f"{path}: unknown glossary format {suffix or '(no suffix)'!r}; use "
                            f"{', '.join(GLOSSARY_SUFFIXES)}")
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise GlossaryError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def _tbx_text(entries: list[TermEntry], src: str, tgt: str) -> str:
    from xml.sax.saxutils import escape, quoteattr

    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n',
             f'<martif type="TBX" xml:lang={quoteattr(src)}>\n<text>\n<body>\n']
    for number, entry in enumerate(entries, 1):
        parts.append(f'<termEntry id="t{number}">\n')
        if entry.note:
            parts.append(f'  <descrip type="definition">{escape(entry.note)}</descrip>\n')
        parts.append(f'  <langSet xml:lang={quoteattr(src)}><tig><term>{escape(entry.source)}</term></tig></langSet>\n')
        parts.append(f'  <langSet xml:lang={quoteattr(tgt)}><tig><term>{escape(entry.target)}</term></tig></langSet>\n')
        parts.append("</termEntry>\n")
    parts.append("</body>\n</text>\n</martif>\n")
    return "".join(parts)


def glossary_languages(path: Path | str) -> tuple[str, str] | None:
    """The pair a TSV/CSV glossary's header row names (("de", "en")), or None (no header, or TBX)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        return None
    text = _read_text(path)
    delimiter = "\t" if suffix in (".tsv", ".txt") else _sniff_delimiter(text)
    for _number, fields in _rows(path, text, delimiter):
        return _header_languages([field.strip() for field in fields]) if len(fields) in (2, 3) else None
    return None
