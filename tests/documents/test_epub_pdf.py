""".epub and .pdf (issue 26): real files of the corpus (epubcheck's, pypdf's and pdfminer.six's test files)
through a DocumentJob with a dictionary for an engine (its answers are known, so where each text lands can be
checked), one real-model run through the real alma-translate, and broken or protected files refused with a
line naming the file. docs/translate.md, "EPUB books" and "PDF"."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from docx import Document
from lxml import etree

from desktop.documents import DocumentError, DocumentJob, JobOptions
from desktop.documents.pdf_format import read_pdf
from tests.documents.test_office_formats import DictionaryEngine

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"
OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"
NCX = "{http://www.daisy.org/z3986/2005/ncx/}"
XHTML = "{http://www.w3.org/1999/xhtml}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _copy(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copyfile(CORPUS / name, tmp_path / Path(name).name))


def _xml(data: bytes):
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


# -- EPUB --------------------------------------------------------------------------------------------


def test_an_epub_has_its_text_translated_its_language_set_and_every_other_byte_kept(tmp_path: Path) -> None:
    source = _copy("epub/epubcheck-30-valid-ncx.epub", tmp_path)
    out = DocumentJob(source, JobOptions("en", "de")).run(DictionaryEngine())
    assert out == tmp_path / "epubcheck-30-valid-ncx.de.epub"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out) as new:
        first = new.infolist()[0]
        assert (first.filename, first.compress_type, first.extra) == ("mimetype", zipfile.ZIP_STORED, b"")
        assert new.namelist() == old.namelist()
        edited = {"EPUB/lorem.opf", "EPUB/lorem.xhtml", "EPUB/lorem.ncx"}
        for name in set(old.namelist()) - edited:  # the stylesheet, the SVG, the container
            assert new.read(name) == old.read(name), name
        page = _xml(new.read("EPUB/lorem.xhtml"))
        opf, ncx = _xml(new.read("EPUB/lorem.opf")), _xml(new.read("EPUB/lorem.ncx"))
    assert (page.get(XML_LANG), page.get("lang")) == ("de", "de")
    assert [a.text for a in page.iter(XHTML + "a")] == ["CHAPTER 1", "CHAPTER 2"]  # the nav's links, hrefs kept
    assert [a.get("href") for a in page.iter(XHTML + "a")] == ["#ch1", "#ch2"]
    assert page.find(f"{XHTML}head/{XHTML}title").text == "LOREM IPSUM"
    assert all(p.text.isupper() for p in page.iter(XHTML + "p"))
    assert opf.find(f"{OPF}metadata/{DC}title").text == "LOREM IPSUM"
    assert opf.find(f"{OPF}metadata/{DC}language").text == "de"
    assert opf.find(f"{OPF}metadata/{DC}identifier").text == "urn:uuid:550e8400-e29b-41d4-a716-446667441231"
    assert [i.get("idref") for i in opf.iter(OPF + "itemref")] == ["t1", "svg"]
    assert ncx.get(XML_LANG) == "de"
    assert [t.text for t in ncx.iter(NCX + "text")] == ["LOREM IPSUM", "CHAPTER 1", "CHAPTER 2"]


def test_an_epub_2_keeps_its_doctype_and_an_obfuscated_font(tmp_path: Path) -> None:
    source = _copy("epub/epubcheck-font-obfuscation.epub", tmp_path)
    out = DocumentJob(source, JobOptions("en", "de")).run(DictionaryEngine())
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out) as new:
        assert new.read("OEBPS/Fonts/Avenir-Roman.otf") == old.read("OEBPS/Fonts/Avenir-Roman.otf")
        page = new.read("OEBPS/pg_1.xhtml")
        opf = _xml(new.read("OEBPS/content.opf"))
    assert b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN"' in page
    root = _xml(page)
    # XHTML 1.1 has no lang attribute: the language goes into xml:lang only.
    assert (root.get(XML_LANG), root.get("lang")) == ("de", None)
    assert opf.find(f"{OPF}metadata/{DC}description").text == "DESCRIPTION"


def test_an_epub_whose_text_is_encrypted_is_refused_as_drm(tmp_path: Path) -> None:
    source = _copy("epub/epubcheck-font-obfuscation.epub", tmp_path)
    drm = tmp_path / "drm.epub"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(drm, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "META-INF/encryption.xml":  # the text encrypted (AES), not only the font
                data = data.replace(b"http://www.idpf.org/2008/embedding",
                                    b"http://www.w3.org/2001/04/xmlenc#aes128-cbc")
                data = data.replace(b"OEBPS/Fonts/Avenir-Roman.otf", b"OEBPS/pg_1.xhtml")
            new.writestr(info, data)
    with pytest.raises(DocumentError, match=r"drm\.epub: its text is encrypted \(DRM"):
        DocumentJob(drm, JobOptions("en", "de")).run(DictionaryEngine())
    assert not (tmp_path / "drm.de.epub").exists()


def test_an_epub_with_a_broken_document_or_no_zip_is_refused_naming_it(tmp_path: Path) -> None:
    source = _copy("epub/epubcheck-20-lorem.epub", tmp_path)
    broken = tmp_path / "broken.epub"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(broken, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            new.writestr(info, data.replace(b"</h1>", b"") if info.filename == "EPUB/lorem.xhtml" else data)
    with pytest.raises(DocumentError, match=r"broken\.epub: EPUB/lorem\.xhtml: not well-formed XML"):
        DocumentJob(broken, JobOptions("en", "de")).count()
    text = tmp_path / "notes.epub"
    text.write_text("Chapter 1\n")
    with pytest.raises(DocumentError, match=r"notes\.epub: not a readable \.epub file \(not a zip archive"):
        DocumentJob(text, JobOptions("en", "de")).count()


def test_inline_svg_end_tags_keep_their_case_so_xhtml_stays_well_formed(tmp_path: Path) -> None:
    # html.parser lowers tag names; an XHTML parser (a reading system) refuses </lineargradient> after
    # <linearGradient>. Failed before the HTML path wrote end tags as they were written.
    page = tmp_path / "page.html"
    page.write_text('<p>Ein Bild.</p><svg xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g">'
                    '</linearGradient></defs><foreignObject><p>Text</p></foreignObject></svg>\n')
    out = DocumentJob(page, JobOptions("de", "en")).run(DictionaryEngine())
    written = out.read_text()
    assert "</linearGradient>" in written and "</foreignObject>" in written
    assert "<p>EIN BILD.</p>" in written


# -- PDF ---------------------------------------------------------------------------------------------


def test_a_pdf_becomes_a_word_document_of_headings_and_whole_paragraphs(tmp_path: Path) -> None:
    source = _copy("pdf/pypdf-crazyones.pdf", tmp_path)
    out = DocumentJob(source, JobOptions("en", "de")).run(DictionaryEngine())
    assert out == tmp_path / "pypdf-crazyones.de.docx"
    paragraphs = Document(str(out)).paragraphs
    assert [(p.style.name, p.text) for p in paragraphs[:2]] == [("Heading 1", "THE CRAZY ONES"),
                                                                ("Heading 2", "OCTOBER 14, 1998")]
    assert len(paragraphs) == 10 and all(p.style.name == "Normal" for p in paragraphs[2:])
    texts = [p.text for p in paragraphs]
    # Three lines of one box are one paragraph; so are two boxes of one sentence ("Because the" / "people").
    assert any(t.startswith("THE ONES WHO SEE THINGS") and "AND THEY HAVE NO RESPECT" in t for t in texts)
    assert texts[-1].startswith("WHILE SOME SEE THEM") and texts[-1].endswith("ARE THE ONES WHO DO.")


def test_a_pdfs_pages_numbers_and_contents_are_kept_apart_from_its_text(tmp_path: Path) -> None:
    source = _copy("pdf/pypdf-pdflatex-outline.pdf", tmp_path)
    out = DocumentJob(source, JobOptions("en", "de")).run(DictionaryEngine())
    document = Document(str(out))
    paragraphs = document.paragraphs
    assert sum(1 for p in paragraphs if p.paragraph_format.page_break_before) == 3  # 4 pages
    assert [p.text for p in paragraphs if p.style.name == "Heading 1"] == [
        "CONTENTS", *(f"{n} {w}" for n, w in zip(range(1, 10), ["FOO", "BAR", "BAZ"] * 3, strict=True))]
    assert paragraphs[1].text == "1 FOO\t2"  # the contents' page number on its line, not a paragraph of its own
    assert not any(p.text.strip().isdigit() for p in paragraphs)  # the footers' page numbers: a PAGE field
    assert 'w:instr="PAGE"' in document.sections[0].footer._element.xml
    # The paragraph that runs from page 2 onto page 3 is one paragraph.
    assert not any(p.text[:1].islower() for p in paragraphs)


def _pdf(pages: list[list[tuple[float, float, str]]]) -> bytes:
    """A PDF of Helvetica lines (x, y, text) per page, as a printer driver writes one."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for lines in pages:
        stream = b"".join(b"BT /F1 11 Tf %.1f %.1f Td (%s) Tj ET\n" % (x, y, text.encode("latin-1"))
                          for x, y, text in lines)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 432 648] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 3 0 R >> >> >>" % len(objects))
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_a_pdfs_running_header_hyphenation_and_page_numbers_are_undone(tmp_path: Path) -> None:
    # Two pages of a book: a running header and a page number at the top, a word hyphenated at a line's end,
    # a sentence that goes on over the page break.
    page_one = [(150, 610, "THE SIEGE OF VICKSBURG."), (370, 610, "49"),
                (60, 570, "The heat of the sun increases, and we must im-"),
                (60, 556, "prove our quarters with cane and bunks. We are"),
                (60, 542, "glad of the shade, and of the water which the")]
    page_two = [(60, 610, "50"), (150, 610, "THE SIEGE OF VICKSBURG."),
                (60, 570, "river brings us every morning in barrels."),
                (60, 540, "June 11th. Stayed in camp to-day.")]
    source = tmp_path / "siege.pdf"
    source.write_bytes(_pdf([page_one, page_two]))
    text = read_pdf(source)
    assert text.header == "THE SIEGE OF VICKSBURG." and text.page_numbers
    assert [(block.text, block.page) for block in text.blocks] == [
        ("The heat of the sun increases, and we must improve our quarters with cane and bunks. We are glad of "
         "the shade, and of the water which the river brings us every morning in barrels.", 0),
        ("June 11th. Stayed in camp to-day.", 1)]
    out = DocumentJob(source, JobOptions("en", "de")).run(DictionaryEngine())
    document = Document(str(out))
    assert document.sections[0].header.paragraphs[0].text == "THE SIEGE OF VICKSBURG."
    assert [p.paragraph_format.page_break_before for p in document.paragraphs] == [None, True]


