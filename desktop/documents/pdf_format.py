"""PDF (.pdf) in, Word (.docx) out: the text read in reading order with pdfminer.six, lines joined into
paragraphs, running headers and page numbers kept apart, headings by their size, page breaks where the
pages were; the layout itself is not kept (docs/translate.md, "PDF")."""

from __future__ import annotations

import difflib
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from desktop.documents.base import DocumentError, DocumentFormat, Translate, has_words

NOTE = ("a PDF's layout is not kept: its text is written as a Word document (.docx) with its headings, "
        "paragraphs and page breaks; pictures, tables, columns and fonts are not carried over")
SCANNED = "no text layer: the PDF is scanned images; run OCR first (e.g. ocrmypdf) and translate the result"

# Past these a file is no document a person translates (and pdfminer's analysis would take hours).
MAX_PDF_BYTES = 256 * 1024 * 1024
MAX_PAGES = 5_000
# Running headers and footers are looked for in these bands of the page (a share of its height);
# pdflatex puts page numbers at 10.6 % of an A4 page.
_BAND = 0.12
# A line or box of text this much larger than the body's text is a heading.
_HEADING_RATIO = 1.15
_HEADING_MAX_CHARS = 200
_SENTENCE_END = re.compile(r"""[.!?:;…。！？"”’»)\]]\s*$""")
_HYPHENATED = re.compile(r"(?<=[^\W\d_])[-\u00ad]$")
_SPACES = re.compile(r"\s+")
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # a Word document cannot hold these


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    size: float


@dataclass
class _Box:
    page: int
    lines: list[_Line]
    x0: float
    x1: float
    y0: float
    y1: float
    size: float  # the box's largest character size

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)


@dataclass
class Block:
    """A paragraph or heading of the document: `page` is where it starts (0-based), `level` 0 a paragraph."""

    text: str
    page: int
    level: int = 0


@dataclass
class PdfText:
    """What a PDF holds as text: its blocks in reading order, the running header and footer (translated
    once, written into the Word document's header and footer), whether it had page numbers, its page
    count and the pages that are images only."""

    blocks: list[Block] = field(default_factory=list)
    header: str = ""
    footer: str = ""
    page_numbers: bool = False
    pages: int = 0
    image_pages: list[int] = field(default_factory=list)


def _pdfminer_error(source: Path, exc: Exception) -> DocumentError:
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    if isinstance(exc, PDFPasswordIncorrect):
        return DocumentError(f"{source}: the PDF is encrypted with a password; open it in a PDF reader, save an "
                             "unprotected copy and translate that")
    if isinstance(exc, PDFEncryptionError):
        return DocumentError(f"{source}: the PDF is encrypted in a way that cannot be read here ({exc}); save an "
                             "unprotected copy and translate that")
    return DocumentError(f"{source}: not a readable .pdf file ({type(exc).__name__}: {exc})")


def _page_boxes(source: Path) -> tuple[list[list[_Box]], list[float], list[bool]]:
    """Each page's text boxes in pdfminer's reading order, the pages' heights and whether each has pictures."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTChar, LTFigure, LTImage, LTTextBox, LTTextLine

    # pdfminer reports damaged fonts and missing crop boxes through logging; the CLI's stderr is its own.
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    pages: list[list[_Box]] = []
    heights: list[float] = []
    pictures: list[bool] = []
    for number, page in enumerate(extract_pages(source, laparams=LAParams())):
        if number >= MAX_PAGES:
            raise DocumentError(f"{source}: more than {MAX_PAGES:,} pages; split it and translate the parts")
        boxes: list[_Box] = []
        has_picture = False
        for element in page:
            if isinstance(element, (LTFigure, LTImage)):
                has_picture = True
            if not isinstance(element, LTTextBox):
                continue
            lines = []
            for line in element:
                if not isinstance(line, LTTextLine):
                    continue
                text = _SPACES.sub(" ", _NOT_XML.sub("", line.get_text())).strip()
                sizes = [char.size for char in line if isinstance(char, LTChar)]
                if text:
                    lines.append(_Line(text, line.x0, line.x1, max(sizes, default=0.0)))
            if lines:
                boxes.append(_Box(number, lines, element.x0, element.x1, element.y0, element.y1,
                                  max(line.size for line in lines)))
        pages.append(boxes)
        heights.append(page.height)
        pictures.append(has_picture)
    return pages, heights, pictures


def _normal(text: str) -> str:
    """A running header's text without its page number, for comparing pages (OCR spells it differently)."""
    return _SPACES.sub(" ", re.sub(r"[\d\W_]+", " ", text)).strip().lower()


