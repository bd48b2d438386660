"""Documents: formats that keep a file's structure, and DocumentJob to translate one (docs/translate.md,
"Documents"). No Qt here; the app, the CLI and the API all use it."""

from desktop.documents.base import DocumentError, TextSource
from desktop.documents.formats import FORMATS, SUPPORTED_EXTENSIONS, format_for, output_path_for
from desktop.documents.job import DocumentJob, JobOptions
from desktop.engine.translator import TranslationCancelled

__all__ = [
    "FORMATS",
    "SUPPORTED_EXTENSIONS",
    "DocumentError",
    "DocumentJob",
    "JobOptions",
    "TextSource",
    "TranslationCancelled",
    "format_for",
    "output_path_for",
]
