"""Documents translated for real with the default model: structure kept, text changed, source untouched.

One engine for the module (its cache lives in a temporary folder); the samples are the ones shipped in
desktop/samples, a .docx built here with python-docx, and a slice of Django's English gettext catalog.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from desktop.documents import (
    SUPPORTED_EXTENSIONS,
    DocumentError,
    DocumentJob,
    JobOptions,
    TranslationCancelled,
    format_for,
    output_path_for,
)
from desktop.engine import TranslationEngine
from desktop.stores.cache import TranslationCache

SAMPLES = Path(__file__).resolve().parents[2] / "desktop" / "samples"
TIMECODE = re.compile(r"^\d\d:\d\d:\d\d[,.]\d\d\d --> .*$", re.M)


@pytest.fixture(scope="module")
def engine(default_gguf, tmp_path_factory) -> TranslationEngine:
    cache = TranslationCache(tmp_path_factory.mktemp("documents-cache") / "cache.sqlite3")
    return TranslationEngine(default_gguf, n_threads=2, max_new_tokens=12, cache=cache)


def sample(name: str, tmp_path: Path) -> Path:
    path = tmp_path / name
    shutil.copyfile(SAMPLES / name, path)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def translate(path: Path, engine, src="de", tgt="en", **kwargs) -> Path:
    before = digest(path)
    calls: list[tuple[int, int, float | None]] = []
    out = DocumentJob(path, JobOptions(src, tgt, progress=lambda *a: calls.append(a), **kwargs)).run(engine)
    assert digest(path) == before, "the source changed"
    assert out != path and out.is_file()
    assert calls[0][:2] == (0, calls[-1][1]) and calls[-1][0] == calls[-1][1] > 0
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert not list(path.parent.glob(".*.part")), "a temporary file was left"
    return out


def test_every_supported_extension_has_a_format():
    assert {".txt", ".md", ".docx", ".srt", ".vtt", ".html", ".po", ".pptx", ".xlsx", ".odt"} <= set(SUPPORTED_EXTENSIONS)


def test_output_names_sit_beside_the_source():
    assert output_path_for(Path("/d/sample.de.md"), "de", "en") == Path("/d/sample.en.md")
    assert output_path_for(Path("/d/notes.txt"), "de", "en") == Path("/d/notes.en.txt")


# -- every format, translated for real ----------------------------------------------------------

def test_txt_keeps_lines_and_blank_lines(engine, tmp_path):
    source = sample("sample.de.txt", tmp_path)
    out = translate(source, engine)
    assert out.name == "sample.en.txt"
    src_lines = source.read_text().split("\n")
    out_lines = out.read_text().split("\n")
    assert len(out_lines) == len(src_lines)
    assert [bool(line.strip()) for line in out_lines] == [bool(line.strip()) for line in src_lines]
    changed = sum(a != b for a, b in zip(src_lines, out_lines, strict=True) if a.strip())
    assert changed >= len([line for line in src_lines if line.strip()]) - 1


def test_markdown_keeps_code_links_and_markers(engine, tmp_path):
    source = sample("sample.de.md", tmp_path)
    text = source.read_text()
    result = translate(source, engine).read_text()
    code = re.search(r"```bash\n.*?```\n", text, re.S).group()
    assert code in result
    assert "(https://example.org/docs)" in result
    src_lines, out_lines = text.splitlines(), result.splitlines()
    assert len(out_lines) == len(src_lines)
    for a, b in zip(src_lines, out_lines, strict=True):
        for marker in ("# ", "## ", "- "):
            assert a.startswith(marker) == b.startswith(marker)
    assert "Willkommen" not in result and "Dokumentation" not in result


def test_srt_keeps_numbers_and_timecodes(engine, tmp_path):
    source = sample("sample.de.srt", tmp_path)
    text = source.read_text()
    result = translate(source, engine).read_text()
    assert TIMECODE.findall(result) == TIMECODE.findall(text)
    assert re.findall(r"^\d+$", result, re.M) == ["1", "2", "3"]
    assert result.count("\n\n") == text.count("\n\n")
    assert "Bahnhof" not in result and "Morgen" not in result


def test_vtt_keeps_header_notes_ids_and_settings(engine, tmp_path):
    source = sample("sample.de.vtt", tmp_path)
    text = source.read_text()
    result = translate(source, engine).read_text()
    assert result.startswith("WEBVTT\n\nNOTE Untertitel für die Vorschau\n\nintro\n")
    assert TIMECODE.findall(result) == TIMECODE.findall(text)
    assert "align:start" in result
    # The two-line cue stays on two lines.
    assert len(result.split("\n\n")[-1].strip().splitlines()) == 3
    assert "Hund" not in result


class _Skeleton(HTMLParser):
    """Tags with attributes, and the text of script/style/pre, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list = []
        self.texts: list[str] = []
        self._raw = False

    def handle_starttag(self, tag, attrs):
        self.items.append((tag, attrs))
        self._raw = tag in ("script", "style", "pre")

    def handle_endtag(self, tag):
        self.items.append(("/" + tag,))
        self._raw = False

    def handle_data(self, data):
        (self.items if self._raw else self.texts).append(data)