def _running(pages: list[list[_Box]], heights: list[float]) -> tuple[set[int], str, str, bool]:
    """The boxes (by id) that are running headers, footers or page numbers; the header's and footer's
    text; whether pages were numbered. A box in the top or bottom band is one when it has no letters
    (a page number, "- 4 -") or when a box of nearly the same words sits in that band on another page."""
    kept_apart: set[int] = set()
    numbered = False
    candidates: list[tuple[_Box, str, str]] = []  # box, "header"/"footer", normalised words
    for boxes, height in zip(pages, heights, strict=True):
        for box in boxes:
            place = "header" if box.y0 >= height * (1 - _BAND) else "footer" if box.y1 <= height * _BAND else ""
            if not place or len(box.lines) > 2:
                continue
            if not has_words(box.text):
                kept_apart.add(id(box))
                numbered = numbered or bool(re.search(r"\d", box.text))
            else:
                candidates.append((box, place, _normal(box.text)))
    texts = {"header": Counter(), "footer": Counter()}
    for box, place, words in candidates:
        if any(other.page != box.page and where == place and
               difflib.SequenceMatcher(None, words, other_words).ratio() >= 0.8
               for other, where, other_words in candidates):
            kept_apart.add(id(box))
            # Its text without a page number at either end: "54 THE SIEGE OF VICKSBURG." -> "THE SIEGE ..."
            texts[place][re.sub(r"^\W*\d+\W*\s|\s\W*\d+\W*$", "", box.text).strip()] += 1
            numbered = numbered or bool(re.search(r"\d", box.text))
    header = texts["header"].most_common(1)[0][0] if texts["header"] else ""
    footer = texts["footer"].most_common(1)[0][0] if texts["footer"] else ""
    return kept_apart, header, footer, numbered


def _joined(first: str, second: str) -> str:
    """Two lines of one paragraph: a word hyphenated at the line's end is whole again ("dan-" "gerous")."""
    if _HYPHENATED.search(first) and second[:1].islower():
        return first[:-1] + second
    return f"{first} {second}"


def _rows_joined(boxes: list[_Box]) -> list[_Box]:
    """A box without words at the right of a one-line box on the same row (a table of contents' page
    number, a price) joins that line after a tab, instead of standing as a paragraph of its own."""
    kept: list[_Box] = []
    for box in boxes:
        if not has_words(box.text) and len(box.lines) == 1:
            row = next((other for other in kept if len(other.lines) == 1 and has_words(other.text)
                        and other.x1 <= box.x0 and min(other.y1, box.y1) - max(other.y0, box.y0)
                        >= 0.5 * (box.y1 - box.y0)), None)
            if row is not None:
                row.lines[0].text += "\t" + box.text
                continue
        kept.append(box)
    return kept


def _paragraphs(box: _Box) -> list[str]:
    """A box's lines as paragraphs: a new one where a line is indented as a first line, or after a line
    that ends a sentence well before the box's right edge."""
    paragraphs: list[str] = []
    current = ""
    previous: _Line | None = None
    left = min(line.x0 for line in box.lines)
    for line in box.lines:
        em = line.size or box.size or 10.0
        starts = previous is not None and _SENTENCE_END.search(previous.text) is not None and (
            line.x0 - left > 0.8 * em or previous.x1 < box.x1 - 3 * em)
        if current and starts:
            paragraphs.append(current)
            current = ""
        current = _joined(current, line.text) if current else line.text
        previous = line
    if current:
        paragraphs.append(current)
    return paragraphs


