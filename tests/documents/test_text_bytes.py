"""Exact bytes in the text formats (issue 26, item 6): encoding, BOM, every line ending and the final newline as
the source had them; tabs, line separators and hard-wrapped paragraphs in .txt (docs/translate.md, "Documents").

The formats run through a DocumentJob with the fast model (its words are not judged, only what is around them);
the wrapping rules themselves with a stand-in translator."""

from __future__ import annotations

import codecs
import io
import re
from pathlib import Path

import pytest

from desktop.documents import DocumentJob, JobOptions
from desktop.documents.base import TextSource
from desktop.documents.text_format import PlainTextFormat, wrapped_paragraph
from desktop.engine import TranslationEngine
from desktop.engine.sentences import split_segments
from desktop.stores.cache import TranslationCache

_ENDINGS = re.compile(r"\r\n|\r|\n|\u2028")
_BOMS = {"utf-8-sig": codecs.BOM_UTF8, "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
         "utf-32-be": codecs.BOM_UTF32_BE, "utf-8": b""}

# One small document per line-based format, its line endings written {e} (mixed where the test says so).
DOCUMENTS = {
    ".txt": "Guten Morgen.{e}{e}Wie geht es dir?{e}",
    ".md": "# Der Titel{e}{e}Ein kurzer Absatz.{e}",
    ".html": "<html><body>{e}<p>Guten Morgen.</p>{e}<p>Wie geht es dir?</p>{e}</body></html>{e}",
    ".srt": "1{e}00:00:01,000 --> 00:00:02,000{e}Guten Morgen.{e}{e}2{e}00:00:03,000 --> 00:00:04,000{e}"
            "Wie geht es dir?{e}",
    ".vtt": "WEBVTT{e}{e}00:01.000 --> 00:02.000{e}Guten Morgen.{e}{e}00:03.000 --> 00:04.000{e}Wie geht es dir?{e}",
}


@pytest.fixture(scope="module")
def engine(default_gguf, tmp_path_factory) -> TranslationEngine:
    cache = TranslationCache(tmp_path_factory.mktemp("bytes-cache") / "cache.sqlite3")
    return TranslationEngine(default_gguf, n_threads=2, max_new_tokens=12, cache=cache)


def _layout(data: bytes, encoding: str) -> tuple[bytes, list[str], bool]:
    """(BOM, every line ending in order, whether the text ends with one) of `data` read in `encoding`."""
    bom = _BOMS[encoding]
    assert data.startswith(bom), data[:4]
    text = data[len(bom):].decode(encoding.removesuffix("-sig"))
    assert not text.startswith("\ufeff")
    return bom, _ENDINGS.findall(text), bool(_ENDINGS.search(text[-1:]))


def _translated(engine, tmp_path: Path, name: str, data: bytes) -> bytes:
    source = tmp_path / name
    source.write_bytes(data)
    output = DocumentJob(source, JobOptions("de", "en")).run(engine)
    return output.read_bytes()


@pytest.mark.parametrize("suffix", sorted(DOCUMENTS))
@pytest.mark.parametrize(("encoding", "endings"), [
    ("utf-16-be", ["\n"]), ("utf-16-le", ["\r\n"]), ("utf-32-be", ["\r"]), ("utf-8-sig", ["\r\n", "\n", "\r"]),
    ("utf-8", ["\r", "\r\n"]),
])
def test_a_text_format_writes_the_encoding_bom_line_endings_and_final_newline_it_read(
        engine, tmp_path, suffix, encoding, endings):
    template = DOCUMENTS[suffix]
    pieces = template.split("{e}")
    text = "".join(piece + endings[number % len(endings)] for number, piece in enumerate(pieces[:-1])) + pieces[-1]
    for final in (True, False):
        body = text if final else re.sub(r"(?:\r\n|\r|\n)$", "", text)
        data = _BOMS[encoding] + body.encode(encoding.removesuffix("-sig"))
        out = _translated(engine, tmp_path, f"doc-{encoding}-{final}{suffix}", data)
        assert _layout(out, encoding) == _layout(data, encoding), (suffix, encoding, final, out)


def test_a_catalog_keeps_its_bom_crlf_and_missing_final_newline(engine, tmp_path):
    catalog = ('msgid ""\r\nmsgstr ""\r\n"Content-Type: text/plain; charset=UTF-8\\n"\r\n\r\n#: a.c:1\r\n'
               'msgid "Good morning."\r\nmsgstr ""\r\n\r\nmsgid "How are you?"\r\nmsgstr ""')
    data = codecs.BOM_UTF8 + catalog.encode()
    source = tmp_path / "app.po"
    source.write_bytes(data)
    out = DocumentJob(source, JobOptions("en", "de")).run(engine).read_bytes()
    assert out.startswith(codecs.BOM_UTF8 + b'msgid ""\r\n')  # no "#" line for the BOM, no header comment added
    assert b"\n" not in out.replace(b"\r\n", b"") and not out.endswith(b"\n")
    assert out.count(b'msgstr ""') == 1  # the header's; both messages filled


def test_a_utf16_be_file_comes_back_utf16_be(engine, tmp_path):
    data = codecs.BOM_UTF16_BE + "Guten Morgen.\nWie geht es dir?\n".encode("utf-16-be")
    out = _translated(engine, tmp_path, "brief.txt", data)
    assert out.startswith(codecs.BOM_UTF16_BE)
    assert out[2:].decode("utf-16-be").count("\n") == 2