def skeleton(html: str) -> _Skeleton:
    parser = _Skeleton()
    parser.feed(html)
    parser.close()
    return parser


def test_html_keeps_tags_attributes_scripts_and_styles(engine, tmp_path):
    source = sample("sample.de.html", tmp_path)
    text = source.read_text()
    result = translate(source, engine).read_text()
    assert skeleton(result).items == skeleton(text).items
    assert 'alt="Ein Haus"' in result and "<pre>ls -l /home</pre>" in result
    assert "Willkommen" not in result and "Garten" not in result


def build_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Vertraulich"
    document.add_heading("Jahresbericht", level=1)
    paragraph = document.add_paragraph("Das Haus ist ")
    paragraph.add_run("sehr groß").bold = True
    paragraph.add_run(". Der Garten ist schön.")
    document.add_paragraph("Ich habe einen Hund.", style="List Bullet")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Der Hund schläft."
    table.cell(0, 1).text = "42"
    document.save(str(path))


def test_docx_keeps_paragraphs_runs_styles_and_tables(engine, tmp_path):
    import docx

    source = tmp_path / "bericht.docx"
    build_docx(source)
    out = translate(source, engine)
    before, after = docx.Document(str(source)), docx.Document(str(out))
    assert len(after.paragraphs) == len(before.paragraphs)
    for a, b in zip(before.paragraphs, after.paragraphs, strict=True):
        assert b.style.name == a.style.name
        assert {r.bold for r in b.runs} == {r.bold for r in a.runs}
        if a.text.strip():
            assert b.text.strip() and b.text != a.text
    # The sentence with a bold phrase is translated whole and the bold comes back around some of
    # the translated words (not the whole paragraph in the first run, as before).
    mixed = after.paragraphs[1]
    assert any(r.bold and r.text.strip() for r in mixed.runs)
    assert any(not r.bold and r.text.strip() for r in mixed.runs)
    assert after.tables[0].cell(0, 1).text == "42"  # no letters: kept
    assert after.tables[0].cell(0, 0).text not in ("", "Der Hund schläft.")
    assert after.sections[0].header.paragraphs[0].text != "Vertraulich"


def django_catalog_slice(path: Path) -> None:
    """A few real English messages of Django's catalog: plain ones, a placeholder, a plural."""
    import django
    import polib

    full = polib.pofile(str(Path(django.__file__).parent / "conf/locale/en/LC_MESSAGES/django.po"))
    plain = [e for e in full if not e.msgid_plural and "%" not in e.msgid and " " in e.msgid
             and len(e.msgid) < 40][:2]
    placeholder = next(e for e in full if e.msgid == "Enter a valid %(protocol)s address.")
    plural = min((e for e in full if e.msgid_plural), key=lambda e: len(e.msgid))
    small = polib.POFile()
    small.metadata = full.metadata
    for entry in [*plain, placeholder, plural]:
        small.append(entry)
    small.save(str(path))


