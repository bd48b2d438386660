"""Hard-wrapped Markdown paragraphs, list items and quotes translated as one text and wrapped again at their
source's width (docs/translate.md, "Paragraphs wrapped over several lines"); the same block structure
afterwards by markdown-it (the corpus benchmark's check). The rules with a stand-in translator, then the
fast model through a DocumentJob."""

from __future__ import annotations

import io
import re

import pytest

from benchmarks.real_files import markdown_summary
from desktop.documents import DocumentJob, JobOptions
from desktop.documents.base import TextSource
from desktop.documents.inline_markup import TaggedText, translate_tagged
from desktop.documents.markdown_format import MarkdownFormat
from desktop.documents.rewrap import rewrap
from desktop.engine import TranslationEngine
from desktop.stores.cache import TranslationCache

README = """# Wetterstation

Die Wetterstation misst **Temperatur und
Luftfeuchte** alle zehn Minuten und schreibt die Werte in eine
[kleine Datenbank](https://example.org/db), die man lesen kann.

- Ein Listenpunkt, der über zwei Zeilen geht, weil er recht lang
  ist und vom Editor umbrochen wurde.
- Kurz.

> Ein Zitat, das über zwei Zeilen geht, weil es recht lang
> ist und umbrochen wurde.

Eine Zeile mit hartem Umbruch\x20\x20
und die nächste Zeile danach.

Ein Satz auf seiner Zeile.
Noch ein Satz auf seiner Zeile.

```
code bleibt
wie er ist
```
"""


@pytest.fixture(scope="module")
def engine(default_gguf, tmp_path_factory) -> TranslationEngine:
    cache = TranslationCache(tmp_path_factory.mktemp("wrapped-cache") / "cache.sqlite3")
    return TranslationEngine(default_gguf, n_threads=2, max_new_tokens=24, cache=cache)


def _segments(text: str) -> list[str]:
    return [str(s) for s in MarkdownFormat().segments(TextSource(text, "r.md", ".md"))]


def _write(text: str, translate) -> str:
    out = io.BytesIO()

    def each(segment):
        if isinstance(segment, TaggedText):
            return translate_tagged(segment, translate, segment.names).text
        return translate(segment)

    MarkdownFormat().write(TextSource(text, "r.md", ".md"), out, each)
    return out.getvalue().decode()


def test_a_wrapped_paragraph_list_item_and_quote_are_one_segment_each():
    assert _segments(README) == [
        "Wetterstation",
        "Die Wetterstation misst <1>Temperatur und Luftfeuchte</1> alle zehn Minuten und schreibt die Werte in "
        "eine <2>kleine Datenbank</2>, die man lesen kann.",  # the bold and the link span the line breaks
        "Ein Listenpunkt, der über zwei Zeilen geht, weil er recht lang ist und vom Editor umbrochen wurde.",
        "Kurz.",
        "Ein Zitat, das über zwei Zeilen geht, weil es recht lang ist und umbrochen wurde.",
        # A hard line break and one sentence a line stay lines of their own.
        "Eine Zeile mit hartem Umbruch  ", "und die nächste Zeile danach.",
        "Ein Satz auf seiner Zeile.", "Noch ein Satz auf seiner Zeile.",
    ]


def test_the_translation_is_wrapped_at_the_source_width_without_starting_a_block():
    result = _write(README, lambda text: text + " und noch viel mehr Worte hier" * 3)
    assert markdown_summary(result) == markdown_summary(README)
    paragraph = result.split("\n\n")[1].split("\n")
    assert len(paragraph) > 3 and all(len(line) <= 62 for line in paragraph)  # the source's longest line
    item = result.split("\n\n")[2].split("\n")
    assert item[0].startswith("- Ein Listenpunkt") and all(line.startswith("  ") for line in item[1:-1])
    quote = result.split("\n\n")[3].split("\n")
    assert len(quote) > 2 and all(line.startswith("> ") for line in quote)
    assert "code bleibt\nwie er ist\n" in result
    # Words that would start a list, a heading or a quote at the head of a line stay inside lines.
    result = _write(README, lambda text: text + " - # > 1. + mehr Worte - hier" * 3)
    assert markdown_summary(result) == markdown_summary(README)
    assert not re.search(r"^(?:[-#>+] |\d\. )", result.split("\n\n")[1], re.MULTILINE)


def test_rewrap_breaks_greedily_and_never_before_a_forbidden_word():
    assert rewrap("aa bb cc dd", 5, 0, "", "\n") == "aa bb\ncc dd"
    assert rewrap("aa bb cc dd", 7, 2, "  ", "\r\n") == "aa bb\r\n  cc dd"
    assert rewrap("aa - cc dd", 4, 0, "", "\n", lambda word: word != "-") == "aa -\ncc\ndd"
    assert rewrap("a-very-long-word b", 5, 0, "", "\n") == "a-very-long-word\nb"


def test_a_wrapped_markdown_readme_through_the_model_keeps_its_blocks(engine, tmp_path):
    source = tmp_path / "liesmich.md"
    source.write_text(README)
    job = DocumentJob(source, JobOptions("de", "en"))
    assert job.count() == 9
    result = job.run(engine).read_text()
    assert markdown_summary(result) == markdown_summary(README)
    assert "code bleibt\nwie er ist\n" in result
