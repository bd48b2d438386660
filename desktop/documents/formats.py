"""The format table: which DocumentFormat reads a file (by its suffix), and a translation's default name
(docs/translate.md, "Documents")."""

from __future__ import annotations

from pathlib import Path

from desktop.documents.base import DocumentError, DocumentFormat, Source
from desktop.documents.docx_format import DocxFormat
from desktop.documents.epub_format import EpubFormat
from desktop.documents.html_format import HtmlFormat
from desktop.documents.markdown_format import MarkdownFormat
from desktop.documents.odt_format import OdpFormat, OdtFormat
from desktop.documents.pdf_format import PdfFormat
from desktop.documents.po_format import PoFormat
from desktop.documents.pptx_format import PptxFormat
from desktop.documents.subtitle_format import SubtitleFormat
from desktop.documents.text_format import PlainTextFormat
from desktop.documents.xliff_format import XliffFormat
from desktop.documents.xlsx_format import XlsxFormat

FORMATS: tuple[DocumentFormat, ...] = (
    PlainTextFormat(), MarkdownFormat(), DocxFormat(), SubtitleFormat(), HtmlFormat(), PoFormat(), XliffFormat(),
    PptxFormat(), XlsxFormat(), OdtFormat(), OdpFormat(), EpubFormat(), PdfFormat(),
)
_BY_EXTENSION = {ext: fmt for fmt in FORMATS for ext in fmt.extensions}
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(sorted(_BY_EXTENSION))


def format_for(source: Source) -> DocumentFormat:
    """The format reading `source`, by its suffix; DocumentError for an unsupported one."""
    fmt = _BY_EXTENSION.get(source.suffix.lower())
    if fmt is None:
        raise DocumentError(
            f"{source}: unsupported file type {source.suffix or '(no extension)'!r} "
            f"(supported: {', '.join(SUPPORTED_EXTENSIONS)})"
        )
    return fmt


def output_path_for(source: Path, src: str, tgt: str) -> Path:
    """name.<tgt>.ext beside the source; a source named name.<src>.ext becomes name.<tgt>.ext; a gettext
    template name.pot becomes the catalog name.<tgt>.po."""
    stem = source.stem
    if stem.lower().endswith(f".{src.lower()}"):
        stem = stem[: -len(src) - 1]
    fmt = _BY_EXTENSION.get(source.suffix.lower())
    suffix = fmt.output_suffix(source.suffix) if fmt is not None else source.suffix
    return source.with_name(f"{stem}.{tgt}{suffix}")
