"""Excel workbooks (.xlsx): every text cell of every sheet translated (shared and inline strings, rich text
as tags); formulas, numbers and dates untouched (docs/translate.md, "Documents")."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from desktop.documents.base import DocumentError, DocumentFormat, Translate, has_words
from desktop.documents.office_package import (
    PackageKind,
    check_package,
    package_error,
    parse_part,
    read_parts,
    rewrite_package,
    serialize_part,
    why_package_empty,
)
from desktop.documents.ooxml_runs import (
    XML_SPACE,
    RunSchema,
    container_segments,
    translate_container,
    xml_text,
)
from desktop.documents.xlsx_tables import Strings, find_tables, follow_headers

XLSX = PackageKind(".xlsx", "Excel workbook", main_content_types=(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
))
_SHARED_STRINGS = "spreadsheetml.sharedStrings+xml"
_WORKSHEET = "spreadsheetml.worksheet+xml"
# What the tables' column names depend on: the tables, the sheets' relationships that find them, and the
# formulas and pivot caches that may name their columns.
_TABLE_PARTS = ("spreadsheetml.table+xml", "spreadsheetml.pivotCacheDefinition+xml", "spreadsheetml.sheet.main+xml",
                "spreadsheetml.template.main+xml", "ms-excel.sheet.macroEnabled.main+xml",
                "ms-excel.template.macroEnabled.main+xml")


def _namespace(root) -> str:
    # Transitional ("schemas.openxmlformats.org") and Strict ("purl.oclc.org") spell it differently.
    return root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""


def _xlsx_name(props, wrapper) -> str:
    if props is not None:
        for tag, name in (("b", "b"), ("i", "i"), ("u", "u")):
            element = next((child for child in props if child.tag.endswith("}" + tag)), None)
            if element is not None and element.get("val") not in ("0", "false", "none"):
                return name
    return "span"


def _schema(ns: str) -> RunSchema:
    return RunSchema(run=ns + "r", props=ns + "rPr", text=ns + "t", preserve_space=True, name_of=_xlsx_name)


def _parts_of(source: Path, endings: tuple[str, ...]) -> list[str]:
    """The parts whose content types the package declares with one of these endings."""
    import zipfile

    with zipfile.ZipFile(source) as archive:
        types = parse_part(archive.read("[Content_Types].xml"))
    parts = []
    for override in types:
        name, content_type = override.get("PartName") or "", override.get("ContentType") or ""
        if content_type.endswith(endings):
            parts.append(posixpath.normpath(name).lstrip("/"))
    return parts


def _load(source: Path, tables: bool = False) -> tuple[dict[str, object], dict[str, object]]:
    """(the shared strings and the worksheets, and with `tables` the parts the tables need)."""
    check_package(source, XLSX)
    try:
        wanted = set(_parts_of(source, (_SHARED_STRINGS, _WORKSHEET)))
        more = set(_parts_of(source, _TABLE_PARTS)) if tables else set()
    except Exception as exc:
        raise package_error(source, XLSX, exc) from None
    sheets = {posixpath.join(posixpath.dirname(name), "_rels", posixpath.basename(name) + ".rels") for name in wanted}
    parts = read_parts(source, XLSX, lambda name: name in wanted or name in more or tables and name in sheets)
    # Shared strings first (most of a workbook's text), then the sheets' own inline strings.
    text = dict(sorted(((name, root) for name, root in parts.items() if name in wanted),
                       key=lambda item: ("worksheets/" in item[0], item[0])))
    return text, {name: root for name, root in parts.items() if name not in wanted}


def _strings(root) -> Iterator:
    """The string items of a part: <si> of the shared strings, <is> of a sheet's inline-string cells."""
    # Only these change: a formula (and its cached result), a number, a date, a boolean or an error value
    # is never a shared or inline string.
    ns = _namespace(root)
    if root.tag == ns + "sst":
        yield from root.iter(ns + "si")
        return
    for cell in root.iter(ns + "c"):
        if cell.get("t") == "inlineStr":
            yield from cell.iter(ns + "is")


def _plain(item, ns: str):
    """The <t> of a plain string item (no runs), or None for rich text."""
    return item.find(ns + "t")


class XlsxFormat(DocumentFormat):
    extensions = (".xlsx",)

    def segments(self, source: Path) -> Iterator[str]:
        for root in _load(source)[0].values():
            ns = _namespace(root)
            for item in _strings(root):
                plain = _plain(item, ns)
                if plain is not None:
                    if has_words(plain.text or ""):
                        yield plain.text
                else:
                    yield from container_segments(item, _schema(ns))

    def why_empty(self, source: Path) -> str:
        return why_package_empty(source, XLSX)

    def write(self, source: Path, out: BinaryIO, translate: Translate) -> None:
        parts, others = _load(source, tables=True)
        sst_name = next((name for name, root in parts.items() if root.tag == _namespace(root) + "sst"), None)
        strings = Strings(parts[sst_name] if sst_name else None)
        sheets = {name: root for name, root in parts.items() if name != sst_name}
        tables = find_tables(sheets, others, strings)  # their header cells' texts before translation
        touched: set[str] = set()
        for name, root in parts.items():
            ns = _namespace(root)
            for item in _strings(root):
                plain = _plain(item, ns)
                if plain is not None:
                    if has_words(plain.text or ""):
                        plain.text = xml_text(translate(plain.text))
                        plain.set(XML_SPACE, "preserve")
                        touched.add(name)
                elif translate_container(item, _schema(ns), translate):
                    touched.add(name)
        touched |= follow_headers(tables, strings, sheets, others)
        if strings.changed:
            touched.add(sst_name)  # type: ignore[arg-type]
        changed = {name: serialize_part(parts[name] if name in parts else others[name]) for name in touched}
        try:
            rewrite_package(source, out, changed)
        except (OSError, DocumentError):
            raise
        except Exception as exc:
            raise package_error(source, XLSX, exc) from None
