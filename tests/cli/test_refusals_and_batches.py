"""Refusals that say what is true, and batches where one bad file does not stop the others (real CLI).

The bilingual files are made by real tools from real catalogs: translate-toolkit's po2xliff turns a slice
of Django's German catalog (every message translated by Django's translators) into XLIFF; an Okapi
Rainbow-style kit of it has its targets pre-filled with copies of the sources, or marked
state="new"/"needs-translation"; the XLIFF 2.0 sample of tests/data/xliff gets the same copies.
Checked: "all N units are translated already (use --overwrite ...)" instead of "nothing to translate",
targets that copy their source or whose state asks for a translation translated, states that say
"translated" respected; in a batch each refused file is one error line naming it, the rest are
written, the exit code is 2; argument errors still stop the run before any file.
"""

from __future__ import annotations

import copy
import io
import os
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
XLIFF_SAMPLES = ROOT / "tests" / "data" / "xliff"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NS20 = {"x": "urn:oasis:names:tc:xliff:document:2.0"}


def run_cli(*args: str, data_dir: Path, model: Path | str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ALMA_LOCAL_DATA": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", "-m", str(model), "--max-new-tokens", "12", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )


def errors(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("alma-translate: error: ")]


def django_german_catalog(path: Path) -> polib.POFile:
    """Five messages of Django's German catalog, all translated (one with plural forms), saved to path."""
    import django

    full = polib.pofile(str(Path(django.__file__).parent / "conf/locale/de/LC_MESSAGES/django.po"))
    live = [entry for entry in full if not entry.obsolete]
    catalog = polib.POFile()
    catalog.metadata = full.metadata
    for entry in [e for e in live if e.msgstr and not e.msgid_plural and len(e.msgid) < 30][:4] + \
            [next(e for e in live if e.msgid_plural and all(e.msgstr_plural.values()))]:
        catalog.append(entry)
    catalog.save(str(path))
    return catalog


def po2xliff(po_path: Path, xliff_path: Path) -> etree._ElementTree:
    """translate-toolkit's po2xliff, as a localisation pipeline runs it."""
    from translate.convert import po2xliff as convert

    out = io.BytesIO()
    with po_path.open("rb") as handle:
        convert.convertpo(handle, out, None)
    xliff_path.write_bytes(out.getvalue())
    return etree.parse(str(xliff_path))


def trans_units(tree) -> list:
    return [element for element in tree.iter() if etree.QName(element).localname == "trans-unit"]


def child(element, name: str):
    return next(c for c in element if isinstance(c.tag, str) and etree.QName(c).localname == name)


def rainbow_kit(translated: Path, kit: Path) -> dict[str, str]:
    """The translated XLIFF as a kit to translate: targets copied from the sources (Rainbow's "copy
    source"), one marked state="new", one a German text marked state="needs-translation"; one copy
    keeps state="translated" and approved="yes" (a source that needs no change), one real translation
    keeps no state at all. Returns unit id -> what the test expects of it."""
    tree = etree.parse(str(translated))
    units = [u for u in trans_units(tree) if u.get("restype") != "x-gettext-domain-header"]
    expected = {}
    for number, unit in enumerate(units):
        source, target = child(unit, "source"), child(unit, "target")
        unit_id = unit.get("id")
        if number == 0:  # Django's "Afrikaans" -> "Afrikaans": a copy that a translator approved
            assert "".join(source.itertext()) == "".join(target.itertext()) and target.get("state") == "translated"
            expected[unit_id] = "kept"
            continue
        if number == 1:  # a translation without any state: kept
            del target.attrib["state"]
            del unit.attrib["approved"]
            expected[unit_id] = "kept"
            continue
        for attribute in ("state", "approved"):
            target.attrib.pop(attribute, None)
            unit.attrib.pop(attribute, None)
        if number == 2:
            target.set("state", "needs-translation")  # the old text stays, the state asks for a translation
        else:
            tail = target.tail
            target.clear()
            target.text, target.tail = source.text, tail  # a copy of the source
            for code in source:
                target.append(copy.deepcopy(code))
            if number == 3:
                target.set("state", "new")
        expected[unit_id] = "translated"
    tree.write(str(kit), xml_declaration=True, encoding="UTF-8")
    return expected


