"""Markdown blocks by CommonMark's rules, translated for real with the fast model: a heading under an HTML
comment is translated (a comment block ends at "-->", not at an empty line), a paragraph that is only a URL,
link, autolink, image or badge row is kept byte for byte.

markdown/liesmich.de.md was written for this test (no network to fetch a project's README), shaped like a
real README: a maintainer's comment on the first line, a badge row, section markers in comments.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from benchmarks.real_files import markdown_summary
from desktop.documents import DocumentJob, JobOptions, format_for
from desktop.documents.base import TextSource
from desktop.documents.inline_markup import translate_tagged
from desktop.engine import TranslationEngine
from desktop.stores.cache import TranslationCache

DATA = Path(__file__).resolve().parent / "markdown"
HEADINGS = ["# Wetterstation", "## Einrichtung", "### Fehler melden"]
KEPT = [  # whole paragraphs (a badge row is two lines), byte for byte
    "[![Build](https://ci.example.org/wetter/badge.svg)](https://ci.example.org/wetter) "
    "[![PyPI](https://img.shields.io/pypi/v/wetterstation.svg)](https://pypi.org/project/wetterstation/)\n"
    "[![Lizenz: MIT](https://img.shields.io/badge/Lizenz-MIT-blue.svg)](LICENSE)\n",
    "https://de.wikipedia.org/wiki/Wetterstation_(Meteorologie)\n",
    "www.example.org/wetter/handbuch\n",
    "<https://example.org/wetter>\n",
    "![Schaltplan](docs/schaltplan.png)\n",
    '[Handbuch](https://example.org/wetter/handbuch "Das Handbuch")\n',
    "mailto:wetter@example.org\n",
]


@pytest.fixture(scope="module")
def engine(default_gguf, tmp_path_factory) -> TranslationEngine:
    cache = TranslationCache(tmp_path_factory.mktemp("markdown-cache") / "cache.sqlite3")
    return TranslationEngine(default_gguf, n_threads=2, max_new_tokens=16, cache=cache)


def test_headings_under_comments_are_segments_and_link_paragraphs_are_not(tmp_path):
    source = tmp_path / "liesmich.de.md"
    shutil.copyfile(DATA / "liesmich.de.md", source)
    segments = [str(s) for s in format_for(source).segments(source)]
    assert [s for s in segments if s in ("Wetterstation", "Einrichtung", "Fehler melden")] == [
        "Wetterstation", "Einrichtung", "Fehler melden"]
    assert not any("example.org" in s or "Schaltplan" in s or "Handbuch" in s or "Build" in s for s in segments)
    # An address inside a sentence is one code the model never sees.
    assert "Schreiben Sie uns an <1/>, wenn etwas nicht funktioniert." in segments


def test_a_readme_keeps_comments_and_link_paragraphs_and_translates_headings(engine, tmp_path):
    source = tmp_path / "liesmich.de.md"
    shutil.copyfile(DATA / "liesmich.de.md", source)
    text = source.read_text(encoding="utf-8")
    out = DocumentJob(source, JobOptions("de", "en")).run(engine)
    result = out.read_text(encoding="utf-8")
    for paragraph in KEPT:
        assert f"\n\n{paragraph}" in result, paragraph
    for comment in ("<!-- Dieses Dokument wird mit dem Werkzeug gepflegt; bitte nicht von Hand ändern. -->\n",
                    "<!-- start-installation -->\n",
                    "<!--\nDer folgende Abschnitt wird aus der Hilfe erzeugt.\n-->\n"):
        assert comment in result
    src_lines, out_lines = text.splitlines(), result.splitlines()
    assert len(out_lines) == len(src_lines)
    for heading in HEADINGS:
        index = src_lines.index(heading)
        level = heading.split()[0] + " "
        assert out_lines[index].startswith(level) and out_lines[index] != heading, out_lines[index]
    assert "wetter@example.org" in out_lines[src_lines.index(
        "Schreiben Sie uns an wetter@example.org, wenn etwas nicht funktioniert.")]


def test_code_spans_the_model_puts_side_by_side_stay_apart():
    """go-astisub's README: "`srt`, `stl`, `ttml`" came back "`srt``stl``ttml`", one code span to Markdown."""
    text = "It allows you to manipulate `srt`, `stl`, `ttml` and `webvtt` files.\n"
    out = io.BytesIO()
    format_for(TextSource(text, "r.md", ".md")).write(
        TextSource(text, "r.md", ".md"), out,
        lambda segment: translate_tagged(segment, lambda html: html.replace(", ", "").replace(" and", ""),
                                         segment.names).text)
    assert markdown_summary(out.getvalue().decode()) == markdown_summary(text)