def test_po_fills_msgstr_and_keeps_msgid_and_placeholders(engine, tmp_path):
    import polib

    source = tmp_path / "django.po"
    django_catalog_slice(source)
    out = translate(source, engine, src="en", tgt="de")
    assert out.name == "django.de.po"
    before, after = polib.pofile(str(source)), polib.pofile(str(out))
    assert [e.msgid for e in after] == [e.msgid for e in before]
    for entry in after:
        if entry.msgid_plural:
            assert all(entry.msgstr_plural.values()) and len(entry.msgstr_plural) == 2
        else:
            assert entry.msgstr and entry.msgstr != entry.msgid
        assert "fuzzy" in entry.flags
        for placeholder in re.findall(r"%\(\w+\)[sd]", entry.msgid):
            assert placeholder in (entry.msgstr or entry.msgstr_plural[0])


# -- cache, cancel, bad input ------------------------------------------------------------------

def test_a_second_run_comes_from_the_cache(engine, tmp_path):
    source = sample("sample.de.srt", tmp_path)
    first = translate(source, engine, output=tmp_path / "first.srt").read_text()
    calls = engine.model_calls
    second = translate(source, engine, output=tmp_path / "second.srt").read_text()
    assert second == first and engine.model_calls == calls
    # An edited document only sends the edited cue to the model.
    source.write_text(source.read_text().replace("Guten Morgen.", "Guten Abend."))
    translate(source, engine, output=tmp_path / "third.srt")
    assert engine.model_calls == calls + 1


def test_cancel_mid_document_leaves_no_output(engine, tmp_path):
    source = tmp_path / "lang.de.txt"
    source.write_text("".join(f"Zeile {n} handelt von Katzen.\n" for n in range(20)))
    cancel = threading.Event()

    def progress(done, total, eta):
        if done >= 2:
            cancel.set()

    with pytest.raises(TranslationCancelled):
        DocumentJob(source, JobOptions("de", "en", progress=progress, cancel=cancel)).run(engine)
    assert not (tmp_path / "lang.en.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lang.de.txt"]


def test_utf16_and_bom_sources_are_read_and_their_encoding_kept(engine, tmp_path):
    for encoding, bom in (("utf-16", b"\xff\xfe"), ("utf-8-sig", b"\xef\xbb\xbf")):
        source = tmp_path / f"brief-{encoding}.txt"
        source.write_text("Guten Tag.\n", encoding=encoding)
        out = translate(source, engine)
        assert out.read_bytes().startswith(bom)
        result = out.read_text(encoding=encoding)
        assert result.endswith("\n") and result.strip() and "Guten" not in result


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("leer.txt", b"", "nothing to translate"),
        ("nur-code.md", b"```\ncode\n```\n", "nothing to translate"),
        ("latin1.txt", "Grüße\n".encode("latin-1"), "line 1: not UTF-8"),
        ("bild.txt", b"abc\x00\x00def\n", "binary"),
        ("daten.numbers", b"x", "unsupported file type '.numbers'"),
        ("daten.xlsx", b"x", "not a readable .xlsx"),
        ("kaputt.docx", b"not a zip file", "not a readable .docx"),
    ],
)
def test_bad_input_names_the_file(engine, tmp_path, name, content, message):
    source = tmp_path / name
    source.write_bytes(content)
    with pytest.raises(DocumentError, match=re.escape(name) + ".*" + re.escape(message)):
        DocumentJob(source, JobOptions("de", "en")).run(engine)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_the_source_is_never_the_output(engine, tmp_path):
    source = sample("sample.de.txt", tmp_path)
    with pytest.raises(DocumentError, match="overwrite the source"):
        DocumentJob(source, JobOptions("de", "en", output=source)).run(engine)


def test_a_huge_document_is_read_in_bounded_memory(tmp_path):
    import tracemalloc

    source = tmp_path / "gross.md"
    with source.open("w") as handle:
        for n in range(40_000):
            handle.write(f"- Punkt {n} mit `code` und einem [Link](https://example.org/{n}).\n")
    assert source.stat().st_size > 2_500_000
    tracemalloc.start()
    segments = format_for(source).segments(source)
    first = next(iter(segments))
    count = 1 + sum(1 for _ in segments)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # One segment per item: the code span and the link are tags inside the sentence (inline_markup).
    assert str(first) == "Punkt 0 mit <1/> und einem <2>Link</2>."
    assert count == 40_000
    assert peak < 1_000_000  # a few lines at a time, not the 2.6 MB file
