"""Office files (.docx, .pptx, .xlsx, .odt) and EPUB books as zip packages of XML parts: the checks made before any part is
parsed, and the rewrite that copies every other member byte for byte (docs/reliability.md, "Hostile and
malformed inputs")."""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from desktop.documents.base import NOTHING_TO_TRANSLATE, DocumentError

if TYPE_CHECKING:  # lxml is imported where a part is parsed, not at start-up
    from lxml.etree import _Element

# Word and PowerPoint refuse files over 512 MB; a 64 MB XML part is already thousands of pages.
MAX_UNPACKED = 512 * 1024 * 1024
MAX_XML_PART = 64 * 1024 * 1024
MAX_MEMBERS = 10_000
_XML_SUFFIXES = (".xml", ".rels")

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"
_ENTITY = "<!ENTITY"
_DOCTYPE = "<!DOCTYPE"


@dataclass(frozen=True)
class PackageKind:
    """What a zip package of one format must look like, and how to name it in errors."""

    suffix: str  # ".docx"
    noun: str  # "Word document"
    # OOXML: content types of the main part, one of which [Content_Types].xml must declare.
    main_content_types: tuple[str, ...] = ()
    # OpenDocument: the `mimetype` member's accepted values.
    mimetypes: tuple[str, ...] = ()
    # Office Open XML never writes a DTD; OpenOffice 1-2 wrote a DOCTYPE (no internal subset) in
    # META-INF/manifest.xml, so for ODF only entity declarations are refused (the DOCTYPE names an
    # external DTD that no parser here ever loads).
    refuse_doctype: bool = True
    # OOXML: what to save an ISO/IEC 29500 Strict package as, where the format cannot read Strict
    # (python-docx and python-pptx know only the Transitional namespaces); empty: Strict is read.
    strict_save_as: str = ""
    # The members scanned as XML (size limit, DTD and entity declarations): EPUB's content documents are
    # .xhtml, its package document .opf, its table of contents .ncx.
    xml_suffixes: tuple[str, ...] = _XML_SUFFIXES

    @property
    def a_noun(self) -> str:
        return f"{'an' if self.noun[0] in 'AEIOU' else 'a'} {self.noun}"

    @property
    def unreadable(self) -> str:
        return f"not a readable {self.suffix} file"


_OOXML_TYPES = {  # main-part content type marker -> what the package is, for "it is a ..." messages
    "wordprocessingml": "a Word document (.docx)",
    "presentationml": "a PowerPoint presentation (.pptx)",
    "spreadsheetml": "an Excel workbook (.xlsx)",
    "ms-excel.sheet": "an Excel workbook (.xlsm)",
    "ms-powerpoint": "a PowerPoint presentation (.pptm)",
    "ms-word": "a Word document (.docm)",
}


# The package relationship to the main part, as Strict spells it (Transitional: schemas.openxmlformats.org).
_STRICT_MAIN = b"http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"


def _markers(kind: PackageKind) -> tuple[bytes, ...]:
    names = (_DOCTYPE, _ENTITY) if kind.refuse_doctype else (_ENTITY,)
    return tuple(name.encode(codec) for name in names for codec in ("ascii", "utf-16-le", "utf-16-be"))


def _has_declaration(archive: zipfile.ZipFile, info: zipfile.ZipInfo, markers: tuple[bytes, ...]) -> bool:
    """Whether the member holds a DTD or entity declaration, read in chunks (never whole)."""
    tail = b""
    with archive.open(info) as member:
        while chunk := member.read(1 << 20):
            window = tail + chunk
            if any(marker in window for marker in markers):
                return True
            tail = window[-32:]
    return False


def _not_a_zip(source: Path, kind: PackageKind, exc: Exception) -> DocumentError:
    try:
        with source.open("rb") as handle:
            head = handle.read(4)
    except OSError as err:
        return DocumentError(f"{source}: cannot be read ({err.strerror or err})")
    what = ("a damaged or truncated zip archive" if head.startswith(b"PK") else
            "an empty file" if not head else
            # OLE2: the binary Office formats (.doc, .ppt, .xls), or an Office Open XML file that
            # Office encrypted with a password (it is then an OLE2 container, not a zip)
            f"an old binary Office file or a password-protected document; save it as {kind.suffix} "
            "without a password" if head == _OLE2_MAGIC else
            f"not a zip archive, so not {kind.a_noun}; is it text renamed?")
    return DocumentError(f"{source}: {kind.unreadable} ({what}: {exc})")


