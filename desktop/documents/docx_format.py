"""Word documents (.docx, python-docx): each paragraph translated as one sentence, its inline formatting
kept as tags around the translated words (docs/translate.md, "Documents")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from desktop.documents.base import DocumentError, DocumentFormat, Translate
from desktop.documents.office_package import PackageKind, why_package_empty
from desktop.documents.office_package import check_package as check_office_package
from desktop.documents.ooxml_runs import RunSchema, container_segments, translate_container

DOCX = PackageKind(".docx", "Word document", main_content_types=(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    "application/vnd.ms-word.document.macroEnabled.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
), strict_save_as="a Word Document (.docx) in Word or LibreOffice")


def check_package(source: Path) -> None:
    """Refuse a .docx that is not a Word zip, is a zip bomb or carries a DTD, before anything is inflated."""
    check_office_package(source, DOCX)


def _open(source: Path):
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    check_package(source)
    try:
        return docx.Document(str(source))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise DocumentError(f"{source}: not a readable .docx file ({exc})") from None
    except Exception as exc:  # zipfile.BadZipFile, lxml errors: a damaged file, said plainly
        raise DocumentError(f"{source}: not a readable .docx file ({type(exc).__name__}: {exc})") from None


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_name(props, wrapper) -> str:
    """The HTML element closest to a run's look, so the model sees <b>, <i>, <a> it knows from catalogs."""
    if wrapper is not None:
        return "a"
    if props is not None:
        for tag, name in (("b", "b"), ("i", "i"), ("u", "u")):
            element = props.find(_W + tag)
            if element is not None and element.get(_W + "val") not in ("0", "false", "none"):
                return name
    return "span"


WORD_RUNS = RunSchema(
    run=_W + "r", props=_W + "rPr", text=_W + "t",
    wrappers=frozenset({_W + "hyperlink"}),
    # Their runs are translated as sentences of their own, inside them: a tracked insertion stays a
    # tracked insertion, a content control keeps its properties. (Deleted text, w:delText, is not w:t.)
    nested=frozenset({_W + "ins", _W + "moveTo", _W + "smartTag", _W + "customXml", _W + "sdt",
                      _W + "sdtContent"}),
    skipped=frozenset({_W + "proofErr"}),
    cached=frozenset({_W + "lastRenderedPageBreak"}),
    # Spell-checking language and flags, and revision ids, say nothing about how the text looks.
    volatile=frozenset({_W + "lang", _W + "noProof", _W + "rPrChange"}),
    preserve_space=True,  # Word drops leading/trailing spaces unless xml:space="preserve"
    name_of=_docx_name,
)


def _paragraphs(document) -> Iterator:
    """Every w:p of the body and of the headers and footers, in document order."""
    roots = [document.element.body]
    seen_parts = set()
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header, section.first_page_footer,
                     section.even_page_header, section.even_page_footer):
            if part.is_linked_to_previous:
                continue
            element = part._element
            if id(element) not in seen_parts:
                seen_parts.add(id(element))
                roots.append(element)
    for root in roots:
        yield from list(root.iter(_W + "p"))


class DocxFormat(DocumentFormat):
    extensions = (".docx",)

    def segments(self, source: Path) -> Iterator[str]:
        for paragraph in _paragraphs(_open(source)):
            yield from container_segments(paragraph, WORD_RUNS)

    def why_empty(self, source: Path) -> str:
        return why_package_empty(source, DOCX)

    def write(self, source: Path, out: BinaryIO, translate: Translate) -> None:
        document = _open(source)
        for paragraph in _paragraphs(document):
            translate_container(paragraph, WORD_RUNS, translate)
        document.save(out)