@pytest.mark.parametrize(("name", "message"), [
    ("pdf/pypdf-imagemagick-CCITTFaxDecode.pdf", "no text layer: the PDF is scanned images; run OCR first"),
    ("pdf/pypdf-encrypted-file.pdf", "the PDF is encrypted with a password; open it in a PDF reader"),
])
def test_a_scanned_or_password_protected_pdf_is_refused_with_the_reason(tmp_path: Path, name: str,
                                                                        message: str) -> None:
    source = _copy(name, tmp_path)
    with pytest.raises(DocumentError, match=rf"^{source}: {message}"):
        DocumentJob(source, JobOptions("en", "de")).run(DictionaryEngine())
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]


def test_alma_translate_writes_a_pdf_as_docx_and_says_the_layout_is_not_kept(tmp_path: Path, default_gguf) -> None:
    source = _copy("pdf/pypdf-crazyones.pdf", tmp_path)
    done = subprocess.run([sys.executable, "-m", "desktop.cli", "-m", str(default_gguf), "--from", "en", "--to",
                           "de", "--max-new-tokens", "12", "--threads", "1", str(source)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    output = tmp_path / "pypdf-crazyones.de.docx"
    assert f"{source} -> {output}" in done.stderr
    assert f"alma-translate: note: {source}: a PDF's layout is not kept" in done.stderr
    paragraphs = Document(str(output)).paragraphs
    assert len(paragraphs) == 10 and all(p.text.strip() for p in paragraphs)
