"""Issue 15's Done-when GUI test: corrections become a translation memory, then a tuned model.

Driven for real on the fast test model in the app window: three sentences are corrected in the Text
view and confirmed; they are in the translation memory; the same sentence is then served from it
(no model call); the memory exports as valid TMX; with more pairs added through the memory's API to
reach the minimum, "Tune on my corrections" tunes the model in use (tiny step counts, as in
tests/models/test_tune.py) and the Models view shows the new model's lineage with its parent.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("pytestqt")
pytestmark = [pytest.mark.usefixtures("app_dirs"), pytest.mark.slow, pytest.mark.timeout(900)]

TIMEOUT_MS = 240_000
RUN_TIMEOUT_MS = 600_000
TINY_TRAINING = {"max_steps": 2, "per_device_train_batch_size": 4, "max_source_tokens": 32,
                 "max_target_tokens": 32}
SOURCES = ["Guten Morgen.", "Das Haus ist sehr groß.", "Wir gehen heute in die Stadt."]
CORRECTED = ["Good morning!", "The house is very big.", "We are going into town today."]
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def test_corrections_are_remembered_exported_and_tuned_on(qtbot, tmp_path, default_gguf):
    from alma_core.parallel_files import read_records
    from alma_train.data.demo_data import read_django_pairs
    from desktop.engine import read_model_info
    from desktop.gui.app import TUNE_TAB, MainWindow
    from desktop.memory.store import MEMORY_MIN_PAIRS

    window = MainWindow(default_gguf)  # the model in use: the fast test model's base GGUF
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.translator.engine is not None, timeout=TIMEOUT_MS)
    text_view, memory, translator = window.text_view, window.memory, window.translator
    assert memory is not None and memory.count() == 0

    # 1. Translate three sentences, correct each in the target box, confirm.
    text_view.live_box.setChecked(False)  # translated when asked, so no late result replaces the edits
    text_view.languages.set_pair("de", "en")
    with qtbot.waitSignal(translator.translationReady, timeout=TIMEOUT_MS):
        text_view.source.setPlainText(" ".join(SOURCES))
        text_view.translate_now()
    qtbot.waitUntil(lambda: len(text_view.sentences) == 3, timeout=TIMEOUT_MS)
    assert [s.source for s in text_view.sentences] == SOURCES
    for index, text in enumerate(CORRECTED):
        text_view.edit_target_sentence(index, text)
    assert text_view.corrections() == list(zip(SOURCES, CORRECTED, strict=True))
    assert text_view.confirm_corrections() == 3
    assert text_view.corrections() == []

    # 2. They are in the translation memory, as corrections of the model in use.
    units = memory.pairs("de", "en")
    assert [(u.source, u.target, u.origin) for u in units] == [(s, t, "correction")
                                                               for s, t in zip(SOURCES, CORRECTED, strict=True)]
    assert {u.model for u in units} == {default_gguf.name}

    # 3. The same sentence again is served from the memory: the correction, no model call.
    calls = translator.engine.model_calls
    with qtbot.waitSignal(translator.translationReady, timeout=TIMEOUT_MS) as ready:
        text_view.source.setPlainText(SOURCES[1])
        text_view.translate_now()
    result = ready.args[0]
    assert result.text.strip() == CORRECTED[1]
    assert [s.origin for s in result.sentences] == ["memory"]
    assert translator.engine.model_calls == calls

    # 4. The memory exports as valid TMX 1.4 (and reads back as the same pairs).
    tmx = tmp_path / "corrections.tmx"
    assert memory.export_tmx(tmx, "de", "en") == 3
    root = ET.parse(tmx).getroot()
    assert root.tag == "tmx" and root.get("version") == "1.4"
    header = root.find("header")
    assert header is not None and all(header.get(a) for a in ("srclang", "segtype", "o-tmf", "adminlang",
                                                              "datatype", "creationtool", "creationtoolversion"))
    units_xml = root.findall("body/tu")
    assert [{tuv.get(XML_LANG).split("-")[0].lower(): tuv.findtext("seg") for tuv in tu.findall("tuv")}
            for tu in units_xml] == [{"de": s, "en": t} for s, t in zip(SOURCES, CORRECTED, strict=True)]
    assert [r.texts for r in read_records(tmx)] == [{"de": s, "en": t} for s, t in zip(SOURCES, CORRECTED,
                                                                                     strict=True)]

    # 5. Below the minimum the Tune tab does not offer tuning on corrections; at the minimum it does.
    window.tabs.setCurrentIndex(TUNE_TAB)
    view = window.tune_view
    assert view.direction == ("de", "en")
    assert not view.corrections_button.isEnabled()
    assert "3 corrections for de-en" in view.corrections_label.text()
    more = {p.xx.strip(): p.en.strip() for p in read_django_pairs("de") if p.xx.strip() and p.en.strip()}
    more = [(source, target) for source, target in more.items() if source not in SOURCES]
    assert memory.add_many(more[:MEMORY_MIN_PAIRS - 3], "de", "en", origin="import") == MEMORY_MIN_PAIRS - 3
    window.tabs.setCurrentIndex(0)
    window.tabs.setCurrentIndex(TUNE_TAB)  # the count is fresh whenever the tab is shown
    assert view.corrections_button.isEnabled()
    assert view.corrections_label.text().startswith(f"{MEMORY_MIN_PAIRS} corrections for de-en")

    view.train_overrides = dict(TINY_TRAINING)
    view.eval_limit, view.eval_max_new_tokens = 2, 8
    before = window.models_view.model_paths()
    with qtbot.waitSignal(view.runFinished, timeout=RUN_TIMEOUT_MS) as finished:
        view.corrections_button.click()
        assert view.is_running() and not view.corrections_button.isEnabled()
    assert finished.args == ["done"], view.log_pane.toPlainText()[-3000:]

    plan = view.plan
    assert plan.request.origin == "corrections" and plan.request.base_model == str(default_gguf.resolve())
    exported = plan.run_dir / "data" / "corrections.jsonl"
    assert plan.request.data_file == exported
    assert len(exported.read_text(encoding="utf-8").splitlines()) == MEMORY_MIN_PAIRS
    train_rows = [json.loads(line) for line in (plan.run_dir / "data" / "train.jsonl").read_text().splitlines()]

    # 6. The new model's lineage: tuned from the model in use, on the corrections.
    meta = read_model_info(plan.final_gguf)
    assert meta["alma.parent"] == default_gguf.name
    data = json.loads(meta["alma.training_data"])
    assert data["origin"] == "corrections" and data["pairs"] == len(train_rows)
    models = window.models_view
    assert models.model_paths() == [*before, plan.final_gguf]
    assert models.selected_path() == plan.final_gguf
    assert models.fields["lineage"].text().startswith(f"parent: {default_gguf.name}")
    assert f"{len(train_rows)} sentence pairs from 1 source: corrections" in models.fields["data"].text()
    assert "(before tuning: chrF" in models.fields["scores"].text()
    assert models.parent_button.isEnabled()