def check_package(source: Path, kind: PackageKind) -> None:
    """Refuse a package that is not a zip of this kind, is a zip bomb, is encrypted or carries a DTD.

    Nothing is inflated but the few small parts that say what the package is, and each XML part is
    scanned in 1 MB chunks (UTF-16 spellings too) before any parser sees it.
    """
    markers = _markers(kind)
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise DocumentError(f"{source}: {len(members):,} parts in the archive; not {kind.a_noun}")
            unpacked = sum(info.file_size for info in members)
            if unpacked > MAX_UNPACKED:
                raise DocumentError(
                    f"{source}: unpacks to {unpacked / 2**20:,.0f} MB (the limit is "
                    f"{MAX_UNPACKED // 2**20} MB); refusing a possible zip bomb"
                )
            for info in members:
                if info.flag_bits & 0x1:  # zip-level encryption: nothing can be read without the password
                    raise DocumentError(f"{source}: {kind.unreadable} (its parts are encrypted with a "
                                        "password; save it without one and try again)")
                if not info.filename.lower().endswith(kind.xml_suffixes):
                    continue
                if info.file_size > MAX_XML_PART:
                    raise DocumentError(
                        f"{source}: {info.filename} unpacks to {info.file_size / 2**20:,.0f} MB (the limit is "
                        f"{MAX_XML_PART // 2**20} MB); refusing a possible zip bomb"
                    )
            _check_kind(source, kind, archive)
            for info in members:
                if info.filename.lower().endswith(kind.xml_suffixes) and _has_declaration(archive, info, markers):
                    raise DocumentError(f"{source}: {info.filename} declares a DTD or XML entities, which "
                                        f"{kind.noun}s never do; refusing it")
    except zipfile.BadZipFile as exc:
        raise _not_a_zip(source, kind, exc) from None
    except (OSError, EOFError, RuntimeError, NotImplementedError, zlib.error) as exc:
        # Unreadable, truncated mid-member, an encrypted zip member or an unknown compression method.
        raise DocumentError(f"{source}: {kind.unreadable} ({type(exc).__name__}: {exc})") from None


def _small_member(archive: zipfile.ZipFile, name: str, limit: int = 1 << 20) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > limit:
        return None
    return archive.read(info)


def _check_kind(source: Path, kind: PackageKind, archive: zipfile.ZipFile) -> None:
    """A .pptx that is really a .docx, an .odt that is a spreadsheet, a zip of photos: said plainly."""
    if kind.mimetypes:
        raw = _small_member(archive, "mimetype", 256)
        mimetype = raw.decode("ascii", "replace").strip() if raw is not None else None
        if mimetype is None:
            raise DocumentError(f"{source}: {kind.unreadable} (a zip archive without an OpenDocument "
                                f"'mimetype' entry, so not {kind.a_noun})")
        if mimetype not in kind.mimetypes:
            raise DocumentError(f"{source}: {kind.unreadable} (it is {mimetype!r}, not {kind.a_noun}; "
                                "give it the suffix of its own format)")
        manifest = _small_member(archive, "META-INF/manifest.xml", 8 << 20) or b""
        # An ODF file saved with a password keeps its zip and manifest, but its parts are encrypted.
        if b"encryption-data" in manifest:
            raise DocumentError(f"{source}: {kind.unreadable} (a password-protected document; save it "
                                "without a password and try again)")
        return
    types = _small_member(archive, "[Content_Types].xml", 8 << 20)
    if types is None:
        raise DocumentError(f"{source}: {kind.unreadable} (a zip archive without [Content_Types].xml, "
                            f"so not {kind.a_noun})")
    declared = re.findall(rb'ContentType="([^"]+)"', types)
    if any(t.decode("ascii", "replace") in kind.main_content_types for t in declared):
        if kind.strict_save_as and _STRICT_MAIN in (_small_member(archive, "_rels/.rels", 1 << 20) or b""):
            raise DocumentError(f"{source}: ISO/IEC 29500 Strict {kind.suffix} is not supported; save it as "
                                f"{kind.strict_save_as}")
        return
    for marker, what in _OOXML_TYPES.items():
        if any(marker.encode() in t and t.endswith(b".main+xml") for t in declared):
            raise DocumentError(f"{source}: {kind.unreadable} (it is {what}, not {kind.a_noun}; "
                                "give it the suffix of its own format)")
    raise DocumentError(f"{source}: {kind.unreadable} (no {kind.noun} inside the zip archive)")


