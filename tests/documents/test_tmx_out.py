"""TMX out: `alma-translate --tmx FILE` and the Documents view's TMX option, with a real model.

Checked: the memory is valid TMX that translate-toolkit (what CAT-tool pipelines use) reads back, with
the run's languages as xml:lang, one unit per translated segment of every document of the run (the
same pairs the documents got), the XLIFF's pre-filled unit absent, nothing left behind on errors, and
bad --tmx arguments refused with exit 2 before any model work.
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
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def run_cli(*args: str, data_dir: Path, model: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ALMA_LOCAL_DATA": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", "-m", str(model), "--max-new-tokens", "16", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800,
    )


def read_tmx(path: Path) -> list[tuple[dict[str, str], str | None]]:
    """[({lang: text}, tu srclang)] through translate-toolkit's reader, after checking the XML shape."""
    from translate.storage.tmx import tmxfile

    root = etree.parse(str(path)).getroot()
    assert root.tag == "tmx" and root.get("version") == "1.4"
    header = root.find("header")
    assert header.get("srclang") == "de" and header.get("creationtool") == "alma-local"
    store = tmxfile.parsestring(path.read_bytes())
    units = []
    for tu in root.iter("tu"):
        texts = {tuv.get(XML_LANG): "".join(tuv.find("seg").itertext()) for tuv in tu.iter("tuv")}
        units.append((texts, tu.get("srclang")))
    assert len(store.units) == len(units)
    return units


def plain_text(element) -> str:
    """An XLIFF source/target's text without its inline codes' native code (what the TMX holds)."""
    text = element.text or ""
    for child in element:
        if etree.QName(child).localname not in ("bpt", "ept", "ph", "it"):
            text += plain_text(child)
        text += child.tail or ""
    return text


@pytest.fixture(scope="module")
def run_with_tmx(tmp_path_factory, default_gguf):
    folder = tmp_path_factory.mktemp("tmx-run")
    xliff = folder / "manual.de.xlf"
    shutil.copyfile(SAMPLES / "manual.de.xlf", xliff)
    page = folder / "seite.de.html"
    page.write_text("<p>Das Haus ist groß.</p>\n<p>Lesen Sie <a href='a.html'>mehr über den Garten</a>.</p>\n",
                    encoding="utf-8")
    memory = folder / "memory" / "run.tmx"
    memory.parent.mkdir()
    result = run_cli("--from", "de", "--to", "en", str(xliff), str(page), "--tmx", str(memory),
                     data_dir=tmp_path_factory.mktemp("tmx-data"), model=default_gguf)
    return folder, memory, result


def test_tmx_holds_every_translated_segment_of_the_run(run_with_tmx):
    folder, memory, result = run_with_tmx
    assert result.returncode == 0, result.stderr
    units = read_tmx(memory)
    assert all(srclang == "de" and set(texts) == {"de", "en"} for texts, srclang in units)
    pairs = {texts["de"]: texts["en"] for texts, _ in units}
    # The XLIFF's filled units, tags removed; its pre-filled and translate="no" units are not in it.
    root = etree.parse(str(folder / "manual.en.xlf")).getroot()
    filled = {}
    for unit in root.iterfind(".//x:trans-unit", NS12):
        target = unit.find("x:target", NS12)
        if target is not None and target.get("state-qualifier") == "mt-suggestion":
            filled[plain_text(unit.find("x:source", NS12)).strip()] = plain_text(target).strip()
    assert filled and all(pairs.get(source) == target for source, target in filled.items()), (pairs, filled)
    assert "Das Haus ist groß." in pairs and "ACME GmbH" not in pairs
    # The HTML's sentence with a link is one pair, as the document got it.
    assert "Lesen Sie mehr über den Garten." in pairs
    assert pairs["Lesen Sie mehr über den Garten."] in (folder / "seite.en.html").read_text().replace(
        "<a href='a.html'>", "").replace("</a>", "")
    assert len(units) == len(filled) + 2
    assert f"{len(units)} segment pairs -> {memory}" in result.stderr
    assert not [p for p in memory.parent.iterdir() if p.name != "run.tmx"]  # no temporary file left
    assert (memory.stat().st_mode & 0o777) != 0o600  # not mkstemp's private mode


