"""An HTML page's declared charset (issue 26, item 6): found as a browser finds it (BOM, then a <meta> in the
first 1024 bytes, WHATWG labels), checked against html5lib-tests' encoding cases; the translation written in
it, what it cannot hold as `&#N;`, every other byte as it was; EPUB's XHTML still by its XML declaration.
docs/translate.md, "HTML charsets"."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from desktop.documents import DocumentError, DocumentJob, JobOptions
from desktop.documents.base import TextSource
from desktop.documents.html_format import HtmlFormat
from tests.documents.test_office_formats import DictionaryEngine

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = DATA / "corpus"
HTML5LIB = DATA / "html" / "html5lib-encoding"
XHTML = "{http://www.w3.org/1999/xhtml}"


def _html5lib_cases() -> list:
    """(data, expected WHATWG name) of each `#data` ... `#encoding` case of html5lib-tests' encoding tests."""
    cases = []
    for name in ("tests1.dat", "tests2.dat"):
        for number, block in enumerate(HTML5LIB.joinpath(name).read_bytes().split(b"#data\n")[1:], 1):
            data, _, encoding = block.partition(b"\n#encoding\n")
            cases.append(pytest.param(data, encoding.strip().decode("ascii").lower(), id=f"{name}-{number}"))
    return cases


@pytest.mark.parametrize(("data", "expected"), _html5lib_cases())
def test_the_charset_is_found_as_html5lib_tests_expect(tmp_path: Path, data: bytes, expected: str) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(data)
    encoding = HtmlFormat().encoding(page)
    if data.lower().find(b"charset") > 1024:
        # html5lib (like Chrome) also honours a <meta> that its parser meets later, in the <head>; the
        # standard's prescan stops at 1024 bytes, and so do we (and Firefox): read as UTF-8.
        assert (encoding.codec, encoding.name) == ("utf-8", ""), data[:60]
        return
    # Their fallback without a declaration is a browser's (windows-1252 in the West); ours stays UTF-8.
    found = {"utf-8-sig": "utf-8"}.get(encoding.codec, encoding.name) if encoding.name or encoding.codec != "utf-8" \
        else "windows-1252"
    assert found == {"iso-8859-1": "windows-1252"}.get(expected, expected), data[:200]


def test_a_legacy_page_is_written_in_its_charset_with_references_for_what_it_cannot_hold(tmp_path: Path) -> None:
    # Okapi's windows-1252 test page: before, refused as "line 1: not UTF-8 text".
    source = Path(shutil.copyfile(CORPUS / "html" / "okapi_htmltest.html", tmp_path / "page.html"))
    data = source.read_bytes()
    segments = list(HtmlFormat().segments(source))
    assert '<=lt, &=amp, >=gt, "=quot, \'=apos. ©=copyright, €=euro' in segments  # 0xA9 and 0x80
    assert "Cette phrase est en français." in segments
    out = io.BytesIO()
    HtmlFormat().write(source, out, lambda text: "Жёлтый € © ü 日本")
    written = out.getvalue()
    assert written.count(b"&#1046;&#1105;&#1083;&#1090;&#1099;&#1081; \x80 \xa9 \xfc &#26085;&#26412;") == len(segments)
    # Outside the text every byte is the source's: the meta, the <pre>, the Korean references, the lines.
    translated = re.compile(rb"&#1046;.*?&#26412;", re.DOTALL)
    kept = [piece for piece in translated.split(written)]
    assert b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">' in kept[0]
    assert all(piece in data for piece in kept), [piece for piece in kept if piece not in data]
    assert etree.HTML(written).find(".//p").text == "Жёлтый € © ü 日本"  # as a browser reads it


