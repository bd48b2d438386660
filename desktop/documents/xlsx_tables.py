"""Excel tables in a translated workbook: each table's column names follow its translated header cells,
unique within the table as Excel requires (docs/translate.md, "Documents": .xlsx tables)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from desktop.documents.ooxml_runs import XML_SPACE, xml_text

if TYPE_CHECKING:
    from lxml.etree import _Element

_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def _namespace(root) -> str:
    return root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""


def _position(reference: str) -> tuple[int, int] | None:
    """(row, column) of an A1 cell reference, 1-based; None when it is not one."""
    match = _CELL.match(reference.strip())
    if not match:
        return None
    column = 0
    for letter in match.group(1):
        column = column * 26 + ord(letter) - ord("A") + 1
    return int(match.group(2)), column


def _area(reference: str) -> tuple[int, int, int, int] | None:
    """(first row, first column, last row, last column) of "A1:C5" (or of one cell)."""
    ends = [_position(part) for part in reference.split(":")]
    if not ends or any(end is None for end in ends):
        return None
    (row1, col1), (row2, col2) = ends[0], ends[-1]  # type: ignore[misc]
    return min(row1, row2), min(col1, col2), max(row1, row2), max(col1, col2)


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def item_text(item, ns: str) -> str:
    """A string item's text (<si> or <is>): its <t> and its runs' <t>, not the phonetic guides (<rPh>)."""
    texts = [child.text or "" for child in item if child.tag == ns + "t"]
    texts += [t.text or "" for run in item if run.tag == ns + "r" for t in run if t.tag == ns + "t"]
    return "".join(texts)


@dataclass
class Table:
    """One table part, the sheet it sits on, and its header cells (None where a cell is missing)."""

    name: str
    part: str
    root: _Element
    sheet: _Element
    area: tuple[int, int, int, int]
    cells: list = field(default_factory=list)
    before: list[str | None] = field(default_factory=list)  # the header cells' texts in the source


class Strings:
    """A workbook's shared strings, to read a cell's text and to give one cell a text of its own."""

    def __init__(self, sst: _Element | None) -> None:
        self.sst = sst
        self.ns = _namespace(sst) if sst is not None else ""
        self.items = list(sst.iter(self.ns + "si")) if sst is not None else []
        self.changed = False

    def text(self, cell, ns: str) -> str | None:
        """The cell's string, or None when it holds no string (a number, a formula's result)."""
        kind = cell.get("t")
        if kind == "s":
            value = cell.find(ns + "v")
            try:
                return item_text(self.items[int((value.text or "").strip())], self.ns)
            except (AttributeError, ValueError, IndexError):
                return None
        if kind == "inlineStr":
            inline = cell.find(ns + "is")
            return item_text(inline, ns) if inline is not None else None
        return None

    def set_text(self, cell, ns: str, text: str) -> None:
        """Give the cell this plain text: a new shared string (others may share its old one), or its inline string."""
        from lxml import etree

        if cell.get("t") == "inlineStr":
            inline = cell.find(ns + "is")
            for child in list(inline):
                inline.remove(child)
            element = etree.SubElement(inline, ns + "t")
        else:
            assert self.sst is not None
            item = etree.SubElement(self.sst, self.ns + "si")
            element = etree.SubElement(item, self.ns + "t")
            self.items.append(item)
            if self.sst.get("uniqueCount") is not None:
                self.sst.set("uniqueCount", str(len(self.items)))
            cell.find(ns + "v").text = str(len(self.items) - 1)
            self.changed = True
        element.text = xml_text(text)
        element.set(XML_SPACE, "preserve")


def _rels_name(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _target(part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(part), target))


def find_tables(sheets: Mapping[str, _Element], others: Mapping[str, _Element], strings: Strings) -> list[Table]:
    """The tables of each sheet (through the sheet's relationships) with their header cells' source texts."""
    tables: list[Table] = []
    for part, sheet in sheets.items():
        rels = others.get(_rels_name(part))
        if rels is None:
            continue
        ns = _namespace(sheet)
        cells = {cell.get("r"): cell for cell in sheet.iter(ns + "c")}
        for rel in rels:
            if not (rel.get("Type") or "").endswith("/table") or rel.get("TargetMode") == "External":
                continue
            name = _target(part, rel.get("Target") or "")
            root = others.get(name)
            area = _area(root.get("ref") or "") if root is not None else None
            if root is None or area is None or root.get("headerRowCount") == "0":
                continue
            table = Table(root.get("name") or root.get("displayName") or "", name, root, sheet, area)
            for column in range(area[1], area[3] + 1):
                cell = cells.get(_reference(area[0], column))
                table.cells.append(cell)
                table.before.append(None if cell is None else strings.text(cell, ns))
            tables.append(table)
    return tables


def _reference(row: int, column: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters}{row}"


def _referenced(table: Table, formulas: Iterable[tuple[_Element | None, str, str | None]],
                pivot_sources: set[str]) -> bool:
    """Whether a formula names the table's columns (a structured reference) or a pivot table reads it."""
    if table.name.lower() in pivot_sources:
        return True
    qualified = re.compile(re.escape(table.name) + r"\s*\[", re.IGNORECASE)
    for sheet, text, where in formulas:
        if qualified.search(text):
            return True
        if "[" in text and sheet is table.sheet and where is not None:
            area = _area(where)
            if area is not None and _overlaps(area, table.area):  # [@Column] inside the table
                return True
    return False


def _formulas(sheets: Mapping[str, _Element], others: Mapping[str, _Element]):
    """(sheet or None, formula text, cells it applies to) of every formula a structured reference can be in."""
    for sheet in sheets.values():
        ns = _namespace(sheet)
        for cell in sheet.iter(ns + "c"):
            formula = cell.find(ns + "f")
            if formula is not None and formula.text:
                yield sheet, formula.text, formula.get("ref") or cell.get("r")
    for root in others.values():
        ns = _namespace(root)
        for element in root.iter(ns + "definedName", ns + "calculatedColumnFormula", ns + "totalsRowFormula"):
            if element.text:
                yield None, element.text, None
                if element.tag != ns + "definedName" and "[" in element.text:
                    yield None, f"{root.get('name') or ''}[", None  # a table's own column formula


def _unique(names: list[str], fixed: set[int]) -> list[str]:
    """Column names made unique as Excel does: a repeated name gets 2, 3, ... (case does not count); the
    names at `fixed` indexes are not changed."""
    seen = {names[index].lower() for index in fixed}
    out: list[str] = []
    for index, name in enumerate(names):
        if index in fixed:
            out.append(name)
            continue
        candidate, number = name, 1
        while candidate.lower() in seen:
            number += 1
            candidate = f"{name}{number}"
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def follow_headers(tables: list[Table], strings: Strings, sheets: Mapping[str, _Element],
                   others: Mapping[str, _Element]) -> set[str]:
    """After the cells were translated: set each table's column names to its header cells' texts (made
    unique), or put the source's header texts back where formulas or pivot tables name the columns.
    Returns the names of the parts it changed."""
    formulas = list(_formulas(sheets, others))
    pivot_sources = {(element.get("name") or "").lower() for root in others.values()
                     for element in root.iter(_namespace(root) + "worksheetSource") if element.get("name")}
    part_of = {id(root): part for part, root in sheets.items()}
    changed: set[str] = set()
    for table in tables:
        ns = _namespace(table.sheet)
        columns = [c for c in table.root.iter(_namespace(table.root) + "tableColumn")]
        if len(columns) != len(table.cells):
            continue  # a table part that disagrees with its own range: left as it is
        keep = _referenced(table, formulas, pivot_sources)
        after = [None if cell is None else strings.text(cell, ns) for cell in table.cells]
        wanted: list[str] = []
        fixed: set[int] = set()  # a number header, or a name the source did not take from its cell
        for index, (column, before, now) in enumerate(zip(columns, table.before, after, strict=True)):
            if before is None or column.get("name") != before:
                fixed.add(index)
                wanted.append(column.get("name") or "")
            else:
                wanted.append(before if now is None or keep or not now.strip() else now)
        wanted = _unique(wanted, fixed)
        for index, (column, cell, now, name) in enumerate(zip(columns, table.cells, after, wanted, strict=True)):
            if index in fixed:
                continue
            if now != name:
                strings.set_text(cell, ns, name)
                changed.add(part_of[id(table.sheet)])  # the cell's inline string, or its shared string's number
            if column.get("name") != name:
                column.set("name", name)
                changed.add(table.part)
    return changed
