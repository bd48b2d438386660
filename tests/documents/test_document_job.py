"""DocumentJob's steps with the real fast model: the count, the output decided once and before any
decoding, the translation memory asked once per segment, and text and streams giving the same bytes as
files (docs/translate.md, "Documents")."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from desktop.documents import DocumentError, DocumentJob, JobOptions, TextSource, format_for
from desktop.engine import TranslationEngine
from desktop.memory.store import TranslationMemory

SAMPLES = Path(__file__).resolve().parents[2] / "desktop" / "samples"


class CountingMemory(TranslationMemory):
    """A real translation memory that counts the questions it is asked."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.asked: list[str] = []

    def lookup(self, src: str, tgt: str, source: str) -> str | None:
        self.asked.append(source)
        return super().lookup(src, tgt, source)


@pytest.fixture(scope="module")
def engine(default_gguf) -> TranslationEngine:
    return TranslationEngine(default_gguf, n_threads=2, max_new_tokens=12, cache=False)


def test_count_is_the_formats_segments_read_once(tmp_path):
    source = tmp_path / "sample.de.md"
    shutil.copyfile(SAMPLES / "sample.de.md", source)
    job = DocumentJob(source, JobOptions("de", "en"))
    expected = len(list(format_for(source).segments(source)))
    assert expected > 3
    assert job.count() == expected
    source.write_text("Nur ein Satz.\n", encoding="utf-8")  # counted once: the job keeps its count
    assert job.count() == expected


def test_an_empty_document_counts_zero_and_is_refused_before_decoding(tmp_path, engine):
    source = tmp_path / "empty.txt"
    source.write_text("\n\n", encoding="utf-8")
    job = DocumentJob(source, JobOptions("de", "en"))
    assert job.count() == 0
    with pytest.raises(DocumentError, match="nothing to translate"):
        job.run(engine)
    assert not job.output_path.exists()


def test_the_output_is_decided_once_when_the_job_is_made(tmp_path):
    source = tmp_path / "brief.de.txt"
    source.write_text("Das Haus ist groß.\n", encoding="utf-8")
    assert DocumentJob(source, JobOptions("de", "en")).output_path == tmp_path / "brief.en.txt"
    folder = tmp_path / "out"
    folder.mkdir()
    assert DocumentJob(source, JobOptions("de", "en", output=folder)).output_path == folder / "brief.en.txt"
    with pytest.raises(DocumentError, match="would overwrite the source"):
        DocumentJob(source, JobOptions("de", "en", output=source))
    with pytest.raises(DocumentError, match="output folder does not exist"):
        DocumentJob(source, JobOptions("de", "en", output=tmp_path / "missing" / "x.txt"))
    with pytest.raises(DocumentError, match="unsupported file type '.exe'"):
        DocumentJob(tmp_path / "x.exe", JobOptions("de", "en"))


def test_the_memory_is_asked_once_per_distinct_segment(tmp_path, default_gguf):
    memory = CountingMemory(tmp_path / "memory.sqlite3")
    sentences = ["Das Haus ist groß.", "Ich habe einen Hund.", "Der Zug fährt ab."]
    memory.add_many([(s, f"[{i}] remembered") for i, s in enumerate(sentences)], "de", "en")
    source = tmp_path / "brief.de.txt"
    # Each sentence a paragraph of its own, the first one twice.
    source.write_text("\n\n".join([*sentences, sentences[0]]) + "\n", encoding="utf-8")
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=12, cache=False, memory=memory)
    written = DocumentJob(source, JobOptions("de", "en", batch=4)).run(engine)
    assert sorted(memory.asked) == sorted(sentences), memory.asked  # not once to scan and again to write
    assert written.read_text(encoding="utf-8").split("\n\n") == [
        "[0] remembered", "[1] remembered", "[2] remembered", "[0] remembered\n"]


def test_text_and_streams_give_the_bytes_files_give(tmp_path, engine):
    html = (SAMPLES / "sample.de.html").read_text(encoding="utf-8")
    source = tmp_path / "page.de.html"
    source.write_text(html, encoding="utf-8", newline="")
    written = DocumentJob(source, JobOptions("de", "en", batch=1)).run(engine)

    out = io.BytesIO()
    job = DocumentJob(TextSource(html, "q", ".html"), JobOptions("de", "en", batch=1))
    assert job.output_path is None
    assert job.run(engine, out) is None
    assert out.getvalue() == written.read_bytes()

    streamed = io.BytesIO()
    assert DocumentJob(source, JobOptions("de", "en", batch=1)).run(engine, streamed) is None
    assert streamed.getvalue() == written.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.de.html", "page.en.html"]  # nothing else written


def test_a_failed_run_leaves_the_earlier_translation_and_no_stream_output(tmp_path, engine):
    source = tmp_path / "brief.de.txt"
    source.write_text("Das Haus ist groß.\n\nIch habe einen Hund.\n", encoding="utf-8")
    earlier = tmp_path / "brief.en.txt"
    earlier.write_text("earlier\n", encoding="utf-8")
    calls = 0

    def cancel() -> bool:
        nonlocal calls
        calls += 1
        return calls > 3

    from desktop.documents import TranslationCancelled

    with pytest.raises(TranslationCancelled):
        DocumentJob(source, JobOptions("de", "en", batch=1, cancel=cancel)).run(engine)
    assert earlier.read_text(encoding="utf-8") == "earlier\n"
    out = io.BytesIO()
    calls = 0
    with pytest.raises(TranslationCancelled):
        DocumentJob(source, JobOptions("de", "en", batch=1, cancel=cancel)).run(engine, out)
    assert out.getvalue() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brief.de.txt", "brief.en.txt"]