def test_tab_separated_cells_are_translated_one_by_one_and_keep_their_tabs(engine, tmp_path):
    data = b"Spalte eins\tSpalte zwei\nGuten Morgen.\t\tWie geht es dir?\n"
    seen = [str(text) for text in PlainTextFormat().segments(TextSource(data.decode(), "t.txt", ".txt"))]
    assert seen == ["Spalte eins", "Spalte zwei", "Guten Morgen.", "Wie geht es dir?"]
    out = _translated(engine, tmp_path, "tabelle.txt", data).decode()
    assert [line.count("\t") for line in out.split("\n")] == [1, 2, 0]
    assert all(cell.strip() for line in out.split("\n")[:2] for cell in re.split(r"\t+", line))


def test_a_line_separator_inside_a_line_is_a_line_break_the_translation_keeps(engine, tmp_path):
    # U+2028 is no line end for Python's file reading, but str.splitlines (and so the cut of the model's
    # output, which keeps its first line) breaks there: it has to be a boundary, kept as it was.
    assert [s.text for s in split_segments("Zeile eins\u2028Zeile zwei\x0cDrei")] == [
        "Zeile eins", "\u2028", "Zeile zwei", "\x0c", "Drei"]
    out = _translated(engine, tmp_path, "zeilen.txt", "Guten Morgen.\u2028Wie geht es dir?\n".encode()).decode()
    assert out.count("\u2028") == 1 and all(part.strip() for part in out[:-1].split("\u2028"))


# -- hard-wrapped paragraphs in .txt (a stand-in translator: the rule itself) -------------------------------

WRAPPED = ("Dies ist ein Absatz, den ein Editor bei einer Breite von\n"
           "sechzig Zeichen umbrochen hat, damit er in eine E-Mail\n"
           "passt; er endet hier.\n")


def _lines(text: str) -> list[tuple[str, str]]:
    return [(line.rstrip("\r\n"), line[len(line.rstrip("\r\n")):]) for line in text.splitlines(keepends=True)]


@pytest.mark.parametrize(("text", "paragraph"), [
    (WRAPPED, True),
    (WRAPPED.replace("\n", "\r\n"), True),
    ("  " + WRAPPED.replace("\n", "\n  ", 2), True),  # the same indentation on every line
    ("Mit freundlichen Grüßen\nAnna Muster\n", False),  # short lines: a list, an address, a signature
    ("Line 1\nLine 2\nLine 3\n", False),
    ("IMPORTANT WARNING\nSchema copies in this sub-folder are provided solely for implementers convenience.\n",
     False),  # "Schema" would have fitted after the heading: not wrapped there
    (WRAPPED.replace("sechzig", "- sechzig"), False),  # a list item
    (WRAPPED.replace("Breite von\n", "Breite von\r\n"), False),  # mixed endings stay where they are
    (WRAPPED.replace("Editor bei", "Editor\tbei"), False),  # tabs are columns
    # Whole sentences on each line need no joining (and a memory match for the line stays one).
    ("    Die Katze ist schwarz. Das Wetter ist sehr schön.\nDer Hund schläft.\n", False),
    ("Kontoinformationen für das laufende Geschäftsjahr 2024\nBitte prüfen Sie alle Angaben.\n", False),  # a title
])
def test_a_block_is_a_wrapped_paragraph_only_when_an_editor_wrapped_it(text, paragraph):
    assert wrapped_paragraph(_lines(text)) is paragraph


def _write_txt(text: str, translate) -> str:
    out = io.BytesIO()
    PlainTextFormat().write(TextSource(text, "t.txt", ".txt"), out, translate)
    return out.getvalue().decode()


def test_a_wrapped_paragraph_is_translated_whole_and_wrapped_again_at_its_width():
    seen: list[str] = []
    longer = "This is a paragraph that an editor wrapped at a width of sixty characters so that it fits in a mail."

    result = _write_txt("  " + WRAPPED.replace("\n", "\r\n  ", 2) + "\nGrüße\nAnna\n",
                        lambda text: seen.append(text) or (longer if "Absatz" in text else text.upper()))
    assert seen[0] == ("Dies ist ein Absatz, den ein Editor bei einer Breite von sechzig Zeichen umbrochen hat, "
                       "damit er in eine E-Mail passt; er endet hier.")
    paragraph, rest = result.split("\n\n")
    lines = paragraph.split("\r\n")
    assert " ".join(line.strip() for line in lines) == longer
    assert all(line.startswith("  ") and len(line) <= 58 for line in lines) and len(lines) == 2
    assert rest == "GRÜSSE\nANNA\n"  # short lines, each on its own


def test_a_wrapped_paragraph_goes_to_the_model_as_one_segment(engine, tmp_path):
    source = tmp_path / "brief.txt"
    source.write_text(WRAPPED + "\nMit freundlichen Grüßen\nAnna\n")
    job = DocumentJob(source, JobOptions("de", "en"))
    assert job.count() == 3
    out = job.run(engine).read_text()
    paragraph = out.split("\n\n")[0]
    width = max(len(line) for line in WRAPPED.splitlines())
    assert all(len(line) <= width or " " not in line for line in paragraph.split("\n"))
    assert out.endswith("\n") and out.count("\n\n") == 1
