"""XLIFF 1.2 and 2.0 round trips through alma-translate with a real model.

The samples (tests/data/xliff) have the shape CAT tools write: Okapi-style 1.2 with <g>, <x/>, <bx/>/<ex/>,
<bpt>/<ept>, <ph>, groups, notes, a pre-filled target and a translate="no" unit; a 2.0 file with
<originalData>, <pc>, <ph/>, <sc/>/<ec/>, several segments in a unit, an <ignorable>, notes and a final
target. Checked: valid XML, every untranslated unit gets a target marked as machine translation, inline
codes kept (same elements, same attributes, same nesting), pre-filled targets untouched (replaced with
--overwrite), sources and the input file untouched, language mismatches and hostile XML refused with
exit 2 and a message naming the file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "xliff"
NS12 = {"x": "urn:oasis:names:tc:xliff:document:1.2"}
NS20 = {"x": "urn:oasis:names:tc:xliff:document:2.0"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("xliff-data")


def run_cli(*args: str, data_dir: Path, model: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ALMA_LOCAL_DATA": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", "-m", str(model), "--max-new-tokens", "16", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800,
    )


def copy_sample(name: str, folder: Path) -> Path:
    target = folder / name
    shutil.copyfile(SAMPLES / name, target)
    return target


def codes(element) -> list[tuple]:
    """The inline code elements under a source/target: (name, attributes, text of native code, parent's name)."""
    found = []
    for child in element.iter():
        if child is element or not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        parent = etree.QName(child.getparent()).localname
        native = child.text if name in ("bpt", "ept", "ph", "it") else None
        found.append((name, tuple(sorted(child.attrib.items())), native, parent))
    return sorted(found)


def source_xml(element) -> bytes:
    """The element as written, without the whitespace after it (a new target goes there)."""
    return etree.tostring(element, with_tail=False)


def text_of(element) -> str:
    return "".join(element.itertext())


@pytest.fixture(scope="module")
def both_versions(tmp_path_factory, data_dir, default_gguf):
    """One alma-translate run over both samples (one model load for the two round trips)."""
    folder = tmp_path_factory.mktemp("xliff")
    sources = [copy_sample("manual.de.xlf", folder), copy_sample("app.de.xlf", folder)]
    result = run_cli("--from", "de", "--to", "en", *map(str, sources), data_dir=data_dir, model=default_gguf)
    return folder, result


@pytest.fixture(scope="module")
def xliff12(both_versions):
    folder, result = both_versions
    return folder / "manual.de.xlf", folder / "manual.en.xlf", result


@pytest.fixture(scope="module")
def engine(default_gguf):
    """The same model in this process, for the error cases (they fail before any translation)."""
    from desktop.engine import TranslationEngine

    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=32, cache=False)
    yield engine
    engine.close()


def test_xliff12_every_empty_unit_gets_a_target_marked_as_mt(xliff12):
    source, output, result = xliff12
    assert result.returncode == 0, result.stderr
    assert source.read_bytes() == (SAMPLES / "manual.de.xlf").read_bytes()
    root = etree.parse(str(output)).getroot()  # valid XML
    before = etree.parse(str(SAMPLES / "manual.de.xlf")).getroot()
    units = {u.get("id"): u for u in root.iterfind(".//x:trans-unit", NS12)}
    originals = {u.get("id"): u for u in before.iterfind(".//x:trans-unit", NS12)}
    assert set(units) == set(originals)
    for unit_id in ("1", "2", "3", "4", "5", "8"):
        target = units[unit_id].find("x:target", NS12)
        assert target is not None, unit_id
        assert target.get("state") == "needs-review-translation", unit_id
        assert target.get("state-qualifier") == "mt-suggestion", unit_id
        assert target.get("{http://www.w3.org/XML/1998/namespace}lang") == "en-US"
        assert any(ch.isalpha() for ch in text_of(target)), unit_id
        # the target follows its source, as XLIFF 1.2 orders them
        assert units[unit_id].index(target) == units[unit_id].index(units[unit_id].find("x:source", NS12)) + 1
    for unit_id, unit in units.items():  # sources byte for byte
        assert source_xml(unit.find("x:source", NS12)) == source_xml(originals[unit_id].find("x:source", NS12))
    # the pre-filled target and the translate="no" unit are left alone
    assert etree.tostring(units["6"]) == etree.tostring(originals["6"])
    assert units["7"].find("x:target", NS12) is None
    # notes and header survive
    assert root.find(".//x:header/x:note", NS12).text.startswith("Prepared for translation")
    assert units["8"].find("x:note", NS12).text == "Pet owner's profile page"