@pytest.fixture(scope="module")
def batch(tmp_path_factory, default_gguf):
    """One run over a batch: a fully translated XLIFF and .po, a Rainbow kit, a broken .po, a missing
    file, and two good files between them."""
    folder = tmp_path_factory.mktemp("batch")
    catalog = django_german_catalog(folder / "django.po")
    translated = folder / "django.xlf"
    tree = po2xliff(folder / "django.po", translated)
    kit_expected = rainbow_kit(translated, folder / "kit.xlf")
    (folder / "a.txt").write_text("The house is big.\n", encoding="utf-8")
    (folder / "bad.po").write_text('msgid "Hello\nmsgstr ""\n', encoding="utf-8")
    (folder / "c.md").write_text("# Welcome\n\nI have a dog.\n", encoding="utf-8")
    names = ["django.xlf", "a.txt", "django.po", "bad.po", "missing.txt", "kit.xlf", "c.md"]
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = run_cli("--from", "en", "--to", "de", *(str(folder / name) for name in names),
                     data_dir=folder / "data", model=default_gguf)
    return folder, result, before, {"catalog": catalog, "xliff_units": len(trans_units(tree)), "kit": kit_expected}


def test_a_batch_goes_on_past_refused_files_and_exits_2(batch):
    folder, result, before, _ = batch
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    # The missing file is found when the jobs are made, the others when they are read.
    failed = [line.split(": ")[2] for line in errors(result)]
    assert failed == [str(folder / name) for name in ("missing.txt", "django.xlf", "django.po", "bad.po")], \
        result.stderr
    for name in ("a.txt", "kit.xlf", "c.md"):
        output = folder / name.replace(".", ".de.", 1)
        assert f"{folder / name} -> {output}" in result.stderr
        assert output.is_file()
    assert "3 of 7 files translated; failed: " in result.stderr
    for name, data in before.items():  # no source changed
        assert (folder / name).read_bytes() == data
    written = {p.name for p in folder.iterdir()} - set(before) - {"data"}
    assert written == {"a.de.txt", "kit.de.xlf", "c.de.md"}  # nothing for the refused files, no temporary file


def test_a_fully_translated_xliff_says_so(batch):
    folder, result, _, facts = batch
    line = next(line for line in errors(result) if "django.xlf" in line)
    assert line == (f"alma-translate: error: {folder / 'django.xlf'}: all {facts['xliff_units']} units are "
                    "translated already (use --overwrite to translate them again)")
    assert "nothing to translate" not in result.stderr


def test_a_fully_translated_po_says_so(batch):
    folder, result, _, facts = batch
    line = next(line for line in errors(result) if "django.po" in line)
    assert line == (f"alma-translate: error: {folder / 'django.po'}: all {len(facts['catalog'])} messages are "
                    "translated already (use --overwrite to translate them again)")


def test_the_other_refusals_keep_their_messages(batch):
    folder, result, _, _ = batch
    assert f"{folder / 'bad.po'}: " in result.stderr and "catalog is damaged" in result.stderr
    assert f"{folder / 'missing.txt'}: no such file" in result.stderr


def test_a_rainbow_kit_with_source_copies_is_translated(batch):
    folder, result, _, facts = batch
    kit = etree.parse(str(folder / "kit.xlf"))
    output = etree.parse(str(folder / "kit.de.xlf"))
    old = {u.get("id"): u for u in trans_units(kit)}
    for unit in trans_units(output):
        unit_id = unit.get("id")
        expected = facts["kit"].get(unit_id, "kept")
        target = child(unit, "target")
        if expected == "kept":
            assert etree.tostring(unit) == etree.tostring(old[unit_id]), unit_id
        else:
            assert target.get("state") == "needs-review-translation", unit_id
            assert target.get("state-qualifier") == "mt-suggestion", unit_id
            assert target.get(XML_LANG) == "de", unit_id  # (the fast model's German may be anything)
    assert sum(1 for value in facts["kit"].values() if value == "translated") >= 3