# -- indented code (also in a list item) and a quote's empty line, as CommonMark reads them ----------------

CORPUS_MD = Path(__file__).resolve().parents[1] / "data" / "corpus" / "markdown"


def _excerpt(name: str, first: str, last: str) -> str:
    """The lines of a corpus README from the one starting with `first` to the one starting with `last`."""
    lines = (CORPUS_MD / name).read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith(last))
    return "".join(lines[start:end + 1])


# go-astisub's README: a list whose items hold indented code blocks; calamine's: a quote of two paragraphs
# (an empty quoted line '>' between them); an indented code block of two lines outside a list.
ASTISUB_CLI = _excerpt("go-astisub-README.md", "# Using the CLI", "        astisub merge")
CALAMINE_QUOTE = _excerpt("calamine-README.md", "When asking one of the maintainers", "#### Disk Write")
TWO_CODE_LINES = "Run it:\n\n    make venv\n    make test\n\nThen open the app.\n"


def _segments(text: str) -> list[str]:
    return [str(segment) for segment in format_for(TextSource(text, "r.md", ".md")).segments(
        TextSource(text, "r.md", ".md"))]


def test_indented_code_in_a_list_item_and_after_its_first_line_is_not_prose():
    segments = _segments(ASTISUB_CLI)
    assert not any("astisub" in s and ("-i example" in s or "-o example" in s) for s in segments), segments
    assert "convert any type of subtitle to any other type of subtitle:" in segments
    assert _segments(TWO_CODE_LINES) == ["Run it:", "Then open the app."]


def test_an_empty_quoted_line_ends_the_quoted_paragraph():
    segments = _segments(CALAMINE_QUOTE)
    quoted = [s for s in segments if "To avoid high memory usage" in s]
    assert len(quoted) == 1 and "xuri" not in quoted[0], segments


def test_code_blocks_and_quote_paragraphs_keep_their_structure_through_the_model(engine, tmp_path):
    source = tmp_path / "readme.md"
    source.write_text(ASTISUB_CLI + "\n" + CALAMINE_QUOTE + "\n" + TWO_CODE_LINES, encoding="utf-8")
    out = DocumentJob(source, JobOptions("en", "de")).run(engine)
    assert markdown_summary(out.read_text(encoding="utf-8")) == markdown_summary(source.read_text(encoding="utf-8"))


MOZ_PARAGRAPHS = _excerpt("moz-l10n-python-README.md", "Functions defining new entries", "the reference resource")


@pytest.mark.parametrize("answer", ["```python", "- Liste", "1. Punkt", "> Zitat", "# Titel", "<div>Block", "***"])
def test_a_translation_that_begins_like_a_block_does_not_start_one(answer: str):
    """moz-l10n-python's README: the fast model answered "```python" for a wrapped paragraph, and the fence it
    opened swallowed the file down to the next fence."""
    text = MOZ_PARAGRAPHS + "\n```python\ncode()\n```\n\n- an item\n"
    out = io.BytesIO()
    format_for(TextSource(text, "r.md", ".md")).write(
        TextSource(text, "r.md", ".md"), out,
        lambda segment: answer if "Functions defining" in str(segment) or "If no resource" in str(segment)
        else str(segment))
    result = out.getvalue().decode()
    assert markdown_summary(result) == markdown_summary(text), result
    assert answer.split()[0].lstrip("<>#-*`1.") in result