def test_xliff12_inline_codes_are_carried_into_the_target(xliff12):
    _, output, result = xliff12
    assert result.returncode == 0, result.stderr
    root = etree.parse(str(output)).getroot()
    for unit in root.iterfind(".//x:trans-unit", NS12):
        target = unit.find("x:target", NS12)
        if target is None or unit.get("id") == "6":
            continue
        source_codes = [(n, a, t, "target" if p == "source" else p) for n, a, t, p in codes(unit.find("x:source", NS12))]
        assert codes(target) == sorted(source_codes), unit.get("id")
    # begin/end pairs stay in order
    for unit_id, (start, end) in {"3": ("bpt", "ept"), "5": ("bx", "ex")}.items():
        target = root.find(f".//x:trans-unit[@id='{unit_id}']/x:target", NS12)
        names = [etree.QName(c).localname for c in target]
        assert names.index(start) < names.index(end), names


@pytest.fixture(scope="module")
def xliff20(both_versions):
    folder, result = both_versions
    return folder / "app.de.xlf", folder / "app.en.xlf", result


def test_xliff20_segments_get_targets_state_initial_and_a_note(xliff20, default_gguf):
    source, output, result = xliff20
    assert result.returncode == 0, result.stderr
    assert source.read_bytes() == (SAMPLES / "app.de.xlf").read_bytes()
    root = etree.parse(str(output)).getroot()
    before = etree.parse(str(SAMPLES / "app.de.xlf")).getroot()
    assert root.get("srcLang") == "de" and root.get("trgLang") == "en"
    originals = {s.get("id"): s for s in before.iterfind(".//x:segment", NS20)}
    segments = {s.get("id"): s for s in root.iterfind(".//x:segment", NS20)}
    assert set(segments) == set(originals)
    for segment_id in ("s1", "s2", "s3", "s4", "s6a", "s6b"):
        segment = segments[segment_id]
        target = segment.find("x:target", NS20)
        assert segment.get("state") == "initial", segment_id
        assert target is not None and any(ch.isalpha() for ch in text_of(target)), segment_id
        assert source_xml(segment.find("x:source", NS20)) == source_xml(originals[segment_id].find("x:source", NS20))
        source_codes = [(n, a, t, "target" if p == "source" else p) for n, a, t, p in codes(segment.find("x:source", NS20))]
        assert codes(target) == sorted(source_codes), segment_id
        unit = segment.getparent()
        notes = unit.find("x:notes", NS20)
        mt_notes = [n for n in notes.iterfind("x:note", NS20) if n.get("category") == "alma-local"]
        assert len(mt_notes) == 1, segment_id
        assert "alma-local" in mt_notes[0].text and default_gguf.name in mt_notes[0].text
        # XLIFF 2.0 orders a unit's children: notes, originalData, segments
        names = [etree.QName(c).localname for c in unit if isinstance(c.tag, str)]
        assert names.index("notes") == 0, names
    # sc/ec stay in order
    names = [etree.QName(c).localname for c in segments["s4"].find("x:target", NS20)]
    assert names == ["sc", "ec"]
    # the final segment with its target, and the translate="no" unit, are untouched
    assert etree.tostring(segments["s5"].getparent()) == etree.tostring(originals["s5"].getparent())
    assert etree.tostring(segments["s7"].getparent()) == etree.tostring(originals["s7"].getparent())


def test_overwrite_replaces_existing_targets(tmp_path, data_dir, default_gguf):
    source = copy_sample("manual.de.xlf", tmp_path)
    result = run_cli("--from", "de", "--to", "en", "--overwrite", str(source), data_dir=data_dir, model=default_gguf)
    assert result.returncode == 0, result.stderr
    root = etree.parse(str(tmp_path / "manual.en.xlf")).getroot()
    target = root.find(".//x:trans-unit[@id='6']/x:target", NS12)
    assert target.get("state") == "needs-review-translation" and target.get("state-qualifier") == "mt-suggestion"
    assert len(root.findall(".//x:trans-unit[@id='6']/x:target", NS12)) == 1
    assert root.find(".//x:trans-unit[@id='7']/x:target", NS12) is None  # translate="no" still skipped