def read_pdf(source: Path) -> PdfText:
    """The PDF's text as blocks (see PdfText); DocumentError for an encrypted, damaged or huge file."""
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise DocumentError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    if size > MAX_PDF_BYTES:
        raise DocumentError(f"{source}: {size / 2**20:,.0f} MB (the limit is {MAX_PDF_BYTES // 2**20} MB); "
                            "split it and translate the parts")
    try:
        pages, heights, pictures = _page_boxes(source)
    except DocumentError:
        raise
    except Exception as exc:  # pdfminer's syntax, encryption and decoding errors: one line naming the file
        raise _pdfminer_error(source, exc) from None
    kept_apart, header, footer, numbered = _running(pages, heights)
    body = [box for boxes in pages for box in _rows_joined([b for b in boxes if id(b) not in kept_apart])]
    sizes: Counter = Counter()
    for box in body:
        for line in box.lines:
            sizes[round(line.size * 2) / 2] += len(line.text)
    body_size = sizes.most_common(1)[0][0] if sizes else 0.0
    heading_sizes = sorted({round(box.size * 2) / 2 for box in body if _is_heading(box, body_size)}, reverse=True)
    text = PdfText(header=header, footer=footer, page_numbers=numbered, pages=len(pages),
                   image_pages=[number for number, boxes in enumerate(pages) if not boxes and pictures[number]])
    for box in body:
        if _is_heading(box, body_size):
            level = min(heading_sizes.index(round(box.size * 2) / 2) + 1, 3)
            text.blocks.append(Block(box.text, box.page, level))
            continue
        for number, paragraph in enumerate(_paragraphs(box)):
            last = text.blocks[-1] if text.blocks else None
            # A paragraph that goes on in the next box (after a page break, a figure, a wide gap): the
            # earlier one does not end a sentence and this one starts in lower case.
            if number == 0 and last is not None and last.level == 0 and paragraph[:1].islower() \
                    and not _SENTENCE_END.search(last.text):
                last.text = _joined(last.text, paragraph)
            else:
                text.blocks.append(Block(paragraph, box.page))
    return text


def _is_heading(box: _Box, body_size: float) -> bool:
    return (body_size > 0 and box.size >= body_size * _HEADING_RATIO and len(box.lines) <= 2
            and len(box.text) <= _HEADING_MAX_CHARS and has_words(box.text))


class PdfFormat(DocumentFormat):
    """A PDF translated into a Word document (name.<tgt>.docx): see NOTE."""

    extensions = (".pdf",)
    note = NOTE

    def __init__(self) -> None:
        self._last: tuple[tuple, PdfText] | None = None  # the counting pass's reading, for the writing pass

    def output_suffix(self, suffix: str) -> str:
        return ".docx"

    def _read(self, source: Path) -> PdfText:
        if not isinstance(source, Path):
            raise DocumentError(f"{source}: a PDF is read from a file")
        try:
            stat = source.stat()
        except OSError as exc:
            raise DocumentError(f"{source}: cannot be read ({exc.strerror or exc})") from None
        key = (str(source.resolve()), stat.st_size, stat.st_mtime_ns)
        if self._last is None or self._last[0] != key:
            self._last = (key, read_pdf(source))
        return self._last[1]

    def segments(self, source: Path) -> Iterator[str]:
        text = self._read(source)
        for part in (text.header, text.footer):
            if has_words(part):
                yield part
        for block in text.blocks:
            if has_words(block.text):
                yield block.text

    def why_empty(self, source: Path) -> str:
        text = self._read(source)
        if text.image_pages:
            return SCANNED
        return super().why_empty(source)

    def write(self, source: Path, out: BinaryIO, translate: Translate) -> None:
        from docx import Document

        text = self._read(source)
        document = Document()
        section = document.sections[0]
        if has_words(text.header):
            section.header.paragraphs[0].text = _NOT_XML.sub("", translate(text.header))
        if has_words(text.footer):
            section.footer.paragraphs[0].text = _NOT_XML.sub("", translate(text.footer))
        if text.page_numbers:
            _page_number_field(section.footer.add_paragraph() if has_words(text.footer)
                               else section.footer.paragraphs[0])
        page = 0
        for number, block in enumerate(text.blocks):
            written = _NOT_XML.sub("", translate(block.text)) if has_words(block.text) else block.text
            paragraph = document.add_heading(written, block.level) if block.level else document.add_paragraph(written)
            if block.page > page and number > 0:  # the first block of a new page starts one in Word too
                paragraph.paragraph_format.page_break_before = True
            page = block.page
        document.save(out)


def _page_number_field(paragraph) -> None:
    """A PAGE field: Word shows the page's number where the PDF printed one."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    field_ = OxmlElement("w:fldSimple")
    field_.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field_.append(run)
    paragraph._p.append(field_)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
