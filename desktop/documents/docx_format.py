"""Word documents (.docx, python-docx): each paragraph translated whole; runs, styles and layout kept.

A paragraph's text is spread over runs (stretches of one formatting). The runs of a paragraph are
translated together, as one text, so the model sees whole sentences; the translation goes into the
first run (keeping its formatting) and the other runs are emptied, not removed, so every run, its
properties and anything else it holds (tabs, breaks, pictures) stay. A hyperlink's runs form their
own stretch, so links keep their text in place. Paragraphs of the body, tables (nested too), text
boxes, headers and footers are all covered.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from desktop.documents.base import DocumentError, DocumentFormat, Translate, has_words

# Limits checked on the zip's directory before python-docx reads anything: python-docx reads every
# part whole into memory, and zipfile never inflates a member past the size the directory declares
# (a member that lies fails its CRC check), so these bound memory even for a crafted zip bomb.
# Word itself refuses files over 512 MB; a 64 MB XML part is already thousands of pages.
MAX_DOCX_UNPACKED = 512 * 1024 * 1024
MAX_DOCX_XML_PART = 64 * 1024 * 1024
MAX_DOCX_MEMBERS = 10_000
# Word never writes a DTD; one in a part can only be an entity trick (billion laughs, external entities).
_DTD_MARKERS = tuple(marker.encode(codec) for marker in ("<!DOCTYPE", "<!ENTITY")
                     for codec in ("ascii", "utf-16-le", "utf-16-be"))


def _has_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether the member holds a DTD or entity declaration, read in chunks (never whole)."""
    tail = b""
    with archive.open(info) as member:
        while chunk := member.read(1 << 20):
            window = tail + chunk
            if any(marker in window for marker in _DTD_MARKERS):
                return True
            tail = window[-32:]
    return False


def check_package(source: Path) -> None:
    """Refuse a .docx that is not a zip, is a zip bomb or carries a DTD, before anything is inflated."""
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
            if len(members) > MAX_DOCX_MEMBERS:
                raise DocumentError(f"{source}: {len(members):,} parts in the archive; not a Word document")
            unpacked = sum(info.file_size for info in members)
            if unpacked > MAX_DOCX_UNPACKED:
                raise DocumentError(
                    f"{source}: unpacks to {unpacked / 2**20:,.0f} MB (the limit is "
                    f"{MAX_DOCX_UNPACKED // 2**20} MB); refusing a possible zip bomb"
                )
            for info in members:
                if not info.filename.endswith((".xml", ".rels")):
                    continue
                if info.file_size > MAX_DOCX_XML_PART:
                    raise DocumentError(
                        f"{source}: {info.filename} unpacks to {info.file_size / 2**20:,.0f} MB (the limit is "
                        f"{MAX_DOCX_XML_PART // 2**20} MB); refusing a possible zip bomb"
                    )
                if _has_dtd(archive, info):
                    raise DocumentError(f"{source}: {info.filename} declares a DTD or XML entities, which Word "
                                        "documents never do; refusing it")
    except zipfile.BadZipFile as exc:
        with source.open("rb") as handle:
            head = handle.read(4)
        kind = ("a damaged or truncated zip archive" if head.startswith(b"PK") else
                "an empty file" if not head else
                # OLE2: Word 97-2003 (.doc), or a .docx that Word encrypted with a password
                "an old .doc or a password-protected document; save it as .docx without a password"
                if head == b"\xd0\xcf\x11\xe0" else
                "not a zip archive, so not a Word document; is it text renamed?")
        raise DocumentError(f"{source}: not a readable .docx file ({kind}: {exc})") from None
    except (OSError, EOFError, RuntimeError, NotImplementedError, zlib.error) as exc:
        # Unreadable, truncated mid-member, encrypted or an unknown compression method.
        raise DocumentError(f"{source}: not a readable .docx file ({type(exc).__name__}: {exc})") from None


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
