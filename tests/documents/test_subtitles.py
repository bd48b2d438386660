"""Subtitles translated for real (the fast model, DocumentJob and the CLI): every cue's identifier, timing and
settings, its markup and its line count kept, NOTE/STYLE/REGION blocks and the bytes around the text too.

The files in tests/documents/subtitles/ were written for these tests (no network here to fetch a subtitle
library's samples), modelled on the examples of the WebVTT spec (https://www.w3.org/TR/webvtt1/) and on
SRT as players read it; see subtitles/README.md. The output is read back with the small parser below,
written from the spec's block-collection rules, independent of desktop/documents/subtitle_format.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop.documents import DocumentJob, JobOptions
from desktop.documents.inline_markup import TaggedText, translate_tagged
from desktop.documents.subtitle_format import SubtitleFormat
from desktop.engine import TranslationEngine
from desktop.stores.cache import TranslationCache

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "subtitles"
TIMING = re.compile(r"^(?:\d+:)?\d{2}:\d{2}[.,]\d{3} --> (?:\d+:)?\d{2}:\d{2}[.,]\d{3}")
MARKUP = re.compile(r"<[^<>]*>|\{\\[^{}]*\}")
KARAOKE = re.compile(r"<((?:\d+:)?\d{2}:\d{2}\.\d{3})>")


@dataclass
class Cue:
    identifier: str | None
    timing: str
    lines: list[str]


@dataclass
class Parsed:
    header: list[str]
    blocks: list[list[str]]  # NOTE, STYLE, REGION: every line
    cues: list[Cue]


def parse_subtitles(text: str, webvtt: bool) -> Parsed:
    """Blocks as the WebVTT parser collects them: an empty line ends a block, so does a line with "-->"
    that is not the block's first (or second, after an identifier) line; SRT alike, where a cue number just
    before such a line belongs to the next cue."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    header: list[str] = []
    if webvtt:
        assert lines[0].startswith("WEBVTT")
        while lines and lines[0] and "-->" not in lines[0]:
            header.append(lines.pop(0))
    raw: list[list[str]] = []
    block: list[str] = []
    for line in lines:
        if (line == "") if webvtt else not line.strip():
            if block:
                raw.append(block)
            block = []
            continue
        arrow = "-->" in line
        if arrow and block and not (len(block) == 1 and "-->" not in block[0]):
            carried = [block.pop()] if not webvtt and block[-1].strip().isdigit() else []
            raw.append(block)
            block = carried
        block.append(line)
    if block:
        raw.append(block)
    parsed = Parsed(header, [], [])
    for block in raw:
        at = next((i for i, line in enumerate(block[:2]) if TIMING.match(line)), None)
        if at is None:
            parsed.blocks.append(block)
        else:
            parsed.cues.append(Cue(block[0] if at else None, block[at], block[at + 1:]))
    return parsed


def check_structure(source: Path, output: Path) -> tuple[Parsed, Parsed]:
    """Everything but the cue text as in the source, cue by cue; returns both parsed files."""
    src_bytes, out_bytes = source.read_bytes(), output.read_bytes()
    webvtt = source.suffix == ".vtt"
    src = parse_subtitles(src_bytes.decode("utf-8"), webvtt)
    out = parse_subtitles(out_bytes.decode("utf-8"), webvtt)
    assert out.header == src.header
    assert out.blocks == src.blocks  # NOTE, STYLE and REGION blocks line for line
    assert [(c.identifier, c.timing) for c in out.cues] == [(c.identifier, c.timing) for c in src.cues]
    for a, b in zip(src.cues, out.cues, strict=True):
        assert len(b.lines) == len(a.lines), (a, b)
        assert Counter(MARKUP.findall(" ".join(b.lines))) == Counter(MARKUP.findall(" ".join(a.lines))), (a, b)
        stamps = KARAOKE.findall(" ".join(b.lines))
        assert stamps == sorted(stamps), b  # karaoke timestamps still increase
    # The bytes around the text: byte order mark, line endings, final newline.
    assert out_bytes.startswith(b"\xef\xbb\xbf") == src_bytes.startswith(b"\xef\xbb\xbf")
    assert out_bytes.count(b"\r\n") == src_bytes.count(b"\r\n")
    assert out_bytes.count(b"\n") == src_bytes.count(b"\n")
    assert out_bytes.endswith(b"\n") == src_bytes.endswith(b"\n")
    return src, out


def translated_share(src: Parsed, out: Parsed) -> float:
    changed = sum(a.lines != b.lines for a, b in zip(src.cues, out.cues, strict=True))
    return changed / len(src.cues)


@pytest.fixture(scope="module")
def engine(default_gguf, tmp_path_factory) -> TranslationEngine:
    cache = TranslationCache(tmp_path_factory.mktemp("subtitle-cache") / "cache.sqlite3")
    return TranslationEngine(default_gguf, n_threads=2, max_new_tokens=24, cache=cache)


def copy(name: str, tmp_path: Path) -> Path:
    path = tmp_path / name
    shutil.copyfile(DATA / name, path)
    return path


