"""Documents: format readers/writers that keep structure, and translate_document to drive them.

Formats: .txt, .md, .docx, .pptx, .xlsx, .odt, .srt, .vtt, .html, .po, .xlf. No Qt here; the GUI and
the CLI both use this.
"""

from desktop.documents.base import DocumentError
from desktop.documents.translate import (
    FORMATS,
    SUPPORTED_EXTENSIONS,
    format_for,
    output_path_for,
    translate_document,
)
from desktop.engine.translation import TranslationCancelled

__all__ = [
    "FORMATS",
    "SUPPORTED_EXTENSIONS",
    "DocumentError",
    "TranslationCancelled",
    "format_for",
    "output_path_for",
    "translate_document",
]
