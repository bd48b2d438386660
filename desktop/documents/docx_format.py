"""Word documents (.docx, python-docx): each paragraph translated whole; runs, styles and layout kept.

A paragraph's text is spread over runs (stretches of one formatting). The runs of a paragraph are
translated together, as one text, so the model sees whole sentences; the translation goes into the
first run (keeping its formatting) and the other runs are emptied, not removed, so every run, its
properties and anything else it holds (tabs, breaks, pictures) stay. A hyperlink's runs form their
own stretch, so links keep their text in place. Paragraphs of the body, tables (nested too), text
boxes, headers and footers are all covered.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from desktop.documents.base import DocumentError, DocumentFormat, Translate, has_words


def _open(source: Path):
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        return docx.Document(str(source))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise DocumentError(f"{source}: not a readable .docx file ({exc})") from None
    except Exception as exc:  # zipfile.BadZipFile, lxml errors: a damaged file, said plainly
        raise DocumentError(f"{source}: not a readable .docx file ({type(exc).__name__}: {exc})") from None


def _stretches(document) -> Iterator[list]:
    """Lists of w:t elements, one list per stretch of runs to translate together, in document order."""
    from docx.oxml.ns import qn

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
    paragraph_tag, run_tag, link_tag, text_tag = qn("w:p"), qn("w:r"), qn("w:hyperlink"), qn("w:t")
    for root in roots:
        for paragraph in root.iter(paragraph_tag):
            # Consecutive runs make one stretch; a hyperlink is a stretch of its own; anything else
            # (fields, tracked changes, content controls) ends a stretch and is left as it is.
            stretches: list[list] = [[]]
            for child in paragraph:
                if child.tag == run_tag:
                    stretches[-1].extend(child.findall(text_tag))
                elif child.tag == link_tag:
                    texts = [t for run in child.findall(run_tag) for t in run.findall(text_tag)]
                    stretches.extend([texts, []])
                elif stretches[-1]:
                    stretches.append([])
            for texts in stretches:
                if has_words("".join(t.text or "" for t in texts)):
                    yield texts


class DocxFormat(DocumentFormat):
    extensions = (".docx",)

    def segments(self, source: Path) -> Iterator[str]:
        for texts in _stretches(_open(source)):
            yield "".join(t.text or "" for t in texts)

    def write(self, source: Path, target: Path, translate: Translate) -> None:
        document = _open(source)
        for texts in _stretches(document):
            translation = translate("".join(t.text or "" for t in texts))
            texts[0].text = translation
            # Keep leading/trailing spaces: Word drops them unless xml:space="preserve".
            texts[0].set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            for other in texts[1:]:
                other.text = ""
        document.save(str(target))