def test_language_mismatch_exits_2_naming_file_and_attribute(tmp_path, data_dir, default_gguf):
    source = copy_sample("manual.de.xlf", tmp_path)
    result = run_cli("--from", "en", "--to", "de", str(source), data_dir=data_dir, model=default_gguf)
    assert result.returncode == 2, result.stderr
    assert str(source) in result.stderr, result.stderr
    assert 'source-language="de-DE" does not match --from en' in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manual.de.xlf"]  # nothing written


@pytest.mark.parametrize(("sample", "src", "tgt", "message"), [
    ("manual.de.xlf", "de", "fr", '<file original=\'handbuch.html\'> target-language="en-US" does not match --to fr'),
    ("app.de.xlf", "cs", "en", '<xliff> srcLang="de" does not match --from cs'),
    ("app.de.xlf", "de", "ru", '<xliff> trgLang="en" does not match --to ru'),
])
def test_every_language_attribute_is_checked(tmp_path, engine, sample, src, tgt, message):
    from desktop.documents import DocumentError, DocumentJob, JobOptions

    source = copy_sample(sample, tmp_path)
    with pytest.raises(DocumentError) as caught:
        DocumentJob(source, JobOptions(src, tgt)).run(engine)
    assert str(caught.value).startswith(f"{source}: ") and message in str(caught.value), caught.value
    assert sorted(p.name for p in tmp_path.iterdir()) == [sample]


def test_regional_variants_match_their_language(tmp_path, engine):
    from desktop.documents.xliff_format import XliffFormat

    source = copy_sample("manual.de.xlf", tmp_path)  # de-DE -> en-US
    assert list(XliffFormat().configured("de", "en").segments(source))


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xliff [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">
  <file original="a.txt" source-language="de" datatype="plaintext"><body>
    <trans-unit id="1"><source>Das Haus &lol9;</source></trans-unit>
  </body></file>
</xliff>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE xliff [ <!ENTITY secret SYSTEM "file://{secret}"> ]>
<xliff version="2.0" xmlns="urn:oasis:names:tc:xliff:document:2.0" srcLang="de" trgLang="en">
  <file id="f1"><unit id="u1"><segment><source>Das Geheimnis: &secret;</source></segment></unit></file>
</xliff>
"""


def hostile_file(folder: Path, kind: str) -> Path:
    secret = folder / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE\n")
    source = folder / "hostile.de.xlf"
    source.write_text({
        "billion-laughs": BILLION_LAUGHS,
        "xxe": XXE.format(secret=secret),
        "malformed": (SAMPLES / "app.de.xlf").read_text().replace("</unit>", "</segment>", 1),
        "not-xliff": '<?xml version="1.0"?><html><body>Hallo</body></html>',
        "no-file": '<?xml version="1.0"?><xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2"/>',
    }[kind])
    return source


EXPECTED = {"billion-laughs": "declares XML entities", "xxe": "declares XML entities",
            "malformed": "not well-formed XML", "not-xliff": "not <xliff>", "no-file": "not a readable XLIFF file"}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_hostile_and_broken_xliff_is_refused(tmp_path, engine, kind):
    from desktop.documents import DocumentError, DocumentJob, JobOptions

    source = hostile_file(tmp_path, kind)
    with pytest.raises(DocumentError) as caught:
        DocumentJob(source, JobOptions("de", "en")).run(engine)
    message = str(caught.value)
    assert message.startswith(f"{source}: ") and EXPECTED[kind] in message, message
    assert "TOP-SECRET-VALUE" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.de.xlf", "secret.txt"]


def test_an_entity_attack_through_the_cli_exits_2(tmp_path, data_dir, default_gguf):
    source = hostile_file(tmp_path, "xxe")
    result = run_cli("--from", "de", "--to", "en", str(source), data_dir=data_dir, model=default_gguf)
    assert result.returncode == 2, result.stderr
    assert str(source) in result.stderr and "declares XML entities" in result.stderr
    assert "Traceback" not in result.stderr and "TOP-SECRET-VALUE" not in result.stderr + result.stdout


def test_an_oversized_xliff_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from alma_core import safe_xml

    source = copy_sample("app.de.xlf", tmp_path)
    with pytest.raises(safe_xml.UnsafeXMLError, match="the limit for an XLIFF file is"):
        safe_xml.read_checked(source, "XLIFF file", max_bytes=100)