def test_webvtt_keeps_blocks_cues_settings_markup_and_lines(engine, tmp_path):
    source = copy("interview.de.vtt", tmp_path)
    out = DocumentJob(source, JobOptions("de", "en")).run(engine)
    src, result = check_structure(source, out)
    assert len(src.cues) == 8 and len(src.blocks) == 5  # two cues follow others without an empty line
    assert translated_share(src, result) >= 0.75
    assert "<v Roger Bingham>" in result.cues[0].lines[0]  # a voice without its end tag stays in front


def test_srt_keeps_numbers_timing_markup_lines_bom_and_crlf(engine, tmp_path):
    source = copy("station.de.srt", tmp_path)
    out = DocumentJob(source, JobOptions("de", "en")).run(engine)
    src, result = check_structure(source, out)
    assert [c.identifier for c in result.cues] == ["1", "2", "3", "4", "5"]
    assert translated_share(src, result) >= 0.8
    # The dialogue cue keeps one speaker per line.
    assert all(line.startswith("- ") for line in result.cues[2].lines)


def test_the_cli_translates_a_webvtt_file_keeping_its_structure(tmp_path):
    source = copy("interview.de.vtt", tmp_path)
    target = tmp_path / "interview.en.vtt"
    env = {**os.environ, "ALMA_LOCAL_DATA": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "--max-new-tokens", "24", "--from", "de", "--to", "en",
         str(source), "-o", str(target)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    src, out = check_structure(source, target)
    assert translated_share(src, out) >= 0.75


# -- the reading and the writing, with a stand-in translator (no model: the rules themselves) -----------

def _write(text: str, translate) -> str:
    pieces = []
    for piece in SubtitleFormat().pieces(text.splitlines(keepends=True)):
        if isinstance(piece, str):
            pieces.append(piece)
        elif isinstance(piece.text, TaggedText):
            pieces.append(piece.written(translate_tagged(piece.text, translate, piece.text.names).text))
        else:
            pieces.append(piece.written(translate(piece.text)))
    return "".join(pieces)


def test_a_timing_line_starts_a_cue_without_an_empty_line_before_it():
    vtt = "WEBVTT\n\n00:01.000 --> 00:02.000\nerste Zeile\n00:02.000 --> 00:03.000 align:end\nzweite Zeile\n"
    assert _write(vtt, str.upper) == (
        "WEBVTT\n\n00:01.000 --> 00:02.000\nERSTE ZEILE\n00:02.000 --> 00:03.000 align:end\nZWEITE ZEILE\n")
    srt = "1\n00:00:01,000 --> 00:00:02,000\nerste Zeile\n2\n00:00:02,000 --> 00:00:03,000\nzweite\n"
    assert _write(srt, str.upper) == (
        "1\n00:00:01,000 --> 00:00:02,000\nERSTE ZEILE\n2\n00:00:02,000 --> 00:00:03,000\nZWEITE\n")


def test_lines_are_rebroken_at_the_sources_proportions():
    # A long first line and a short second: the break stays near the same share of the text.
    srt = "1\n00:00:01,000 --> 00:00:02,000\naaaa bbbb cccc dddd eeee\nffff\n"
    result = _write(srt, lambda text: "one two three four five six seven eight nine ten")
    assert result.endswith("\none two three four five six seven eight\nnine ten\n")


def test_a_cue_keeps_its_line_count_whenever_the_translation_has_a_word_for_each_line():
    # Short translations (a small model, a low token cap) still fill every line; only a translation with
    # fewer words than lines gets fewer lines, one word each (an empty line would end the cue).
    srt = "1\n00:00:01,000 --> 00:00:02,000\nMAN:\nHow did we end\nup here?\n"
    assert _write(srt, lambda text: "Wie kamen wir her?").endswith("\nWie\nkamen wir\nher?\n")
    assert _write(srt, lambda text: "Wie nur?").endswith("\nWie\nnur?\n")
    assert _write(srt, lambda text: "Wie?").endswith("\nWie?\n")


def test_a_tag_whose_name_holds_an_underscore_is_a_tag():
    # capability_tester.srt (corpus): "<invalid_tag>...</invalid_tag>" went to the model as words and was lost.
    seen = []
    srt = "1\n00:00:01,000 --> 00:00:02,000\n<invalid_tag>verborgener Text</invalid_tag>\n"
    result = _write(srt, lambda text: seen.append(text) or text.upper())
    assert "invalid_tag" not in seen[0]
    assert result.endswith("\n<invalid_tag>VERBORGENER TEXT</invalid_tag>\n")


def test_the_model_never_sees_entities_and_an_ampersand_is_escaped_again():
    seen = []
    vtt = "WEBVTT\n\n00:01.000 --> 00:02.000\nTom &amp; Jerry &lt;3\n"
    result = _write(vtt, lambda text: seen.append(text) or text)
    assert seen == ["Tom & Jerry <3"]
    assert result.endswith("\nTom &amp; Jerry &lt;3\n")
