""".pptx, .xlsx and .odt (and .docx's inline formatting): structure kept, formatting put back on the right words.

Documents are built here with python-pptx, openpyxl, odfpy and python-docx. Three kinds of test:
- exact run mapping through a DocumentJob with a dictionary for an engine (what a real model
  answers cannot be predicted, a dictionary can: it receives the HTML-spelled tagged sentence that
  inline_markup shows a model, and its answer moves the bold to another word);
- one real-model run per format through the real alma-translate (the fast test model), checking the
  structure: as many slides, shapes, sheets, cells and paragraphs, formulas and numbers unchanged,
  text translated, formatting runs still around non-empty text;
- hostile and broken packages through the CLI: exit 2, one line naming the file, nothing written.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import os
import re
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from desktop.documents import DocumentError, DocumentJob, JobOptions

ROOT = Path(__file__).resolve().parents[2]
HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
NS_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


class DictionaryEngine:
    """A deterministic engine: known sentences get their listed translation, others are upper-cased.
    No memory, and nothing decoded ahead (its prefetch does nothing)."""

    model_path = Path("dictionary.gguf")
    memory = None

    def __init__(self, table: dict[str, str] | None = None) -> None:
        self.table = table or {}
        self.seen: list[str] = []

    def translate(self, text: str, src: str, tgt: str, cancel=None, terms=None) -> str:
        self.seen.append(text)
        return self.table.get(text, text.upper())

    def prefetch(self, texts, src, tgt, cancel=None, on_text=None, terms=None, max_sequences=1):
        return contextlib.nullcontext(0)


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def w_text(element) -> str:
    # python-docx's element classes give itertext() a meaning of their own: read the w:t elements.
    return "".join(t.text or "" for t in element.iter(W + "t"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def translate_checked(source: Path, engine) -> Path:
    """A document job with its progress followed: the count of the first pass is what was translated."""
    calls: list[tuple[int, int]] = []
    progress = lambda done, total, eta: calls.append((done, total))  # noqa: E731
    out = DocumentJob(source, JobOptions("de", "en", progress=progress)).run(engine)
    assert calls[0] == (0, calls[-1][1]) and calls[-1][0] == calls[-1][1] == len(engine.seen) > 0, calls
    return out


# --- builders ------------------------------------------------------------------------------------

def build_pptx(path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = "Jahresbericht"
    paragraph = slide.placeholders[1].text_frame.paragraphs[0]
    for text, bold in (("Das Haus ist ", False), ("sehr groß", True), (". Siehe ", False)):
        run = paragraph.add_run()
        run.text = text
        run.font.bold = bold or None
    link = paragraph.add_run()
    link.text = "die Webseite"
    link.hyperlink.address = "https://example.org/"
    paragraph.add_run().text = "."
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(6), Inches(1)).table
    table.cell(0, 0).text = "Der Hund schläft."
    table.cell(0, 1).text = "42"
    table.cell(1, 0).text = "Die Katze spielt."
    table.cell(1, 1).text = "3,14"
    group = slide.shapes.add_group_shape()
    group.shapes.add_textbox(Inches(1), Inches(6), Inches(3), Inches(1)).text_frame.text = "Guten Morgen."
    slide.notes_slide.notes_text_frame.text = "Eine Notiz für den Sprecher."
    second = presentation.slides.add_slide(presentation.slide_layouts[5])
    second.shapes.title.text = "Vielen Dank."
    presentation.save(str(path))


def build_xlsx(path: Path) -> None:
    import openpyxl
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Umsatz"
    sheet["A1"] = "Der Hund schläft."
    sheet["B1"] = 42
    sheet["C1"] = "=B1*2"
    sheet["D1"] = datetime.datetime(2024, 3, 1)
    sheet["A2"] = CellRichText(["Das ist ", TextBlock(InlineFont(b=True), "sehr wichtig"), "."])
    sheet["B2"] = 3.5
    sheet["C2"] = '=CONCATENATE("Haus ", A1)'
    sheet["A3"] = "12345"  # a string without letters: kept as it is
    second = workbook.create_sheet("Kosten")
    second["A1"] = "Die Katze spielt."
    second["B1"] = "=Umsatz!B1+1"
    second["A2"] = "Der Hund schläft."  # the same text as Umsatz!A1
    buffer = io.BytesIO()
    workbook.save(buffer)
    _share_strings(buffer.getvalue(), path, "xl/worksheets/sheet1.xml")


def _share_strings(data: bytes, path: Path, sheet: str) -> None:
    """openpyxl writes every string inline; Excel and LibreOffice write a shared strings table. Move the
    first sheet's strings into one (xl/sharedStrings.xml), as they do, and leave the second sheet's inline,
    so both ways a workbook holds text are covered."""
    import re

    strings: list[bytes] = []

    def share(match: re.Match) -> bytes:
        strings.append(match.group(2))
        return match.group(1) + b' t="s"><v>' + str(len(strings) - 1).encode() + b"</v></c>"

    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == sheet:
                content = re.sub(rb'(<c r="[A-Z]+\d+")(?: s="\d+")? t="inlineStr"><is>(.*?)</is></c>', share, content)
            elif info.filename == "[Content_Types].xml":
                content = content.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                                          b'"application/vnd.openxmlformats-officedocument.spreadsheetml.'
                                          b'sharedStrings+xml"/></Types>')
            elif info.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(b"</Relationships>", b'<Relationship Id="rIdStrings" Type="http://schemas.'
                                          b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                                          b'Target="sharedStrings.xml"/></Relationships>')
            out.writestr(info, content)
        out.writestr("xl/sharedStrings.xml", b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                     b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="'
                     + str(len(strings)).encode() + b'" uniqueCount="' + str(len(strings)).encode() + b'">'
                     + b"".join(b"<si>" + item + b"</si>" for item in strings) + b"</sst>")


def build_odt(path: Path) -> None:
    from odf.opendocument import OpenDocumentText
    from odf.style import Footer, Header, MasterPage, PageLayout, Style, TextProperties
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import A, H, List, ListItem, Note, NoteBody, NoteCitation, P, Span

    document = OpenDocumentText()
    bold = Style(name="Fett", family="text")
    bold.addElement(TextProperties(fontweight="bold"))
    document.automaticstyles.addElement(bold)
    layout = PageLayout(name="Seite")
    document.automaticstyles.addElement(layout)
    master = MasterPage(name="Standard", pagelayoutname=layout)
    header, footer = Header(), Footer()
    header.addElement(P(text="Vertraulich"))
    footer.addElement(P(text="Nur für den Dienstgebrauch"))
    master.addElement(header)
    master.addElement(footer)
    document.masterstyles.addElement(master)

    document.text.addElement(H(outlinelevel=1, text="Jahresbericht"))
    paragraph = P(text="Das Haus ist ")
    paragraph.addElement(Span(stylename=bold, text="sehr groß"))
    paragraph.addText(". Siehe ")
    paragraph.addElement(A(href="https://example.org/", type="simple", text="die Webseite"))
    paragraph.addText(".")
    note = Note(id="ftn1", noteclass="footnote")
    note.addElement(NoteCitation(text="1"))
    body = NoteBody()
    body.addElement(P(text="Eine Fußnote."))
    note.addElement(body)
    paragraph.addElement(note)
    document.text.addElement(paragraph)
    table = Table(name="Tabelle")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for left, right in (("Der Hund schläft.", "42"), ("Die Katze spielt.", "3,14")):
        row = TableRow()
        for text in (left, right):
            cell = TableCell()
            cell.addElement(P(text=text))
            row.addElement(cell)
        table.addElement(row)
    document.text.addElement(table)
    items = List()
    for text in ("Guten Morgen.", "Gute Nacht."):
        item = ListItem()
        item.addElement(P(text=text))
        items.addElement(item)
    document.text.addElement(items)
    document.save(str(path))


def build_docx(path: Path) -> None:
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Vertraulich"
    paragraph = document.add_paragraph("Das Haus ist ")
    paragraph.add_run("sehr groß").bold = True
    paragraph.add_run(". Siehe ")
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), document.part.relate_to("https://example.org/", HYPERLINK, is_external=True))
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "die Webseite"
    run.append(text)
    link.append(run)
    paragraph._p.append(link)
    paragraph.add_run(".")
    document.add_paragraph("Name:\tWert")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Der Hund schläft."
    table.cell(0, 1).text = "42"
    document.save(str(path))


# The tagged sentence each format shows the model for the mixed paragraph, and an answer that moves
# the bold from "very big" to "house": the formatting must follow the words, not the positions.
MIXED = "Das Haus ist <b>sehr groß</b>. Siehe <a>die Webseite</a>."
MOVED = "The <b>house</b> is very big. See <a>the website</a>."


# --- reading outputs -----------------------------------------------------------------------------

def pptx_runs(paragraph) -> list[tuple[str, bool | None, str | None]]:
    return [(run.text, run.font.bold, run.hyperlink.address) for run in paragraph.runs]


def pptx_texts(presentation) -> list[str]:
    """Every paragraph's text of every slide (group shapes and tables too) and the notes."""
    from pptx.oxml.ns import qn

    texts = []
    for slide in presentation.slides:
        parts = [slide._element] + ([slide.notes_slide._element] if slide.has_notes_slide else [])
        for element in parts:
            for paragraph in element.iter(qn("a:p")):
                texts.append("".join(t.text or "" for t in paragraph.iter(qn("a:t"))))
    return texts