@pytest.mark.parametrize(("tmx", "message"), [
    ("missing/run.tmx", "does not exist"),
    (".", "is a folder"),
    ("page.de.html", "is one of the documents to translate"),
])
def test_bad_tmx_argument_exits_2_before_translating(tmp_path, default_gguf, tmx, message):
    page = tmp_path / "page.de.html"
    page.write_text("<p>Das Haus ist groß.</p>\n", encoding="utf-8")
    result = run_cli("--from", "de", "--to", "en", str(page), "--tmx", str(tmp_path / tmx),
                     data_dir=tmp_path / "data", model=default_gguf)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "page.en.html").exists()


def test_a_failing_document_leaves_no_tmx(tmp_path, default_gguf):
    page = tmp_path / "page.de.html"
    page.write_text("<p>Das Haus ist groß.</p>\n", encoding="utf-8")
    broken = tmp_path / "broken.de.xlf"
    broken.write_text("<xliff version='1.2'><file", encoding="utf-8")
    result = run_cli("--from", "de", "--to", "en", str(page), str(broken), "--tmx", str(tmp_path / "run.tmx"),
                     data_dir=tmp_path / "data", model=default_gguf)
    assert result.returncode == 2 and "broken.de.xlf" in result.stderr
    assert not (tmp_path / "run.tmx").exists()


@pytest.mark.slow
def test_documents_view_writes_a_tmx(qtbot, tmp_path, monkeypatch, default_gguf):
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    from desktop.gui.document_queue import DocumentQueue
    from desktop.gui.documents_view import DocumentsView
    from desktop.gui.settings import AppSettings
    from desktop.gui.worker import ModelSpec

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    monkeypatch.setenv("ALMA_LOCAL_DATA", str(tmp_path / "data"))
    queue = DocumentQueue(ModelSpec(default_gguf))
    view = DocumentsView(queue, AppSettings())
    qtbot.addWidget(view)
    try:
        view.languages.set_pair("de", "en")
        xliff = tmp_path / "manual.de.xlf"
        shutil.copyfile(SAMPLES / "manual.de.xlf", xliff)
        memory = tmp_path / "gui.tmx"
        view.tmx_path.setText(str(memory))
        view.tmx_check.setChecked(True)
        view.overwrite_check.setChecked(True)
        (job,) = view.add_files([xliff])
        qtbot.waitUntil(lambda: job.state.finished, timeout=300_000)
        assert job.state.value == "Done", job.error
        assert job.tmx == memory and job.overwrite
        units = read_tmx(memory)
        # The overwrite box at work: the pre-filled unit was translated too, so it is in the memory;
        # translate="no" stays out. Seven units: 1-6 and 8.
        assert any(texts["de"] == "Das Haus ist groß." for texts, _ in units)
        assert len(units) == 7 and not any(texts["de"] == "ACME GmbH" for texts, _ in units)
    finally:
        queue.shutdown()


def test_the_collector_writes_through_the_memory_s_tmx_writer(tmp_path):
    """No model: the run's pairs through desktop.memory.files.Tmx, its errors as DocumentErrors naming the file."""
    from desktop.documents.base import DocumentError
    from desktop.documents.tmx_out import TmxCollector

    tmx = TmxCollector("de", "en", model_name="model.gguf")
    tmx(" Das Haus ist groß. ", "The house is big.")
    tmx("42", "42")  # no letter: not a sentence a CAT tool would reuse
    tmx("Das Haus ist groß.", "The house is large.")  # translated twice: the last one is kept
    assert len(tmx) == 1
    with pytest.raises(DocumentError, match="is a folder; --tmx needs a file name"):
        tmx.write(tmp_path)
    with pytest.raises(DocumentError, match="missing/run.tmx: the folder for the TMX does not exist"):
        tmx.write(tmp_path / "missing" / "run.tmx")
    path = tmx.write(tmp_path / "run.tmx")
    assert read_tmx(path) == [({"de": "Das Haus ist groß.", "en": "The house is large."}, "de")]
    header = etree.parse(str(path)).getroot().find("header")
    assert header.get("segtype") == "paragraph" and "model model.gguf" in header.findtext("note")
    assert [p.name for p in tmp_path.iterdir()] == ["run.tmx"]  # atomic: no temporary file left
