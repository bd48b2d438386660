"""Parallel text files as plain iterators of records: JSON Lines, TSV, TMX and gettext .po; a malformed
line raises DataFormatError naming the file and the line (docs/training.md, "Data")."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from alma_core.languages import LANGUAGES

PARALLEL_SUFFIXES = (".jsonl", ".tsv", ".tmx", ".po")
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class DataFormatError(ValueError):
    """A data file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class ParallelRecord:
    """One segment in two or more languages: {language code: text}."""

    texts: dict[str, str]
    path: str
    line: int
    # The project a record came from (the JSON Lines "source" key), for per-source caps; "" when unknown.
    origin: str = ""


def normalize_language(tag: str) -> str | None:
    """Our code for a language tag as files spell it ("de-DE", "zh_Hans", "EN" -> de, zh, en)."""
    base = tag.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def _clean(text: str) -> str:
    # ALMA trains on single segments: one line each, inner whitespace collapsed.
    return " ".join(text.split())


def iter_json_lines(path: Path | str, handle: Iterable[str]) -> Iterator[tuple[int, object]]:
    """(line number, parsed value) for each non-blank line; a bad line raises naming path:line."""
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        except RecursionError:  # "[[[[...": json recurses once per level
            raise DataFormatError(f"{path}:{number}: JSON nested too deeply") from None


# The longest line a data reader takes: far past any real segment, and a file without line breaks
# (a binary, a minified export) is refused after this much instead of being read whole.
MAX_LINE_CHARS = 1_000_000


def bounded_lines(path: Path | str, handle: IO) -> Iterator:
    """The handle's lines (str or bytes), each read with a length limit; DataFormatError past it.

    Decoding errors and NUL bytes in text are DataFormatErrors naming the file and line, too.
    """
    number = 0
    limit = MAX_LINE_CHARS + 2  # room for "\r\n"
    try:
        while line := handle.readline(limit):
            number += 1
            if len(line) == limit and line[-1:] not in ("\n", "\r", b"\n", b"\r"):
                raise DataFormatError(f"{path}:{number}: a line longer than {MAX_LINE_CHARS:,} characters")
            if isinstance(line, str) and "\x00" in line:
                raise DataFormatError(f"{path}:{number}: a NUL byte; this is not a UTF-8 text file")
            yield line
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}:{number + 1}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None


def read_jsonl(path: Path) -> Iterator[ParallelRecord]:
    with open(path, encoding="utf-8") as handle:
        for number, obj in iter_json_lines(path, bounded_lines(path, handle)):
            if isinstance(obj, dict) and isinstance(obj.get("translation"), dict):
                obj = obj["translation"]
            if not isinstance(obj, dict):
                raise DataFormatError(f"{path}:{number}: expected an object of language code -> text")
            texts: dict[str, str] = {}
            for key, value in obj.items():
                code = normalize_language(key)
                if code is None:
                    continue  # metadata keys ("id", "source") are allowed and ignored
                if not isinstance(value, str):
                    raise DataFormatError(f"{path}:{number}: value of {key!r} is not a string")
                texts[code] = _clean(value)
            origin = obj.get("source")
            yield ParallelRecord(texts, str(path), number, origin if isinstance(origin, str) else "")


def read_tsv(path: Path) -> Iterator[ParallelRecord]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader(bounded_lines(path, handle), delimiter="\t", quoting=csv.QUOTE_NONE)
        header: list[str | None] | None = None
        for row in _csv_rows(path, rows):
            number = rows.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [normalize_language(cell) for cell in row]
                if len(row) < 2 or any(code is None for code in header):
                    raise DataFormatError(
                        f"{path}:{number}: the first row must name the language of each column "
                        f"(e.g. 'de<TAB>en'), got {row!r}"
                    )
                continue
            if len(row) != len(header):
                raise DataFormatError(f"{path}:{number}: {len(row)} columns, the header has {len(header)}")
            yield ParallelRecord({code: _clean(cell) for code, cell in zip(header, row, strict=True) if code},
                                 str(path), number)