def package_error(source: Path, kind: PackageKind, exc: BaseException) -> DocumentError:
    """A library or parser failure on a package that passed check_package: one line naming the file."""
    return DocumentError(f"{source}: {kind.unreadable} ({type(exc).__name__}: {exc})")


def parse_part(data: bytes) -> _Element:
    """An XML part as an lxml tree: entities are never resolved, nothing is fetched, no huge trees."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_blank_text=False)
    return etree.fromstring(data, parser)


def serialize_part(root: _Element) -> bytes:
    from lxml import etree

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def read_parts(source: Path, kind: PackageKind, wanted: Callable[[str], bool]) -> dict[str, _Element]:
    """The parsed parts whose names `wanted` accepts, in archive order (call check_package first)."""
    parts: dict[str, _Element] = {}
    try:
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if info.filename.endswith(_XML_SUFFIXES) and wanted(info.filename):
                    parts[info.filename] = parse_part(archive.read(info))
    except DocumentError:
        raise
    except Exception as exc:  # lxml syntax errors, a damaged member: said plainly, never a traceback
        raise package_error(source, kind, exc) from None
    return parts


_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODF_PARAGRAPHS = {f"{{{_ODF_TEXT}}}p", f"{{{_ODF_TEXT}}}h"}


def parts_with_text(source: Path, kind: PackageKind) -> list[str]:
    """The XML parts of a package that hold words: Office Open XML text elements (<w:t>, <a:t>, a
    workbook's <t>) or OpenDocument paragraphs and headings, wherever they are (call check_package first)."""
    found = []
    try:
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".xml"):
                    continue
                root = parse_part(archive.read(info))
                for element in root.iter():
                    tag = element.tag
                    if not isinstance(tag, str):
                        continue
                    if (tag in _ODF_PARAGRAPHS if kind.mimetypes else tag.rsplit("}", 1)[-1] == "t") and \
                            any(ch.isalpha() for ch in "".join(element.itertext())):
                        found.append(info.filename)
                        break
    except Exception as exc:  # lxml syntax errors, a damaged member: said plainly, never a traceback
        raise package_error(source, kind, exc) from None
    return found


def why_package_empty(source: Path, kind: PackageKind) -> str:
    """Why a package gave no text to translate: none at all, or text only where the format does not
    read (charts, SmartArt, comments...: docs/translate.md lists what each format translates)."""
    parts = parts_with_text(source, kind)
    if not parts:
        return NOTHING_TO_TRANSLATE
    named = ", ".join(parts[:5]) + (f" and {len(parts) - 5:,} more" if len(parts) > 5 else "")
    return (f"nothing to translate: its only text is in {named}, which is not translated in {kind.suffix} files "
            "(docs/translate.md lists what is)")


def rewrite_package(source: Path, target: Path | BinaryIO, replaced: Mapping[str, bytes],
                    stored_first: str | None = None) -> None:
    """Write source's zip to target (a file or a seekable stream) with the named members' contents replaced; all else byte for byte.

    Members keep their order, names, dates and compression (ODF wants `mimetype` first and stored).
    `stored_first` names a member written first, uncompressed and without extra fields, wherever the
    source had it (EPUB readers find the `mimetype` at byte 38; OCF forbids an extra field there).
    """
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        members = archive.infolist()
        if stored_first is not None:
            first = next((info for info in members if info.filename == stored_first), None)
            if first is not None:
                members.remove(first)
                plain = zipfile.ZipInfo(first.filename, date_time=first.date_time)
                plain.compress_type = zipfile.ZIP_STORED
                out.writestr(plain, replaced.get(first.filename) or archive.read(first))
        for info in members:
            data = replaced.get(info.filename)
            if data is None:
                data = archive.read(info)
            out.writestr(info, data, compress_type=info.compress_type)
