"""PowerPoint presentations (.pptx, python-pptx): every paragraph of every slide's text frames and notes
translated, run formatting kept as tags (docs/translate.md, "Documents")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from desktop.documents.base import DocumentError, DocumentFormat, Translate
from desktop.documents.office_package import PackageKind, check_package, package_error, why_package_empty
from desktop.documents.ooxml_runs import RunSchema, container_segments, translate_container

PPTX = PackageKind(".pptx", "PowerPoint presentation", main_content_types=(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
    "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml",
), strict_save_as="a PowerPoint Presentation (.pptx) in PowerPoint or LibreOffice")

_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"


def _pptx_name(props, wrapper) -> str:
    """The HTML element closest to a run's look (DrawingML spells it as rPr attributes)."""
    if props is None:
        return "span"
    if props.find(_A + "hlinkClick") is not None:
        return "a"
    if props.get("b") in ("1", "true"):
        return "b"
    if props.get("i") in ("1", "true"):
        return "i"
    if props.get("u") not in (None, "none"):
        return "u"
    return "span"


DRAWING_RUNS = RunSchema(
    run=_A + "r", props=_A + "rPr", text=_A + "t",
    # Spelling language, spell-check and "needs re-layout" flags: they do not change how text looks.
    volatile=frozenset({"lang", "altLang", "dirty", "err", "noProof", "smtClean", "smtId", "bmk"}),
    preserve_space=False,  # DrawingML keeps a:t's spaces as they are (and has no xml:space in its schema)
    name_of=_pptx_name,
)


def _open(source: Path):
    from pptx import Presentation

    check_package(source, PPTX)
    try:
        return Presentation(str(source))
    except Exception as exc:  # python-pptx, zipfile and lxml errors on a damaged file: one line, no traceback
        raise package_error(source, PPTX, exc) from None


def _paragraphs(presentation) -> Iterator:
    """Every a:p of every slide, then of its notes, slide by slide."""
    # Not layouts and masters (their placeholder prompts never show in a slideshow); chart and SmartArt
    # text lives in parts of their own and is left as it is.
    for slide in presentation.slides:
        yield from list(slide._element.iter(_A + "p"))
        if slide.has_notes_slide:
            yield from list(slide.notes_slide._element.iter(_A + "p"))


class PptxFormat(DocumentFormat):
    extensions = (".pptx",)

    def segments(self, source: Path) -> Iterator[str]:
        for paragraph in _paragraphs(_open(source)):
            yield from container_segments(paragraph, DRAWING_RUNS)

    def why_empty(self, source: Path) -> str:
        return why_package_empty(source, PPTX)

    def write(self, source: Path, out: BinaryIO, translate: Translate) -> None:
        presentation = _open(source)
        for paragraph in _paragraphs(presentation):
            translate_container(paragraph, DRAWING_RUNS, translate)
        try:
            presentation.save(out)
        except (OSError, DocumentError):
            raise
        except Exception as exc:
            raise package_error(source, PPTX, exc) from None