def _csv_rows(path: Path, rows) -> Iterator[list[str]]:
    """csv's rows, with its errors (an over-long field) as DataFormatErrors naming the line."""
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataFormatError(f"{path}:{rows.line_num}: not a TSV row ({exc})") from None
        yield row


def _tmx_parser() -> ET.XMLPullParser:
    """A pull parser over defusedxml's expat parser: a DTD (TMX files often name tmx14.dtd) is allowed,
    entity declarations (billion laughs) and external entities (file:///etc/passwd) are refused."""
    from defusedxml.ElementTree import DefusedXMLParser

    defused = DefusedXMLParser(target=ET.TreeBuilder(), forbid_dtd=False, forbid_entities=True,
                               forbid_external=True)
    return ET.XMLPullParser(events=("start", "end"), _parser=defused)


def read_tmx(path: Path) -> Iterator[ParallelRecord]:
    # A pull parser fed line by line keeps memory flat on large memories and gives the line of a fault.
    from defusedxml import DefusedXmlException

    parser = _tmx_parser()
    unit_line = 0
    texts: dict[str, str] = {}
    tuv_lang: str | None = None
    number = 1
    with open(path, "rb") as handle:
        for raw in bounded_lines(path, handle):
            try:
                parser.feed(raw)
                events = list(parser.read_events())
            except ET.ParseError as exc:
                raise DataFormatError(f"{path}:{number}: malformed TMX ({exc})") from None
            except DefusedXmlException as exc:
                raise DataFormatError(f"{path}:{number}: refused: the TMX declares XML entities ({exc})") from None
            for event, element in events:
                if event == "start" and element.tag == "tu":
                    unit_line, texts = number, {}
                elif event == "start" and element.tag == "tuv":
                    tuv_lang = element.get(XML_LANG) or element.get("lang")
                    if not tuv_lang:
                        raise DataFormatError(f"{path}:{number}: <tuv> without xml:lang")
                elif event == "end" and element.tag == "tuv":
                    seg = element.find("seg")
                    if seg is None:
                        raise DataFormatError(f"{path}:{number}: <tuv> without <seg>")
                    code = normalize_language(tuv_lang or "")
                    if code:
                        texts[code] = _clean("".join(seg.itertext()))
                elif event == "end" and element.tag == "tu":
                    yield ParallelRecord(texts, str(path), unit_line)
                    element.clear()
            number += raw.endswith(b"\n")
    try:
        parser.close()
    except ET.ParseError as exc:
        raise DataFormatError(f"{path}: truncated TMX ({exc})") from None


def read_po(path: Path) -> Iterator[ParallelRecord]:
    import polib

    # polib reads the file whole and keeps NUL bytes in the texts: check the lines first.
    with open(path, "rb") as handle:
        for number, line in enumerate(bounded_lines(path, handle), start=1):
            if b"\x00" in line:
                raise DataFormatError(f"{path}:{number}: a NUL byte; this is not a gettext catalog")
    try:
        catalog = polib.pofile(str(path))
    except (OSError, ValueError) as exc:
        # polib's message already carries the line ("Syntax error in po file (line 12)").
        raise DataFormatError(f"{path}: {exc}") from None
    code = normalize_language(catalog.metadata.get("Language", ""))
    if code is None:
        raise DataFormatError(f"{path}: the catalog's Language header is missing or unknown "
                              f"({catalog.metadata.get('Language', '')!r})")
    for entry in catalog:
        if entry.obsolete or "fuzzy" in entry.flags or entry.msgid_plural:
            continue
        yield ParallelRecord({"en": _clean(entry.msgid), code: _clean(entry.msgstr)}, str(path), entry.linenum)


READERS = {".jsonl": read_jsonl, ".tsv": read_tsv, ".tmx": read_tmx, ".po": read_po}


def read_records(path: Path | str) -> Iterator[ParallelRecord]:
    """Records of one parallel file, the format chosen by its suffix."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataFormatError(f"{path}: unknown parallel data format (expected one of {', '.join(READERS)})")
    if not path.is_file():
        raise FileNotFoundError(f"parallel data file not found: {path}")
    return reader(path)