def pptx_shape_count(presentation) -> list[int]:
    from pptx.oxml.ns import qn

    return [sum(1 for _ in slide._element.iter(qn("p:sp"), qn("p:grpSp"), qn("p:graphicFrame")))
            for slide in presentation.slides]


def xlsx_cells(path: Path) -> dict[tuple[str, str], object]:
    import openpyxl

    workbook = openpyxl.load_workbook(str(path), rich_text=True)
    return {(sheet.title, cell.coordinate): cell.value
            for sheet in workbook for row in sheet.iter_rows() for cell in row if cell.value is not None}


def odt_paragraphs(path: Path) -> list[tuple[str, str]]:
    """(element name, text) of every text:p and text:h in content.xml and styles.xml, read by odfpy."""
    from odf import teletype
    from odf.opendocument import load
    from odf.text import H, P

    document = load(str(path))
    found = []
    for root in (document.body, document.masterstyles):
        for element in root.getElementsByType(P) + root.getElementsByType(H):
            found.append((element.qname[1], teletype.extractText(element)))
    return found


def odt_content(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read("content.xml").decode()


# --- exact run mapping (dictionary engine) -------------------------------------------------------

def test_docx_formatting_follows_the_translated_words(tmp_path):
    import docx

    source = tmp_path / "brief.de.docx"
    build_docx(source)
    before = digest(source)
    engine = DictionaryEngine({MIXED: MOVED, "Name:": "Name:", "Wert": "Value"})
    out = translate_checked(source, engine)
    assert out == tmp_path / "brief.en.docx" and digest(source) == before
    assert MIXED in engine.seen  # one sentence, tags spelled as HTML, not four fragments
    result = docx.Document(str(out))
    mixed = result.paragraphs[0]
    assert [(r.text, r.bold) for r in mixed.runs] == [("The ", None), ("house", True), (" is very big. See ", None),
                                                      (".", None)]
    links = mixed._p.findall(W + "hyperlink")
    assert len(links) == 1 and w_text(links[0]) == "the website"
    r_id = links[0].get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
    assert result.part.rels[r_id].target_ref == "https://example.org/"
    assert mixed.text == "The house is very big. See the website."
    # The tab ends a sentence and stays between the two translated halves.
    assert result.paragraphs[1].text == "Name:\tValue"
    assert result.tables[0].cell(0, 0).text == "DER HUND SCHLÄFT." and result.tables[0].cell(0, 1).text == "42"
    assert result.sections[0].header.paragraphs[0].text == "VERTRAULICH"


def test_docx_runs_of_one_formatting_are_one_plain_sentence(tmp_path):
    import docx

    source = tmp_path / "gleich.docx"
    document = docx.Document()
    paragraph = document.add_paragraph()
    for text in ("Das Haus ", "ist ", "groß."):  # Word splits text like this for revision marks
        paragraph.add_run(text).italic = True
    document.save(str(source))
    engine = DictionaryEngine({"Das Haus ist groß.": "The house is big."})
    out = DocumentJob(source, JobOptions("de", "en")).run(engine)
    assert engine.seen == ["Das Haus ist groß."]
    runs = docx.Document(str(out)).paragraphs[0].runs
    assert [(r.text, r.italic) for r in runs] == [("The house is big.", True)]


def test_docx_as_word_writes_it_proofing_marks_language_and_bookmarks(tmp_path):
    """Word splits a sentence at spell-check marks and language changes; those are no formatting, so the
    sentence stays one plain sentence. A bookmark is kept where it is and ends the sentence; a tracked
    insertion is translated inside itself."""
    import docx
    from docx.oxml import parse_xml

    source = tmp_path / "word.docx"
    document = docx.Document()
    document.add_paragraph()
    document.save(str(source))
    document = docx.Document(str(source))
    body = document.paragraphs[0]._p
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    for xml in (f'<w:r {ns}><w:rPr><w:lang w:val="de-DE"/></w:rPr><w:t xml:space="preserve">Das Haus </w:t></w:r>',
                f'<w:proofErr {ns} w:type="spellStart"/>',
                f'<w:r {ns}><w:rPr><w:noProof/></w:rPr><w:t>ist</w:t><w:lastRenderedPageBreak/></w:r>',
                f'<w:proofErr {ns} w:type="spellEnd"/>',
                f'<w:r {ns}><w:t xml:space="preserve"> groß.</w:t></w:r>',
                f'<w:bookmarkStart {ns} w:id="0" w:name="Marke"/>',
                f'<w:r {ns}><w:t xml:space="preserve"> Der Hund schläft.</w:t></w:r>',
                f'<w:bookmarkEnd {ns} w:id="0"/>',
                f'<w:ins {ns} w:id="1" w:author="A" w:date="2024-01-01T00:00:00Z"><w:r><w:t xml:space="preserve">'
                ' Neu eingefügt.</w:t></w:r></w:ins>'):
        body.append(parse_xml(xml))
    document.save(str(source))
    engine = DictionaryEngine({"Das Haus ist groß.": "The house is big.", " Der Hund schläft.": " The dog sleeps.",
                               " Neu eingefügt.": " Newly inserted."})
    out = DocumentJob(source, JobOptions("de", "en")).run(engine)
    assert engine.seen == ["Das Haus ist groß.", " Der Hund schläft.", " Neu eingefügt."]
    paragraph = docx.Document(str(out)).paragraphs[0]._p
    assert [child.tag.split("}")[1] for child in paragraph] == ["r", "bookmarkStart", "r", "bookmarkEnd", "ins"]
    # The tracked insertion is still one, holding its translation.
    assert w_text(paragraph) == "The house is big. The dog sleeps. Newly inserted."
    assert w_text(paragraph.find(W + "ins")) == " Newly inserted."


def test_a_translator_that_drops_the_tags_still_keeps_every_formatting(tmp_path):
    import docx

    source = tmp_path / "brief.docx"
    build_docx(source)
    # The model answers without tags: inline_markup re-inserts them by alignment (the inner texts
    # "sehr groß" and "die Webseite" are translated alone and found in the sentence).
    engine = DictionaryEngine({MIXED: "The house is very big. See the website.",
                               "Das Haus ist sehr groß. Siehe die Webseite.": "The house is very big. See the website.",
                               "sehr groß": "very big", "die Webseite": "the website"})
    out = DocumentJob(source, JobOptions("de", "en")).run(engine)
    mixed = docx.Document(str(out)).paragraphs[0]
    assert mixed.text == "The house is very big. See the website."
    assert [r.text for r in mixed.runs if r.bold] == ["very big"]
    link = mixed._p.find(W + "hyperlink")
    assert w_text(link) == "the website"


@pytest.mark.parametrize("suffix", [".docx", ".pptx", ".odt"])
def test_a_link_whose_tags_the_model_dropped_keeps_its_text(tmp_path, suffix):
    # The model drops the tags and answers with one word (a cut answer): before, the alignment gave that
    # word to the bold and the link had none, so it was written empty or not at all (issue 26, item 5).
    source = tmp_path / f"brief{suffix}"
    {".docx": build_docx, ".pptx": build_pptx, ".odt": build_odt}[suffix](source)
    engine = DictionaryEngine({MIXED: "Haus.", "Das Haus ist sehr groß. Siehe die Webseite.": "Haus."})
    out = DocumentJob(source, JobOptions("de", "en")).run(engine)
    with zipfile.ZipFile(out) as package:
        part = {".docx": "word/document.xml", ".pptx": "ppt/slides/slide1.xml", ".odt": "content.xml"}[suffix]
        xml = package.read(part).decode()
    links = {".docx": r"<w:hyperlink\b.*?</w:hyperlink>", ".pptx": r"<a:r>(?:(?!</a:r>).)*?hlinkClick.*?</a:r>",
             ".odt": r"<text:a\b.*?</text:a>"}[suffix]
    found = [re.sub(r"<[^>]+>", "", link) for link in re.findall(links, xml, re.DOTALL)]
    assert found == ["DIE WEBSEITE"], found
    bold = {".docx": r"<w:b/>.*?<w:t[^>]*>([^<]*)", ".pptx": r'<a:rPr[^>]* b="1"[^>]*/?>(?:</a:rPr>)?<a:t>([^<]*)',
            ".odt": r'<text:span text:style-name="Fett">([^<]*)'}[suffix]
    assert re.findall(bold, xml) == ["SEHR GROSS"], xml


def test_pptx_keeps_slides_shapes_tables_groups_notes_and_run_formatting(tmp_path):
    from pptx import Presentation

    source = tmp_path / "folien.de.pptx"
    build_pptx(source)
    before = digest(source)
    engine = DictionaryEngine({MIXED: MOVED})
    out = translate_checked(source, engine)
    assert out == tmp_path / "folien.en.pptx" and digest(source) == before
    original, result = Presentation(str(source)), Presentation(str(out))
    assert len(result.slides) == len(original.slides)
    assert pptx_shape_count(result) == pptx_shape_count(original)
    body = result.slides[0].placeholders[1].text_frame.paragraphs[0]
    assert pptx_runs(body) == [("The ", None, None), ("house", True, None), (" is very big. See ", None, None),
                               ("the website", None, "https://example.org/"), (".", None, None)]
    texts = pptx_texts(result)
    for expected in ("JAHRESBERICHT", "DER HUND SCHLÄFT.", "42", "DIE KATZE SPIELT.", "3,14", "GUTEN MORGEN.",
                     "EINE NOTIZ FÜR DEN SPRECHER.", "VIELEN DANK."):
        assert expected in texts, (expected, texts)
    assert len(texts) == len(pptx_texts(original))


def test_xlsx_translates_string_cells_only(tmp_path):
    source = tmp_path / "zahlen.xlsx"
    build_xlsx(source)
    before = digest(source)
    engine = DictionaryEngine({"Das ist <b>sehr wichtig</b>.": "This is <b>very important</b>."})
    out = translate_checked(source, engine)
    assert out == tmp_path / "zahlen.en.xlsx" and digest(source) == before
    original, result = xlsx_cells(source), xlsx_cells(out)
    assert result.keys() == original.keys()
    for key, value in original.items():
        if key == ("Umsatz", "A2"):
            continue  # rich text: below
        if isinstance(value, str) and not value.startswith("=") and any(c.isalpha() for c in value):
            assert result[key] == value.upper(), key
        else:
            assert result[key] == value, key  # numbers, dates, formulas (string literals in them too)
    rich = result[("Umsatz", "A2")]
    assert [(getattr(block, "text", block), getattr(getattr(block, "font", None), "b", None)) for block in rich] \
        == [("This is ", None), ("very important", True), (".", None)]
    import openpyxl

    assert openpyxl.load_workbook(str(out)).sheetnames == ["Umsatz", "Kosten"]
    # Every part other than the strings is copied byte for byte.
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(out) as b:
        assert a.namelist() == b.namelist()
        changed = [n for n in a.namelist() if a.read(n) != b.read(n)]
    assert sorted(changed) == ["xl/sharedStrings.xml", "xl/worksheets/sheet2.xml"]


def _table_columns(path: Path) -> dict[str, tuple[list[str], list[object]]]:
    """Each table's column names and its header cells' values, read by openpyxl."""
    import openpyxl

    workbook = openpyxl.load_workbook(str(path))
    found = {}
    for sheet in workbook.worksheets:
        for table in sheet.tables.values():
            first = sheet[table.ref.split(":")[0]]
            found[table.name] = ([column.name for column in table.tableColumns],
                                 [sheet.cell(first.row, first.column + i).value for i in range(len(table.tableColumns))])
    return found


def test_xlsx_table_columns_follow_their_translated_header_cells(tmp_path):
    import openpyxl
    from openpyxl.worksheet.table import Table

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Lager"
    sheet.append(["Artikel", "Menge", "Anzahl"])
    sheet.append(["Apfel", 3, 4])
    sheet["E1"] = "Artikel"  # the same shared string as a header cell, outside the table
    sheet.add_table(Table(displayName="Bestand", ref="A1:C2"))
    prices = workbook.create_sheet("Preise")
    prices.append(["Artikel", "Preis"])
    prices.append(["Apfel", 2])
    prices["D1"] = "=SUM(Preisliste[Preis])"  # a structured reference names the columns
    prices.add_table(Table(displayName="Preisliste", ref="A1:B2"))
    other = workbook.create_sheet("Kosten")
    other.append(["Menge", "Anzahl"])
    other.append([1, 2])
    other.add_table(Table(displayName="Kosten", ref="A1:B2"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = tmp_path / "lager.xlsx"
    _share_strings(buffer.getvalue(), source, "xl/worksheets/sheet1.xml")  # Kosten keeps inline strings
    assert _table_columns(source)["Bestand"] == (["Artikel", "Menge", "Anzahl"], ["Artikel", "Menge", "Anzahl"])
    # "Menge" and "Anzahl" both become "Quantity": Excel wants unique names, and writes "Quantity2".
    engine = DictionaryEngine({"Artikel": "Item", "Menge": "Quantity", "Anzahl": "Quantity", "Apfel": "Apple",
                               "Preis": "Price"})
    out = DocumentJob(source, JobOptions("de", "en")).run(engine)
    columns = _table_columns(out)
    assert columns["Bestand"] == (["Item", "Quantity", "Quantity2"], ["Item", "Quantity", "Quantity2"])
    assert columns["Kosten"] == (["Quantity", "Quantity2"], ["Quantity", "Quantity2"])
    # A formula names Preisliste's columns: its header cells stay as they were, and so do its columns.
    assert columns["Preisliste"] == (["Artikel", "Preis"], ["Artikel", "Preis"])
    result = openpyxl.load_workbook(str(out))
    assert result["Lager"]["E1"].value == "Item" and result["Preise"]["A2"].value == "Apple"
    assert result["Preise"]["D1"].value == "=SUM(Preisliste[Preis])"


_STRICT = {b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": b"http://purl.oclc.org/ooxml/spreadsheetml/main",
           b"http://schemas.openxmlformats.org/officeDocument/2006/relationships":
           b"http://purl.oclc.org/ooxml/officeDocument/relationships"}


def _as_strict(source: Path, target: Path) -> None:
    """The package as ISO/IEC 29500 Strict spells it: its namespaces and relationship types."""
    with zipfile.ZipFile(source) as package, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in package.infolist():
            data = package.read(info)
            for transitional, strict in _STRICT.items():
                data = data.replace(transitional, strict)
            out.writestr(info, data)


def test_strict_ooxml_is_translated_as_xlsx_and_refused_as_docx_and_pptx(tmp_path):
    # python-docx and python-pptx know only the Transitional namespaces: a Strict .docx or .pptx is refused
    # with what to do, not "no relationship of type ... in collection" (issue 26, item 5).
    strict_docx = ROOT / "tests/data/corpus/office/strict-format.docx"
    with pytest.raises(DocumentError, match=r"strict-format\.docx: ISO/IEC 29500 Strict \.docx is not supported; "
                                            r"save it as a Word Document \(\.docx\) in Word or LibreOffice$"):
        DocumentJob(strict_docx, JobOptions("en", "de", output=tmp_path)).run(DictionaryEngine())
    build_pptx(tmp_path / "folien.pptx")
    _as_strict(tmp_path / "folien.pptx", tmp_path / "strict.pptx")
    with pytest.raises(DocumentError, match=r"Strict \.pptx is not supported; save it as a PowerPoint Presentation"):
        DocumentJob(tmp_path / "strict.pptx", JobOptions("de", "en")).run(DictionaryEngine())
    # The .xlsx code reads either spelling of the namespaces, and writes the Strict one back.
    build_xlsx(tmp_path / "zahlen.xlsx")
    _as_strict(tmp_path / "zahlen.xlsx", tmp_path / "strict.xlsx")
    out = DocumentJob(tmp_path / "strict.xlsx", JobOptions("de", "en")).run(DictionaryEngine())
    with zipfile.ZipFile(out) as package:
        strings, sheet = package.read("xl/sharedStrings.xml"), package.read("xl/worksheets/sheet2.xml")
    assert b"DER HUND SCHL\xc3\x84FT." in strings and b"DIE KATZE SPIELT." in sheet
    assert b"purl.oclc.org/ooxml/spreadsheetml/main" in strings and b"schemas.openxmlformats.org" not in sheet


def test_odt_keeps_paragraphs_tables_lists_notes_headers_and_spans(tmp_path):
    source = tmp_path / "bericht.de.odt"
    build_odt(source)
    before = digest(source)
    engine = DictionaryEngine({MIXED: MOVED})
    out = translate_checked(source, engine)
    assert out == tmp_path / "bericht.en.odt" and digest(source) == before
    original, result = odt_paragraphs(source), odt_paragraphs(out)
    assert [kind for kind, _ in result] == [kind for kind, _ in original]
    texts = [text for _, text in result]
    for expected in ("JAHRESBERICHT", "The house is very big. See the website.1EINE FUSSNOTE.", "EINE FUSSNOTE.", "DER HUND SCHLÄFT.",
                     "42", "3,14", "GUTEN MORGEN.", "GUTE NACHT.", "VERTRAULICH", "NUR FÜR DEN DIENSTGEBRAUCH"):
        assert expected in texts, (expected, texts)
    content = odt_content(out)
    assert '<text:span text:style-name="Fett">house</text:span>' in content
    assert '<text:a xlink:href="https://example.org/" xlink:type="simple">the website</text:a>' in content
    assert content.count("<table:table-cell") == 4 and content.count("<text:list-item") == 2
    with zipfile.ZipFile(out) as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED


def build_odp(path: Path) -> None:
    from odf.draw import CustomShape, Frame, Page, TextBox
    from odf.opendocument import OpenDocumentPresentation
    from odf.presentation import Notes
    from odf.style import MasterPage, PageLayout, Style, TextProperties
    from odf.text import A, P, Span

    def frame(*paragraphs) -> Frame:
        element = Frame(width="10cm", height="2cm", x="1cm", y="1cm")
        box = TextBox()
        for paragraph in paragraphs:
            box.addElement(paragraph)
        element.addElement(box)
        return element

    document = OpenDocumentPresentation()
    bold = Style(name="Fett", family="text")
    bold.addElement(TextProperties(fontweight="bold"))
    document.automaticstyles.addElement(bold)
    layout = PageLayout(name="Seite")
    document.automaticstyles.addElement(layout)
    master = MasterPage(name="Standard", pagelayoutname=layout)
    master.addElement(frame(P(text="Titel durch Klicken bearbeiten")))  # a prompt no slideshow shows
    document.masterstyles.addElement(master)
    slide = Page(name="Folie1", masterpagename=master)
    slide.addElement(frame(P(text="Jahresbericht")))
    paragraph = P(text="Das Haus ist ")
    paragraph.addElement(Span(stylename=bold, text="sehr groß"))
    paragraph.addText(". Siehe ")
    paragraph.addElement(A(href="https://example.org/", type="simple", text="die Webseite"))
    paragraph.addText(".")
    slide.addElement(frame(paragraph, P(text="Der Hund schläft.")))
    shape = CustomShape(width="5cm", height="2cm", x="1cm", y="4cm")
    shape.addElement(P(text="Guten Morgen."))
    slide.addElement(shape)
    notes = Notes()
    notes.addElement(frame(P(text="Eine Notiz für den Sprecher.")))
    slide.addElement(notes)
    document.presentation.addElement(slide)
    document.save(str(path))


def test_odp_keeps_slides_frames_shapes_notes_and_spans(tmp_path):
    from lxml import etree
    from odf import teletype
    from odf.opendocument import load
    from odf.text import P

    source = tmp_path / "folien.de.odp"
    build_odp(source)
    before = digest(source)
    out = translate_checked(source, DictionaryEngine({MIXED: MOVED}))
    assert out == tmp_path / "folien.en.odp" and digest(source) == before
    document = load(str(out))  # odfpy reads it
    texts = [teletype.extractText(p) for p in document.body.getElementsByType(P)]
    assert texts == ["JAHRESBERICHT", "The house is very big. See the website.", "DER HUND SCHLÄFT.", "GUTEN MORGEN.",
                     "EINE NOTIZ FÜR DEN SPRECHER."]
    masters = [teletype.extractText(p) for p in document.masterstyles.getElementsByType(P)]
    assert masters == ["Titel durch Klicken bearbeiten"]  # master pages: not translated, as in .pptx
    content = odt_content(out)
    assert '<text:span text:style-name="Fett">house</text:span>' in content
    assert '<text:a xlink:href="https://example.org/" xlink:type="simple">the website</text:a>' in content
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(out) as b:
        assert a.namelist() == b.namelist()
        assert [n for n in a.namelist() if a.read(n) != b.read(n)] == ["content.xml"]
        assert b.infolist()[0].filename == "mimetype" and b.infolist()[0].compress_type == zipfile.ZIP_STORED
        shape = lambda data: [e.tag for e in etree.fromstring(data).iter() if "}p" not in e.tag  # noqa: E731
                              and "}span" not in e.tag and "}a" not in e.tag]
        assert shape(b.read("content.xml")) == shape(a.read("content.xml"))  # every frame, shape and note kept


# --- hostile and broken packages -----------------------------------------------------------------

def _rezip(data: bytes, path: Path, replace: dict[str, bytes | None], extra: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            if info.filename in replace:
                if replace[info.filename] is not None:
                    out.writestr(info, replace[info.filename])
            else:
                out.writestr(info, source.read(info))
        for name, content in (extra or {}).items():
            out.writestr(name, content)


def _bomb(data: bytes, path: Path, member: str) -> None:
    """The package with 80 MB of spaces in one XML part (about 80 KB compressed): over the 64 MB part limit."""
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED,
                                                                       compresslevel=1) as out:
        for info in source.infolist():
            if info.filename != member:
                out.writestr(info, source.read(info))
                continue
            with out.open(member, "w", force_zip64=True) as handle:
                handle.write(source.read(info))
                spaces = b" " * (1 << 20)
                for _ in range(80):
                    handle.write(spaces)


def hostile_cases(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, what the error must say)."""
    good = {}
    for suffix, build in ((".pptx", build_pptx), (".xlsx", build_xlsx), (".odt", build_odt), (".docx", build_docx)):
        path = folder / f"good{suffix}"
        build(path)
        good[suffix] = path.read_bytes()
    cases: dict[str, tuple[Path, str]] = {}

    def add(name: str, data: bytes, message: str) -> None:
        path = folder / name
        path.write_bytes(data)
        cases[name] = (path, message)

    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">'
              b"&lol2;</office:document-content>")
    for suffix, data in good.items():
        stem = suffix[1:]
        add(f"truncated.de{suffix}", data[: len(data) // 2], "damaged or truncated zip archive")
        add(f"text.de{suffix}", b"Hallo Welt.\n", "not a zip archive")
        add(f"empty.de{suffix}", b"", "an empty file")
        add(f"ole2.de{suffix}", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "password-protected")
        bomb = folder / f"bomb.de{suffix}"
        member = {"pptx": "ppt/slides/slide1.xml", "xlsx": "xl/sharedStrings.xml", "odt": "content.xml",
                  "docx": "word/document.xml"}[stem]
        _bomb(data, bomb, member)
        cases[bomb.name] = (bomb, "refusing a possible zip bomb")
        entity = folder / f"entity.de{suffix}"
        _rezip(data, entity, {member: laughs})
        cases[entity.name] = (entity, "declares a DTD or XML entities")
    # A file that is not what its suffix says.
    add("word.de.pptx", good[".docx"], "it is a Word document (.docx), not a PowerPoint presentation")
    add("slides.de.xlsx", good[".pptx"], "it is a PowerPoint presentation (.pptx), not an Excel workbook")
    add("sheet.de.docx", good[".xlsx"], "it is an Excel workbook (.xlsx), not a Word document")
    add("word.de.odt", good[".docx"], "without an OpenDocument 'mimetype' entry")
    spreadsheet = folder / "calc.de.odt"
    _rezip(good[".odt"], spreadsheet, {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"})
    cases[spreadsheet.name] = (spreadsheet, "'application/vnd.oasis.opendocument.spreadsheet', not an OpenDocument")
    photos = folder / "photos.de.pptx"
    with zipfile.ZipFile(photos, "w") as archive:
        archive.writestr("bild.jpg", b"\xff\xd8\xff" + bytes(100))
    cases[photos.name] = (photos, "without [Content_Types].xml")
    # OpenDocument's own password protection: a zip whose manifest lists encryption data.
    locked = folder / "locked.de.odt"
    with zipfile.ZipFile(io.BytesIO(good[".odt"])) as archive:
        manifest = archive.read("META-INF/manifest.xml").replace(
            b'manifest:full-path="content.xml"',
            b'manifest:full-path="content.xml"><manifest:encryption-data manifest:checksum-type="SHA1"'
            b' manifest:checksum="x"/></manifest:file-entry><manifest:file-entry manifest:media-type=""'
            b' manifest:full-path="dummy"', 1)
    _rezip(good[".odt"], locked, {"META-INF/manifest.xml": manifest})
    cases[locked.name] = (locked, "password-protected document")
    for path in folder.glob("good.*"):
        path.unlink()
    return cases


@pytest.fixture(scope="module")
def hostile_corpus(tmp_path_factory) -> tuple[Path, dict[str, tuple[Path, str]]]:
    folder = tmp_path_factory.mktemp("office-hostile")
    return folder, hostile_cases(folder)


def test_hostile_packages_are_refused_in_process(hostile_corpus):
    """Every case without the CLI: a DocumentError naming the file, nothing written, fast."""
    folder, cases = hostile_corpus
    names = {p.name for p in folder.iterdir()}
    engine = DictionaryEngine()
    problems = []
    for name, (path, message) in cases.items():
        try:
            DocumentJob(path, JobOptions("de", "en")).run(engine)
        except DocumentError as exc:
            if not str(exc).startswith(str(path)) or message not in str(exc):
                problems.append(f"{name}: {exc}")
        else:
            problems.append(f"{name}: translated")
    assert not problems, "\n".join(problems)
    assert {p.name for p in folder.iterdir()} == names and not engine.seen


def test_hostile_packages_exit_2_through_the_cli(hostile_corpus, tmp_path, default_gguf):
    folder, cases = hostile_corpus
    # One of each kind through the real CLI (each run loads the model): the in-process test covers all.
    chosen = ["bomb.de.pptx", "truncated.de.xlsx", "word.de.pptx", "locked.de.odt", "entity.de.odt",
              "ole2.de.xlsx", "calc.de.odt"]
    before = {name: digest(cases[name][0]) for name in chosen}
    env = {**os.environ, "ALMA_LOCAL_DATA": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}

    def run(name: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "desktop.cli", "-m", str(default_gguf), "--from", "de",
                               "--to", "en", "-q", str(cases[name][0])],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(chosen, pool.map(run, chosen), strict=True))
    problems = []
    for name, result in results.items():
        path, message = cases[name]
        stderr = result.stderr.strip()
        if (result.returncode != 2 or not stderr.startswith(f"alma-translate: error: {path}: ")
                or message not in stderr or len(stderr.splitlines()) != 1 or "Traceback" in stderr):
            problems.append(f"{name}: exit {result.returncode}: {stderr[-400:]}")
        if digest(path) != before[name]:
            problems.append(f"{name}: the source changed")
    assert not problems, "\n".join(problems)
    leftovers = {p.name for p in folder.iterdir()} - {path.name for path, _ in cases.values()}
    assert not leftovers, leftovers


# --- one real-model run per format (the fast test model, through alma-translate) -----------------

@pytest.fixture(scope="module")
def model_outputs(default_gguf, tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """The four documents translated by the real model in one alma-translate run (one model load):
    suffix -> (source, output)."""
    folder = tmp_path_factory.mktemp("office-real")
    data_dir = tmp_path_factory.mktemp("office-real-data")
    built = {}
    for suffix, build in ((".pptx", build_pptx), (".xlsx", build_xlsx), (".odt", build_odt), (".docx", build_docx)):
        source = folder / f"probe.de{suffix}"
        build(source)
        built[suffix] = (source, digest(source))
    env = {**os.environ, "ALMA_LOCAL_DATA": str(data_dir), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "desktop.cli", "-m", str(default_gguf), "--from", "de", "--to", "en",
                             "--max-new-tokens", "16", *(str(source) for source, _ in built.values())],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr
    outputs = {}
    for suffix, (source, before) in built.items():
        out = folder / f"probe.en{suffix}"
        assert f"{source} -> {out}" in result.stderr
        assert digest(source) == before, "the source changed"
        outputs[suffix] = (source, out)
    assert not list(folder.glob(".*.part"))
    return outputs


def _translated(before: str, after: str) -> bool:
    return bool(after.strip()) and after != before


def test_real_model_pptx(model_outputs):
    from pptx import Presentation

    source, out = model_outputs[".pptx"]
    original, result = Presentation(str(source)), Presentation(str(out))
    assert len(result.slides) == len(original.slides)
    assert pptx_shape_count(result) == pptx_shape_count(original)
    before, after = pptx_texts(original), pptx_texts(result)
    assert len(after) == len(before)
    for a, b in zip(before, after, strict=True):
        if any(c.isalpha() for c in a):
            assert _translated(a, b), (a, b)
        else:
            assert b == a
    runs = pptx_runs(result.slides[0].placeholders[1].text_frame.paragraphs[0])
    assert any(bold and text.strip() for text, bold, _ in runs), runs
    assert any(link == "https://example.org/" and text.strip() for text, _, link in runs), runs


def test_real_model_xlsx(model_outputs):
    import openpyxl

    source, out = model_outputs[".xlsx"]
    original, result = xlsx_cells(source), xlsx_cells(out)
    assert result.keys() == original.keys()
    assert openpyxl.load_workbook(str(out)).sheetnames == ["Umsatz", "Kosten"]
    for key, value in original.items():
        if isinstance(value, str) and not value.startswith("=") and any(c.isalpha() for c in value):
            assert _translated(value, str(result[key])), (key, result[key])
        elif key != ("Umsatz", "A2"):
            assert result[key] == value, key
    assert result[("Umsatz", "C1")] == "=B1*2" and result[("Kosten", "B1")] == "=Umsatz!B1+1"
    assert result[("Umsatz", "B1")] == 42 and result[("Umsatz", "D1")] == datetime.datetime(2024, 3, 1)
    assert result[("Umsatz", "A1")] == result[("Kosten", "A2")]  # one shared string, one translation
    rich = result[("Umsatz", "A2")]
    assert any(getattr(block, "font", None) is not None and block.font.b and block.text.strip() for block in rich)


def test_real_model_odt(model_outputs):
    source, out = model_outputs[".odt"]
    original, result = odt_paragraphs(source), odt_paragraphs(out)
    assert [kind for kind, _ in result] == [kind for kind, _ in original]
    for (_, a), (_, b) in zip(original, result, strict=True):
        if any(c.isalpha() for c in a):
            assert _translated(a, b), (a, b)
        else:
            assert b == a
    content = odt_content(out)
    assert content.count("<table:table-cell") == 4 and content.count("<text:list-item") == 2
    from lxml import etree

    root = etree.fromstring(content.encode())
    spans = root.findall(f".//{{{NS_TEXT}}}span[@{{{NS_TEXT}}}style-name='Fett']")
    assert spans and all("".join(span.itertext()).strip() for span in spans)
    links = root.findall(f".//{{{NS_TEXT}}}a")
    assert links and all("".join(link.itertext()).strip() for link in links)


def test_real_model_docx(model_outputs):
    import docx

    source, out = model_outputs[".docx"]
    original, result = docx.Document(str(source)), docx.Document(str(out))
    assert len(result.paragraphs) == len(original.paragraphs)
    for a, b in zip(original.paragraphs, result.paragraphs, strict=True):
        if a.text.strip():
            assert _translated(a.text, b.text), (a.text, b.text)
    mixed = result.paragraphs[0]
    assert any(run.bold and run.text.strip() for run in mixed.runs)
    link = mixed._p.find(W + "hyperlink")
    assert link is not None and w_text(link).strip()
    assert "\t" in result.paragraphs[1].text
    assert result.tables[0].cell(0, 1).text == "42"


def test_the_documents_view_offers_the_office_formats():
    pytest.importorskip("PySide6")
    from desktop.gui.document_queue import supported_extensions

    assert {".pptx", ".xlsx", ".odt", ".odp", ".docx"} <= set(supported_extensions())


@pytest.mark.parametrize("build", [build_pptx, build_xlsx, build_odt], ids=["pptx", "xlsx", "odt"])
def test_cancel_mid_document_leaves_no_output(tmp_path, build):
    import threading

    from desktop.documents import TranslationCancelled

    suffix = {"build_pptx": ".pptx", "build_xlsx": ".xlsx", "build_odt": ".odt"}[build.__name__]
    source = tmp_path / f"abbruch{suffix}"
    build(source)
    pressed = threading.Event()

    class CancellingEngine(DictionaryEngine):
        def translate(self, text: str, src: str, tgt: str, cancel=None) -> str:
            pressed.set()  # the user presses Cancel while the first segment is translated
            return super().translate(text, src, tgt)

    with pytest.raises(TranslationCancelled):
        DocumentJob(source, JobOptions("de", "en", cancel=pressed)).run(CancellingEngine())
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]


def test_pptx_line_breaks_and_fields_stay_in_place(tmp_path):
    from lxml import etree
    from pptx import Presentation
    from pptx.oxml.ns import qn
    from pptx.util import Inches

    source = tmp_path / "umbruch.pptx"
    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    frame = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(2)).text_frame
    frame.text = "Erste Zeile\vzweite Zeile"  # python-pptx writes \v as <a:br/>
    paragraph = frame.paragraphs[0]._p
    field = etree.SubElement(paragraph, qn("a:fld"), id="{B6F15528-21DE-4FAA-801E-634DDDAF4B2B}", type="slidenum")
    etree.SubElement(field, qn("a:t")).text = "‹#›"
    presentation.save(str(source))
    engine = DictionaryEngine()
    out = DocumentJob(source, JobOptions("de", "en")).run(engine)
    assert engine.seen == ["Erste Zeile", "zweite Zeile"]
    result = Presentation(str(out)).slides[0].shapes[0].text_frame.paragraphs[0]._p
    children = [child.tag.split("}")[1] for child in result if child.tag != qn("a:endParaRPr")]
    assert children == ["r", "br", "r", "fld"]
    assert [t.text for t in result.iter(qn("a:t"))] == ["ERSTE ZEILE", "ZWEITE ZEILE", "‹#›"]
