"""EPUB 2 and 3 books (.epub): the spine's XHTML documents through the HTML path, the title and description,
the tables of contents (nav, NCX), the language set to the target; every other member byte for byte, the
`mimetype` first and stored (docs/translate.md, "EPUB books")."""

from __future__ import annotations

import codecs
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from desktop.documents.base import DocumentError, DocumentFormat, Piece, Translatable, Translate, has_words
from desktop.documents.html_format import HtmlFormat
from desktop.documents.office_package import (
    PackageKind,
    check_package,
    package_error,
    parse_part,
    rewrite_package,
)
from desktop.documents.xml_splice import XML_NS, Edits, SpliceError

EPUB = PackageKind(".epub", "EPUB book", mimetypes=("application/epub+zip",), refuse_doctype=False,
                   xml_suffixes=(".xml", ".opf", ".ncx", ".xhtml", ".html", ".htm", ".xht", ".svg", ".smil"))

_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF = "{http://www.idpf.org/2007/opf}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_NCX = "{http://www.daisy.org/z3986/2005/ncx/}"
_XML_LANG = f"{{{XML_NS}}}lang"
_XHTML = "application/xhtml+xml"
_NCX_TYPE = "application/x-dtbncx+xml"
_PACKAGE_TYPE = "application/oebps-package+xml"
# Fonts are the only members an EPUB may encrypt and still be read by any reading system ("obfuscated"
# so that they are not extracted); anything else encrypted is DRM.
_FONT_OBFUSCATION = ("http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC")
_TRANSLATED_METADATA = (_DC + "title", _DC + "description")
_NCX_LABELS = (_NCX + "docTitle", _NCX + "navLabel")
_LANG_ATTRIBUTE = re.compile(r"""(\s(?:xml:)?lang\s*=\s*)(["'])([^"']*)\2""")
_HTML_START = re.compile(r"<html(?=[\s>/])")
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


@dataclass
class _Book:
    """Where a book's parts are: the package document (OPF), the XHTML documents to translate (the spine's,
    then a nav document outside it), the EPUB 2 table of contents (NCX)."""

    opf: str
    version: str
    documents: list[str] = field(default_factory=list)
    ncx: str | None = None


def _primary(code: str | None) -> str:
    return (code or "").split("-")[0].split("_")[0].lower()


def _read(archive: zipfile.ZipFile, source: Path, name: str, by: str) -> bytes:
    try:
        return archive.read(name)
    except KeyError:
        raise DocumentError(f"{source}: {by} names {name}, which is not in the book") from None


def _parse(source: Path, name: str, data: bytes):
    try:
        return parse_part(data)
    except DocumentError:
        raise
    except Exception as exc:  # lxml's syntax errors name the line: said with the member's name
        raise DocumentError(f"{source}: {name}: not well-formed XML ({exc}); {EPUB.unreadable}") from None


def _load(source: Path) -> _Book:
    """The book's structure, after the zip checks; a DocumentError names the member at fault."""
    check_package(source, EPUB)
    try:
        with zipfile.ZipFile(source) as archive:
            container = _parse(source, "META-INF/container.xml",
                               _read(archive, source, "META-INF/container.xml", "the EPUB standard"))
            rootfiles = [element for element in container.iter(_CONTAINER + "rootfile")
                         if element.get("media-type", _PACKAGE_TYPE) == _PACKAGE_TYPE and element.get("full-path")]
            if not rootfiles:
                raise DocumentError(f"{source}: META-INF/container.xml names no package document (.opf); "
                                    f"{EPUB.unreadable}")
            opf_name = rootfiles[0].get("full-path")
            opf = _parse(source, opf_name, _read(archive, source, opf_name, "META-INF/container.xml"))
            book = _Book(opf_name, opf.get("version", ""))
            base = posixpath.dirname(opf_name)
            items = {}
            for item in opf.iter(_OPF + "item"):
                href = item.get("href")
                if href and item.get("id"):
                    member = posixpath.normpath(posixpath.join(base, unquote(href.split("#")[0])))
                    items[item.get("id")] = (member, item.get("media-type", ""), (item.get("properties") or "").split())
            spine = opf.find(_OPF + "spine")
            for itemref in spine.iter(_OPF + "itemref") if spine is not None else ():
                entry = items.get(itemref.get("idref"))
                if entry is not None and entry[1] == _XHTML and entry[0] not in book.documents:
                    book.documents.append(entry[0])
            for member, media_type, properties in items.values():
                if "nav" in properties and media_type == _XHTML and member not in book.documents:
                    book.documents.append(member)
            toc = items.get(spine.get("toc")) if spine is not None else None
            if toc is None:
                toc = next((entry for entry in items.values() if entry[1] == _NCX_TYPE), None)
            book.ncx = toc[0] if toc is not None else None
            names = set(archive.namelist())
            for member in [*book.documents, *([book.ncx] if book.ncx else [])]:
                if member not in names:
                    raise DocumentError(f"{source}: {opf_name} lists {member}, which is not in the book")
            _refuse_drm(source, archive, names, {opf_name, *book.documents, book.ncx})
    except DocumentError:
        raise
    except Exception as exc:  # a damaged member, an lxml error past the checks: one line, never a traceback
        raise package_error(source, EPUB, exc) from None
    return book


def _refuse_drm(source: Path, archive: zipfile.ZipFile, names: set[str], needed: set[str | None]) -> None:
    """A book whose text is encrypted (DRM) cannot be read; obfuscated fonts are fine (they are copied)."""
    if "META-INF/encryption.xml" not in names:
        return
    root = _parse(source, "META-INF/encryption.xml", archive.read("META-INF/encryption.xml"))
    for data in root.iter("{http://www.w3.org/2001/04/xmlenc#}EncryptedData"):
        method = data.find("{http://www.w3.org/2001/04/xmlenc#}EncryptionMethod")
        if method is not None and method.get("Algorithm") in _FONT_OBFUSCATION:
            continue
        for reference in data.iter("{http://www.w3.org/2001/04/xmlenc#}CipherReference"):
            if unquote(reference.get("URI") or "") in needed:
                raise DocumentError(f"{source}: its text is encrypted (DRM, META-INF/encryption.xml); only "
                                    "a book without DRM can be translated")


def _decoded(source: Path, name: str, data: bytes) -> tuple[str, str, bytes]:
    """A content document's text, the codec that writes it back and its byte order mark."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            body, found = data[len(bom):], codec
            break
    else:
        declared = _DECLARED.match(data)
        body, bom, found = data, b"", declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return body.decode(found), found, bom
    except (LookupError, UnicodeDecodeError) as exc:
        raise DocumentError(f"{source}: {name}: not readable as {found} ({exc}); EPUB documents are UTF-8") from None


class EpubFormat(DocumentFormat):
    """EPUB 2 and 3. configured() with the job's languages: the translation says it is in the target
    language (dc:language, xml:lang and lang); without them (counting) nothing is re-labelled."""

    extensions = (".epub",)

    def __init__(self, src: str | None = None, tgt: str | None = None) -> None:
        self.src, self.tgt = src, tgt

    def configured(self, src: str, tgt: str, overwrite: bool = False, model_name: str | None = None) -> EpubFormat:
        return EpubFormat(src, tgt)

    # -- the three kinds of part ----------------------------------------------------------------

    def _relabel(self, raw: str) -> str:
        """A start tag with its language attributes for the target: always on <html> (the document is
        translated), elsewhere where they named the source language (a Latin quotation keeps its label)."""
        if self.tgt is None or not raw.startswith("<") or raw.startswith(("<!", "<?", "</")):
            return raw
        root = bool(_HTML_START.match(raw))

        def label(match: re.Match[str]) -> str:
            if root or _primary(match.group(3)) == _primary(self.src):
                return f"{match.group(1)}{match.group(2)}{self.tgt}{match.group(2)}"
            return match.group(0)

        return _LANG_ATTRIBUTE.sub(label, raw)

    def _document_pieces(self, source: Path, name: str, text: str, book: _Book) -> Iterator[Piece]:
        try:
            pieces = list(HtmlFormat().pieces(text.splitlines(keepends=True)))
        except DocumentError as exc:
            raise DocumentError(f"{source}: {name}: {exc}") from None
        for piece in pieces:
            if isinstance(piece, str):
                relabelled = self._relabel(piece)
                if relabelled is piece and self.tgt is not None and _HTML_START.match(piece) \
                        and not _LANG_ATTRIBUTE.search(piece):
                    # No language on the root yet: added (EPUB 2's XHTML 1.1 has only xml:lang).
                    both = f' xml:lang="{self.tgt}"' + (f' lang="{self.tgt}"' if book.version.startswith("3") else "")
                    relabelled = "<html" + both + piece[len("<html"):]
                yield relabelled
            else:
                yield piece

    def _document(self, source: Path, name: str, data: bytes, book: _Book, translate: Translate | None):
        """The document's segments (translate None) or its translated bytes, checked to be well-formed XML."""
        _parse(source, name, data)  # a damaged document is refused before anything is translated
        text, codec, bom = _decoded(source, name, data)
        if translate is None:
            return [piece.text for piece in self._document_pieces(source, name, text, book)
                    if isinstance(piece, Translatable)]
        written = "".join(piece.written(translate(piece.text)) if isinstance(piece, Translatable) else piece
                          for piece in self._document_pieces(source, name, text, book))
        out = bom + written.encode(codec, errors="xmlcharrefreplace")
        try:
            parse_part(out)
        except Exception as exc:  # never write a book a reading system cannot open
            raise DocumentError(f"{source}: {name}: the translation is not well-formed XML ({exc}); "
                                "nothing was written") from None
        return out

    def _texts(self, root, kind: str) -> Iterator:
        """The elements whose text is translated: in the OPF the title and description, in the NCX the
        book's title and every label of the table of contents (navMap, pageList, navList)."""
        if kind == "opf":
            for element in root.iter(*_TRANSLATED_METADATA):
                if has_words(element.text or "") and len(element) == 0:
                    yield element
        else:
            for label in root.iter(*_NCX_LABELS):
                for text in label.iter(_NCX + "text"):
                    if has_words(text.text or "") and len(text) == 0:
                        yield text

    def _metadata_segments(self, element) -> list:
        value = element.text or ""
        if "<" in value and element.tag == _DC + "description":  # HTML in the description (Calibre writes it)
            return [piece.text for piece in HtmlFormat().pieces(value.splitlines(keepends=True))
                    if isinstance(piece, Translatable)]
        return [value.strip()]

    def _metadata_translation(self, element, translate: Translate) -> str:
        value = element.text or ""
        if "<" in value and element.tag == _DC + "description":
            return "".join(piece.written(translate(piece.text)) if isinstance(piece, Translatable) else piece
                           for piece in HtmlFormat().pieces(value.splitlines(keepends=True)))
        lead, trail = value[: len(value) - len(value.lstrip())], value[len(value.rstrip()):]
        return lead + translate(value.strip()) + trail

    def _xml_part(self, source: Path, name: str, data: bytes, kind: str, translate: Translate | None):
        """The OPF's or NCX's segments (translate None), or its bytes with the texts translated, the
        language set to the target and every other byte as it was."""
        root = _parse(source, name, data)
        if translate is None:
            return [text for element in self._texts(root, kind) for text in self._metadata_segments(element)]
        tree = root.getroottree()
        edits = Edits(tree)
        for element in list(self._texts(root, kind)):
            element.text = self._metadata_translation(element, translate)
            edits.replaced(element)
        for element in root.iter():
            if isinstance(element.tag, str) and _primary(element.get(_XML_LANG)) == _primary(self.src) \
                    and element.get(_XML_LANG) is not None:
                edits.attributes(element)
                element.set(_XML_LANG, self.tgt or "")
        if kind == "opf":
            self._relabel_package(root, edits)
        if root.get(_XML_LANG) is not None and root.get(_XML_LANG) != self.tgt:  # the part's own language
            edits.attributes(root)
            root.set(_XML_LANG, self.tgt or "")
        try:
            return edits.spliced(data)
        except SpliceError:
            return _serialized(tree)

    def _relabel_package(self, root, edits: Edits) -> None:
        """dc:language: the book's language (the first) and any naming the source become the target;
        EPUB 3's dcterms:modified says when the book changed (now)."""
        for number, language in enumerate(root.iter(_DC + "language")):
            if (number == 0 or _primary(language.text) == _primary(self.src)) and (language.text or "").strip():
                language.text = self.tgt
                edits.replaced(language)
        for meta in root.iter(_OPF + "meta"):
            if meta.get("property") == "dcterms:modified" and meta.get("refines") is None:
                meta.text = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                edits.replaced(meta)

    # -- the format interface -------------------------------------------------------------------

    def _parts(self, source: Path, translate: Translate | None) -> Iterator[tuple[str, object]]:
        book = _load(source)
        try:
            archive = zipfile.ZipFile(source)
        except (OSError, zipfile.BadZipFile) as exc:
            raise package_error(source, EPUB, exc) from None
        with archive:
            yield book.opf, self._xml_part(source, book.opf, archive.read(book.opf), "opf", translate)
            for name in book.documents:
                yield name, self._document(source, name, archive.read(name), book, translate)
            if book.ncx is not None:
                yield book.ncx, self._xml_part(source, book.ncx, archive.read(book.ncx), "ncx", translate)

    def segments(self, source: Path) -> Iterator[str]:
        for _, texts in self._parts(source, None):
            yield from texts  # type: ignore[misc]

    def write(self, source: Path, out: BinaryIO, translate: Translate) -> None:
        replaced = dict(self._parts(source, translate))
        try:
            rewrite_package(source, out, replaced, stored_first="mimetype")  # type: ignore[arg-type]
        except (OSError, DocumentError):
            raise
        except Exception as exc:
            raise package_error(source, EPUB, exc) from None


def _serialized(tree) -> bytes:
    from lxml import etree

    return etree.tostring(tree, xml_declaration=True, encoding=tree.docinfo.encoding or "UTF-8")