def test_xliff20_copies_are_translated_and_final_segments_kept(tmp_path, default_gguf):
    tree = etree.parse(str(XLIFF_SAMPLES / "app.de.xlf"))
    copied = []
    for segment in tree.getroot().iterfind(".//x:segment", NS20):
        if segment.find("x:target", NS20) is None:
            target = copy.deepcopy(segment.find("x:source", NS20))
            target.tag = f"{{{NS20['x']}}}target"
            segment.find("x:source", NS20).addnext(target)
            copied.append(segment.get("id"))
    source = tmp_path / "app.de.xlf"
    tree.write(str(source), xml_declaration=True, encoding="UTF-8")
    result = run_cli("--from", "de", "--to", "en", str(source), data_dir=tmp_path / "data", model=default_gguf)
    assert result.returncode == 0, result.stderr
    root = etree.parse(str(tmp_path / "app.en.xlf")).getroot()
    segments = {s.get("id"): s for s in root.iterfind(".//x:segment", NS20)}
    assert len(copied) >= 5
    for segment_id in copied:
        segment = segments[segment_id]
        if segment.getparent().get("translate") == "no":  # s7: its copy stays, nothing is translated
            assert segment.get("state") is None and segment.getparent().find("x:notes", NS20) is None
            continue
        assert segment.get("state") == "initial", segment_id
        notes = segment.getparent().find("x:notes", NS20)
        assert any(note.get("category") == "alma-local" for note in notes), segment_id  # written as MT
    assert segments["s5"].find("x:target", NS20).text == "Open file"  # state="final": kept


def test_an_xliff20_file_with_every_segment_final_names_what_it_holds(tmp_path, default_gguf):
    tree = etree.parse(str(XLIFF_SAMPLES / "app.de.xlf"))
    for segment in tree.getroot().iterfind(".//x:segment", NS20):
        if segment.find("x:target", NS20) is None:
            target = etree.SubElement(segment, f"{{{NS20['x']}}}target")
            target.text = "Translated by a person."
        segment.set("state", "final")
    source = tmp_path / "app.de.xlf"
    tree.write(str(source), xml_declaration=True, encoding="UTF-8")
    result = run_cli("--from", "de", "--to", "en", str(source), data_dir=tmp_path / "data", model=default_gguf)
    assert result.returncode == 2, result.stderr
    assert errors(result) == [
        f"alma-translate: error: {source}: 7 segments are translated already (use --overwrite to translate them "
        'again); the other 1 segment is marked translate="no"'], result.stderr


def test_when_every_file_is_refused_no_model_is_loaded(tmp_path):
    (tmp_path / "table.numbers").write_bytes(b"x")
    (tmp_path / "fake.gguf").write_text("not a model")
    result = run_cli("--from", "de", "--to", "en", str(tmp_path / "missing.txt"), str(tmp_path / "table.numbers"),
                     data_dir=tmp_path / "data", model=tmp_path / "fake.gguf")
    assert result.returncode == 2, result.stderr
    assert [line.split(": ")[2] for line in errors(result)] == [str(tmp_path / "missing.txt"),
                                                                 str(tmp_path / "table.numbers")], result.stderr
    assert "not a GGUF" not in result.stderr  # the model was never opened


@pytest.mark.parametrize("output", ["-", "out.txt"])
def test_several_files_need_an_output_folder(tmp_path, default_gguf, output):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("Hallo.\n")
    result = run_cli("--from", "de", "--to", "en", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "-o", output,
                     data_dir=tmp_path / "data", model=default_gguf)
    assert result.returncode == 2
    assert errors(result) == [f"alma-translate: error: -o {output}: with several files, -o must be an existing "
                              "folder"], result.stderr


def test_a_bad_argument_still_stops_the_whole_run(tmp_path, default_gguf):
    (tmp_path / "a.txt").write_text("Hallo.\n")
    result = run_cli("--from", "xx", "--to", "en", str(tmp_path / "a.txt"), "missing.txt",
                     data_dir=tmp_path / "data", model=default_gguf)
    assert result.returncode == 2
    assert len(errors(result)) == 1 and "unknown language code 'xx'" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_folder_given_as_a_file_is_one_failed_file(tmp_path, default_gguf):
    (tmp_path / "docs").mkdir()
    (tmp_path / "a.txt").write_text("Hallo.\n")
    result = run_cli("--from", "de", "--to", "en", "-q", str(tmp_path / "docs"), str(tmp_path / "a.txt"),
                     data_dir=tmp_path / "data", model=default_gguf)
    assert result.returncode == 2
    assert errors(result) == [f"alma-translate: error: {tmp_path / 'docs'}: is a folder; give the documents in "
                              f"it (e.g. {tmp_path / 'docs'}/*.docx)"], result.stderr
    assert (tmp_path / "a.en.txt").is_file()
