"""Segmented XLIFF 1.2 and SDLXLIFF from real tools (Okapi's test files, tests/data/xliff/README.md) through
DocumentJob and alma-translate with the real fast model.

Checked: one model sentence per `<mrk mtype="seg">` of `<seg-source>`; targets written with the same segment
markers (same mid, same codes around them) in the schema's order (source, seg-source, target), valid against
the OASIS XLIFF 1.2 schema before and after; targets holding only empty markers count as untranslated;
segments translated already are kept (unless --overwrite), SDL-locked ones always; SDLXLIFF's sdl:seg-defs
say which segments are machine translation; every byte outside the targets (and the sdl:seg marks) kept.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from desktop.documents import DocumentError, DocumentJob, JobOptions
from desktop.engine import TranslationEngine

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "xliff"
NS = {"x": "urn:oasis:names:tc:xliff:document:1.2", "sdl": "http://sdl.com/FileTypes/SdlXliff/1.0"}
SEG_TEST = DATA / "okapi" / "qualitycheck-Test01.xlf"
SDL_NEW = DATA / "okapi" / "okapi_intro_test15977.sdlxliff"
SDL_DONE = DATA / "okapi" / "test.txt_en-US_fr-FR.sdlxliff"
SDL_CODE_OUTSIDE = ROOT / "tests" / "data" / "corpus" / "xliff-segmented" / "TS09-12-Test01.sdlxliff"


@pytest.fixture(scope="module")
def engine(default_gguf) -> TranslationEngine:
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=12, cache=False)
    yield engine
    engine.close()


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATA / "schema" / name)))


STRICT = schema("xliff-core-1.2-strict.xsd")
TRANSITIONAL = schema("xliff-core-1.2-transitional.xsd")  # SDLXLIFF's sdl: elements need its lax wildcards


def assert_valid(xsd: etree.XMLSchema, path: Path) -> None:
    assert xsd.validate(etree.parse(str(path))), f"{path}: {xsd.error_log}"


def translate(source: Path, folder: Path, engine, src: str, tgt: str, overwrite: bool = False):
    copy = folder / source.name
    shutil.copyfile(source, copy)
    pairs: list[tuple[str, str]] = []
    job = DocumentJob(copy, JobOptions(src, tgt, overwrite=overwrite, pairs=lambda s, t: pairs.append((s, t))))
    output = job.run(engine)
    assert copy.read_bytes() == source.read_bytes()
    return output, [source_text for source_text, _ in pairs]


def units(path: Path) -> dict[str, etree._Element]:
    return {unit.get("id"): unit for unit in etree.parse(str(path)).iterfind(".//x:trans-unit", NS)}


def children(unit) -> list[str]:
    return [etree.QName(child).localname for child in unit if isinstance(child.tag, str)]


def markers(element) -> list[etree._Element]:
    return [m for m in element.iter(f"{{{NS['x']}}}mrk") if m.get("mtype") == "seg"]


def text(element) -> str:
    return "".join(element.itertext()).strip()


def skeleton(element) -> list[tuple]:
    """The element's inline structure: every descendant element's name, attributes and parent."""
    return [(etree.QName(e).localname, sorted(e.attrib.items()), etree.QName(e.getparent()).localname)
            for e in element.iter() if e is not element and isinstance(e.tag, str)]


def without_changes(data: bytes) -> bytes:
    """The bytes with every <target> (and the whitespace before it) cut and the sdl:seg tags' attributes
    cut: what must be left exactly as it was."""
    data = re.sub(rb"\s*<target\b[^>]*?(/>|>.*?</target>)", b"", data, flags=re.S)
    return re.sub(rb"<sdl:seg\b[^>]*?(/?)>", rb"<sdl:seg\1>", data)


def test_segmented_xliff_is_translated_segment_by_segment_and_stays_valid(tmp_path, engine):
    assert_valid(STRICT, SEG_TEST)
    output, sent = translate(SEG_TEST, tmp_path, engine, "en", "fr")
    assert_valid(STRICT, output)
    # one model sentence per segment to fill: unit 1 whole (no seg-source), unit 2's two segments, unit
    # 3's second segment (a copy of its source), unit 6 (a target copied from its source)
    assert sent == ["Sentence 1© of p1. Sentence 2 p1.", "Sentence 1© of p2.", "Sentence 2 p2.",
                    "Sentence 2 p3.", "Sentence 1 of p6 ."]  # (pairs have no inline codes)
    before, after = units(SEG_TEST), units(output)
    unit = after["2"]  # seg-source and no target: the target comes after the seg-source
    assert children(unit) == ["source", "seg-source", "target"]
    target = unit.find("x:target", NS)
    assert [m.get("mid") for m in markers(target)] == ["s1", "s2"]
    assert all(text(m) for m in markers(target))
    assert target.get("state") == "needs-review-translation" and target.get("state-qualifier") == "mt-suggestion"
    assert markers(target)[0].tail == " "  # the space between the segments, as in the seg-source
    kept, filled = markers(after["3"].find("x:target", NS))
    assert etree.tostring(kept) == etree.tostring(markers(before["3"].find("x:target", NS))[0])  # translated: kept
    assert filled.get("mid") == "s2" and text(filled)
    for unit_id in ("4", "5", "7", "pre1"):  # translated already (5: its segments in another order)
        assert etree.tostring(after[unit_id]) == etree.tostring(before[unit_id]), unit_id
    assert without_changes(output.read_bytes()) == without_changes(SEG_TEST.read_bytes())


def test_sdlxliff_empty_markers_are_untranslated_and_filled_in_place(tmp_path, engine):
    assert_valid(TRANSITIONAL, SDL_NEW)
    job = DocumentJob(SDL_NEW, JobOptions("en", "es", output=tmp_path))
    assert job.count() == 15  # every <target><mrk mtype="seg" mid=".."/></target> is a segment to translate
    output, sent = translate(SDL_NEW, tmp_path, engine, "en", "es")
    assert output.name == "okapi_intro_test15977.es.sdlxliff"
    assert_valid(TRANSITIONAL, output)
    assert sent[:3] == ["Okapi Framework", "Introduction", "Downloads"]
    before, after = units(SDL_NEW), units(output)
    translated = 0
    for unit_id, unit in after.items():
        old = before[unit_id]
        if not markers(old.find("x:seg-source", NS) if old.find("x:seg-source", NS) is not None else old):
            # translate="no" units, and one whose seg-source is only an image code: as they were
            assert etree.tostring(unit) == etree.tostring(old), unit_id
            continue
        translated += 1
        target, old_target = unit.find("x:target", NS), old.find("x:target", NS)
        assert children(unit) == children(old) == ["source", "seg-source", "target", "seg-defs"], unit_id
        # the seg-source's markers and codes, as the target had them (<g id="13"><mrk mtype="seg" mid="2"/></g>)
        segmented = [(name, attributes, "target" if parent == "seg-source" else parent)
                     for name, attributes, parent in skeleton(unit.find("x:seg-source", NS))]
        assert skeleton(target) == segmented, unit_id
        assert [m.get("mid") for m in markers(target)] == [m.get("mid") for m in markers(old_target)], unit_id
        assert all(text(m) for m in markers(target)), unit_id
        assert target.attrib == old_target.attrib  # Trados keeps a segment's status in sdl:seg, not here
        for marker in markers(target):
            seg = unit.find(f"sdl:seg-defs/sdl:seg[@id='{marker.get('mid')}']", NS)
            assert (seg.get("conf"), seg.get("origin"), seg.get("origin-system")) == ("Draft", "mt", "alma-local")
            assert seg.get("locked") == "false"  # what else the seg said is kept
    assert translated == 15
    assert without_changes(output.read_bytes()) == without_changes(SDL_NEW.read_bytes())


def test_empty_segment_markers_count_as_untranslated_whatever_the_suffix(tmp_path):
    # the same Trados file saved as .xlf (what many project tools export): its 15 segments, not "all
    # translated already" because every target holds markers
    copy = tmp_path / "okapi_intro_test15977.xlf"
    shutil.copyfile(SDL_NEW, copy)
    assert DocumentJob(copy, JobOptions("en", "es")).count() == 15


def codes(element) -> Counter:
    """The inline codes under an element (not the segment markers): (name, id) each."""
    return Counter((etree.QName(e).localname, e.get("id")) for e in element.iter()
                   if e is not element and isinstance(e.tag, str) and etree.QName(e).localname != "mrk")


def test_a_code_the_target_has_outside_its_marker_is_not_written_again_inside(tmp_path, engine):
    # Trados wrote <seg-source><mrk mid="7"><x id="ph8"/>Allow ...</mrk></seg-source> but the target's skeleton
    # <target><x id="ph8"/><mrk mid="7"/></target>: the marker's translation must not bring a second ph8
    output, _ = translate(SDL_CODE_OUTSIDE, tmp_path, engine, "en", "de")
    assert_valid(TRANSITIONAL, output)
    before, after = units(SDL_CODE_OUTSIDE), units(output)
    for unit_id, unit in after.items():
        seg_source = unit.find("x:seg-source", NS)
        if seg_source is not None and unit.get("translate") != "no":
            assert codes(unit.find("x:target", NS)) == codes(seg_source), unit_id
    target = after["39ea2034-d742-4e74-a5c1-884c1e908393"].find("x:target", NS)
    marker = markers(target)[0]
    assert [etree.QName(e).localname for e in target] == ["x", "mrk"] and len(marker) == 0 and text(marker)
    old = before["39ea2034-d742-4e74-a5c1-884c1e908393"].find("x:target", NS)
    assert target[0].get("id") == old[0].get("id") == "ph8"


def test_a_translated_sdlxliff_is_refused_and_overwrite_keeps_the_locked_segment(tmp_path, engine):
    copy = tmp_path / SDL_DONE.name
    shutil.copyfile(SDL_DONE, copy)
    job = DocumentJob(copy, JobOptions("en", "fr"))
    with pytest.raises(DocumentError) as caught:
        job.run(engine)
    assert str(caught.value) == (f"{copy}: 1 unit is translated already (use --overwrite to translate it "
                                 'again); the other 2 units are marked translate="no"')
    output, sent = translate(SDL_DONE, tmp_path, engine, "en", "fr", overwrite=True)
    assert sent == ["First sentence.", "Second longer sentence.", "Followed by a third one.", "And CM match."]
    assert_valid(TRANSITIONAL, output)
    unit = units(output)["0414250d-cb61-4ed9-9a07-ad2e7587498a"]
    by_mid = {m.get("mid"): m for m in markers(unit.find("x:target", NS))}
    assert by_mid["4"].text == "Modifier "  # locked="true" in its sdl:seg: never replaced
    assert unit.find("sdl:seg-defs/sdl:seg[@id='4']", NS).get("conf") == "ApprovedSignOff"
    for mid in ("1", "2", "3", "5"):
        seg = unit.find(f"sdl:seg-defs/sdl:seg[@id='{mid}']", NS)
        assert (seg.get("conf"), seg.get("origin")) == ("Draft", "mt"), mid
        assert seg.get("percent") is None  # the earlier TM match's score no longer describes it


def test_alma_translate_translates_a_trados_file(tmp_path, default_gguf):
    source = tmp_path / SDL_NEW.name
    shutil.copyfile(SDL_NEW, source)
    env = {**os.environ, "ALMA_LOCAL_DATA": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "-m", str(default_gguf), "--max-new-tokens", "12",
         "--from", "en", "--to", "es", str(source)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
    assert result.returncode == 0, result.stderr
    output = tmp_path / "okapi_intro_test15977.es.sdlxliff"
    assert_valid(TRANSITIONAL, output)
    segmented = [unit.find("x:target", NS) for unit in units(output).values() if markers(unit)]
    assert len(segmented) == 15 and all(text(m) for t in segmented for m in markers(t))
    # again: now every segment is translated, and the file says so
    again = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "-m", str(default_gguf), "--from", "en", "--to", "es", str(output)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
    assert again.returncode == 2, again.stderr
    assert "15 units are translated already (use --overwrite to translate them again)" in again.stderr
    assert "Traceback" not in again.stderr