def test_a_shift_jis_page_is_read_and_written_in_shift_jis(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes('<html><head>\n<meta charset="Shift_JIS">\n<title>東京の天気</title></head>\n'
                     '<body><p title="晴れ">今日は晴れです。</p><script>var s = "雨";</script></body></html>\n'
                     .encode("shift_jis"))
    assert list(HtmlFormat().segments(page)) == ["東京の天気", "今日は晴れです。"]
    out = DocumentJob(page, JobOptions("ja", "de")).run(DictionaryEngine({"東京の天気": "Wetter in Tōkyō",
                                                                          "今日は晴れです。": "Heute ist es sonnig ①."}))
    assert out.read_bytes() == ('<html><head>\n<meta charset="Shift_JIS">\n<title>Wetter in T&#333;ky&#333;</title>'
                                '</head>\n<body><p title="晴れ">Heute ist es sonnig ①.</p><script>var s = "雨";'
                                '</script></body></html>\n').encode("cp932")  # WHATWG's Shift_JIS holds ①


def test_windows_1252_bytes_python_leaves_undefined_are_kept_as_browsers_read_them(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(b'<meta charset="iso-8859-1">\n<p title="a\x81b">Gr\xfc\xdfe \x9d</p>\n')
    assert list(HtmlFormat().segments(page)) == ["Grüße \x9d"]
    out = DocumentJob(page, JobOptions("de", "en")).run(DictionaryEngine({"Grüße \x9d": "Greetings \x9d ♥"}))
    assert out.read_bytes() == b'<meta charset="iso-8859-1">\n<p title="a\x81b">Greetings \x9d &#9829;</p>\n'


@pytest.mark.parametrize(("data", "message"), [
    # Declares Shift_JIS, holds a windows-1252 line: the line and the declaration named.
    (b'<html>\n<meta http-equiv="content-type" content="text/html;charset=sjis">\n<p>\x82\xa0</p>\n<p>caf\xe9 \x81</p>\n',
     r"page\.html: line 4: not shift_jis text \(.*\); its <meta> on line 2 declares shift_jis: correct the "
     r"declaration, or save the page in shift_jis"),
    # No declaration, Latin-1 bytes on line 3: UTF-8, and the message says a <meta> could name another charset.
    (b"<html>\n<p>Hallo</p>\n<p>Gr\xfc\xdfe</p>\n",
     r"page\.html: line 3: not UTF-8 text \(.*\); no <meta charset> in its first 1024 bytes names another "
     r"encoding"),
    (b'<meta charset="iso-2022-kr">\n<p>Hallo</p>\n', r"page\.html: line 1: its <meta> declares an encoding "
                                                      r"browsers refuse to read"),
])
def test_a_page_its_charset_cannot_read_is_refused_naming_line_and_declaration(tmp_path: Path, data: bytes,
                                                                              message: str) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(data)
    with pytest.raises(DocumentError, match=message):
        DocumentJob(page, JobOptions("de", "en")).count()


def test_html_held_as_text_stays_utf8_whatever_its_meta_says() -> None:
    # The API's format=html: the text is decoded already, and the answer is text too.
    source = TextSource('<meta charset="windows-1252"><p>Жёлтый</p>', "q", ".html")
    assert HtmlFormat().encoding(source).codec == "utf-8"
    out = io.BytesIO()
    HtmlFormat().write(source, out, str.upper)
    assert out.getvalue().decode("utf-8") == '<meta charset="windows-1252"><p>ЖЁЛТЫЙ</p>'


def test_an_epubs_xhtml_is_still_read_by_its_xml_declaration_not_a_meta(tmp_path: Path) -> None:
    # XHTML is XML: its encoding is the declaration's, and a <meta> naming another one changes nothing.
    source = tmp_path / "latin1.epub"
    with zipfile.ZipFile(CORPUS / "epub" / "epubcheck-20-lorem.epub") as old, zipfile.ZipFile(source, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "EPUB/lorem.xhtml":
                data = (data.decode("utf-8").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
                        .replace("<title>", '<meta http-equiv="Content-Type" content="text/html; charset=shift_jis"/>'
                                            "<title>").replace("Chapter 1", "Kapitel Eins: Grüße")
                        .encode("latin-1"))
            new.writestr(info, data)
    out = DocumentJob(source, JobOptions("de", "ru")).run(DictionaryEngine({"Kapitel Eins: Grüße": "Глава 1: ü"}))
    with zipfile.ZipFile(out) as book:
        written = book.read("EPUB/lorem.xhtml")
    assert written.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    assert b"<h2>&#1043;&#1083;&#1072;&#1074;&#1072; 1: \xfc</h2>" in written
    assert b'content="text/html; charset=shift_jis"' in written
    root = etree.fromstring(written)
    assert root.find(f".//{XHTML}h2").text == "Глава 1: ü"
