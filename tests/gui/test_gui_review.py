"""Post-editing in the Text view (issue 15), driven for real (offscreen) on the fast test model.

The window loads SmolLM2-135M (conftest `default_gguf`) through MainWindow(model_path=...), as a user
naming a model would; nothing in the engine is replaced. Expectations are built from what the engine
reports (confidences, spans, origins), so the tests hold whatever the model translates. One test
builds the view without a model to check how typed corrections follow their sentences.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
pytestmark = [pytest.mark.timeout(1500), pytest.mark.usefixtures("app_dirs")]  # QSettings, data in tmp_path

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtGui import QTextCursor  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

MODEL_TIMEOUT_MS = 600_000  # a model load and a few sentences on a busy 2-core machine (load 8: 220 s)
TEXT = ("Der Hund schläft im Garten. Die Katze ist schwarz. Ich habe heute keine Zeit. "
        "Das Wetter ist schön.")


def open_window(qtbot, model_path: Path):
    from desktop.gui.app import MainWindow

    window = MainWindow(model_path)
    qtbot.addWidget(window)  # closed (worker thread stopped, memory closed) at teardown
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.translator.model is not None, timeout=MODEL_TIMEOUT_MS)
    window.text_view.languages.set_pair("de", "en")
    return window


def translate(qtbot, window, text: str | None = None):
    """Translate text (or the source box as it is) with the Translate button; the result."""
    view = window.text_view
    if text is not None:
        view.live_box.setChecked(False)
        view.source.setPlainText(text)
    with qtbot.waitSignal(window.translator.translationReady, timeout=MODEL_TIMEOUT_MS) as ready:
        view.translate_button.click()
    qtbot.waitUntil(lambda: not window.translator.busy, timeout=MODEL_TIMEOUT_MS)
    return ready.args[0]


def put_cursor(editor, position: int) -> None:
    cursor = editor.textCursor()
    cursor.setPosition(position)
    editor.setTextCursor(cursor)


def shaded(view) -> dict[str, str]:
    """Translation box text of every sentence shade (not the cursor's pair highlight) -> its tooltip."""
    from desktop.gui.text_view import PAIR_COLOR

    return {s.cursor.selectedText(): s.format.toolTip() for s in view.target.extraSelections()
            if s.format.background().color() != PAIR_COLOR}


def test_low_confidence_is_shaded_and_the_cursor_highlights_both_ways(qtbot, default_gguf):
    from desktop.gui.text_view import LOW_CONFIDENCE, LOW_CONFIDENCE_COLOR

    window = open_window(qtbot, default_gguf)
    view = window.text_view
    result = translate(qtbot, window, TEXT)
    sentences = view.sentences
    assert [s.source for s in sentences] == [
        "Der Hund schläft im Garten.", "Die Katze ist schwarz.", "Ich habe heute keine Zeit.", "Das Wetter ist schön."]
    assert result.sentences == tuple(sentences) and not view.target.isReadOnly()
    confidences = [s.confidence for s in sentences]
    assert all(c is not None and 0.0 <= c <= 1.0 for c in confidences), confidences

    # The default threshold: exactly the sentences reported below it are shaded, tooltip their confidence.
    def expected(threshold: float) -> dict[str, str]:
        return {s.translation: f"confidence {s.confidence:.2f}" for s in sentences if s.confidence < threshold}

    assert view.confidence_threshold == LOW_CONFIDENCE
    assert shaded(view) == expected(LOW_CONFIDENCE)
    # A threshold between the reported confidences splits the sentences: some shaded, some not.
    ordered = sorted(set(confidences))
    if len(ordered) > 1:
        middle = (ordered[0] + ordered[1]) / 2
        view.set_confidence_threshold(middle)
        assert 0 < len(shaded(view)) < len(sentences)
        assert shaded(view) == expected(middle)
        low = next(s for s in sentences if s.confidence < middle)
        selection = next(s for s in view.target.extraSelections() if s.cursor.selectedText() == low.translation)
        assert selection.format.background().color() == LOW_CONFIDENCE_COLOR
        assert view.tooltip_at(low.target_start + 1) == f"confidence {low.confidence:.2f}"
    view.set_confidence_threshold(1.01)  # every model sentence is below
    assert shaded(view) == expected(1.01) and len(shaded(view)) == len(sentences)

    # The cursor in a translation sentence highlights it and its source; and from the source back.
    target_text, source_text = view.target.toPlainText(), view.source.toPlainText()
    for index, sentence in enumerate(sentences):
        assert target_text[sentence.target_start:sentence.target_end] == sentence.translation
        assert source_text[sentence.source_start:sentence.source_end] == sentence.source
        put_cursor(view.target, sentence.target_start + len(sentence.translation) // 2)
        assert view.highlighted() == (sentence.source, sentence.translation), index
        other = sentences[(index + 1) % len(sentences)]
        put_cursor(view.source, other.source_start + 2)
        assert view.highlighted() == (other.source, other.translation), index
    # Past the last sentence (the end of the line after it) nothing is highlighted.
    view.source.moveCursor(QTextCursor.MoveOperation.End)
    view.source.insertPlainText("\n")
    assert view.highlighted() is None


def test_confirmed_corrections_go_to_the_memory_and_are_served_from_it(qtbot, default_gguf):
    from desktop.gui.text_view import MEMORY_COLOR, MEMORY_TOOLTIP

    window = open_window(qtbot, default_gguf)
    view = window.text_view
    assert window.memory is not None and window.translator.memory is window.memory
    translate(qtbot, window, TEXT)
    first = list(view.sentences)
    assert view.corrections() == [] and not view.confirm_button.isEnabled()

    corrected = {0: "The dog is sleeping in the garden.", 1: "The cat is black.", 3: "The weather is nice."}
    view.edit_target_sentence(0, corrected[0])
    view.edit_target_sentence(1, corrected[1])
    # The third by typing, as a user would: select the sentence in the box and type over it.
    start, end = view._map.target_range(3)
    cursor = view.target.textCursor()
    cursor.setPosition(start)
    cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
    view.target.setTextCursor(cursor)
    view.target.setFocus()
    qtbot.keyClicks(view.target, corrected[3])
    assert view.corrections() == [(first[i].source, corrected[i]) for i in (0, 1, 3)]
    assert view.confirm_button.isEnabled() and view.review_label.text().startswith("3 corrections to confirm")
    assert first[2].translation in view.target.toPlainText()  # the sentence not corrected is as it was

    # Live translation pauses while corrections wait: typing in the source starts no translation.
    view.live_box.setChecked(True)
    view.source.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(view.source, " ")
    qtbot.wait(1_000)  # twice the debounce
    assert not window.translator.busy and "live translation paused" in view.review_label.text()
    assert [text for _, text in view.corrections()] == [corrected[i] for i in (0, 1, 3)]

    # Confirm (the shortcut's slot): saved with the model's name, then the paused translation runs
    # and serves the three from the memory.
    with qtbot.waitSignal(window.translator.translationReady, timeout=MODEL_TIMEOUT_MS) as ready:
        window.confirm_action.trigger()
    qtbot.waitUntil(lambda: not window.translator.busy, timeout=MODEL_TIMEOUT_MS)
    for i in (0, 1, 3):
        assert window.memory.lookup("de", "en", first[i].source) == corrected[i]
    units = {unit.source: unit for unit in window.memory.pairs("de", "en")}
    assert sorted(units) == sorted(first[i].source for i in (0, 1, 3))
    assert {(u.origin, u.model) for u in units.values()} == {("correction", default_gguf.name)}
    assert window.memory.count("de", "en") == 3

    again = ready.args[0].sentences
    assert [s.origin for s in again][:2] == ["memory", "memory"] and again[3].origin == "memory"
    assert again[2].origin in ("cache", "model")
    assert [again[i].translation for i in (0, 1, 3)] == [corrected[i] for i in (0, 1, 3)]
    assert all(again[i].confidence == 1.0 for i in (0, 1, 3))
    assert view.corrections() == [] and not view.confirm_button.isEnabled()
    marks = shaded(view)
    for i in (0, 1, 3):
        assert marks[corrected[i]] == MEMORY_TOOLTIP
    memory_selection = next(s for s in view.target.extraSelections() if s.cursor.selectedText() == corrected[0])
    assert memory_selection.format.background().color() == MEMORY_COLOR

    # An explicit Translate with an unconfirmed correction asks first; Discard translates again.
    view.live_box.setChecked(False)
    view.edit_target_sentence(2, "Today I have no time at all.")
    view.translate_button.click()
    qtbot.waitUntil(lambda: view.question is not None and view.question.isVisible(), timeout=5_000)
    assert not window.translator.busy  # nothing replaced the correction while the question is open
    assert isinstance(view.question, QMessageBox)
    with qtbot.waitSignal(window.translator.translationReady, timeout=MODEL_TIMEOUT_MS):
        view.question.discard.click()
    qtbot.waitUntil(lambda: not window.translator.busy, timeout=MODEL_TIMEOUT_MS)
    assert view.sentences[2].translation == first[2].translation
    assert "Today I have no time at all." not in view.target.toPlainText()
    assert window.memory.count("de", "en") == 3


def test_alternatives_menu_lists_distinct_strings_and_picking_one_replaces_the_sentence(qtbot, default_gguf):
    window = open_window(qtbot, default_gguf)
    view = window.text_view
    translate(qtbot, window, TEXT)
    sentence = view.sentences[1]

    # show_alternatives waits for the engine (beam search on the engine thread) and shows the menu.
    choices = view.show_alternatives(1)
    assert choices, "the model gave no alternative"
    assert len(set(choices)) == len(choices) and sentence.translation not in choices
    assert all(choice == choice.strip() and choice for choice in choices)
    assert view.alternatives_menu is not None and view.alternatives_menu.isVisible()
    assert [a.data() for a in view.alternatives_menu.actions()] == choices
    view.alternatives_menu.close()

    # The context menu of a translation sentence offers the same alternatives (fetched once).
    position = QPoint(view.target.cursorRect(_cursor_at(view, sentence.target_start + 2)).center())
    menu = view.context_menu(position)
    (action,) = [a for a in menu.actions() if a.objectName() == "alternativesAction"]
    menu.close()
    action.trigger()
    qtbot.waitUntil(lambda: view.alternatives_menu is not None and view.alternatives_menu.isVisible(),
                    timeout=5_000)
    assert [a.data() for a in view.alternatives_menu.actions()] == choices

    # Picking one replaces the sentence (only it) and makes it a correction to confirm.
    before = view.target.toPlainText()
    view.alternatives_menu.actions()[0].trigger()
    assert view._map.text(1) == choices[0]
    assert view.target.toPlainText() == (before[:sentence.target_start] + choices[0]
                                         + before[sentence.target_end:])
    assert view.corrections() == [(sentence.source, choices[0])]
    assert view.confirm_button.isEnabled()
    # The menu now leaves out the text the sentence has (the alternative picked) and offers the
    # model's first translation back (the engine's n-best starts with it).
    assert view.show_alternatives(1) == [sentence.translation, *choices[1:]]
    view.alternatives_menu.close()
    # From the keyboard: Alt+Down in a translation sentence opens its menu.
    put_cursor(view.target, sentence.target_start + 1)
    window.activateWindow()
    view.target.setFocus()
    qtbot.waitUntil(view.target.hasFocus, timeout=5_000)
    qtbot.keyClick(view.target, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: view.alternatives_menu is not None and view.alternatives_menu.isVisible(),
                    timeout=5_000)
    assert [a.data() for a in view.alternatives_menu.actions()] == [sentence.translation, *choices[1:]]


def _cursor_at(view, position: int) -> QTextCursor:
    cursor = QTextCursor(view.target.document())
    cursor.setPosition(position)
    return cursor


def test_typed_corrections_stay_with_their_sentence(qtbot):
    """Without a model: a shown result's sentences follow the user's typing (start, middle, end),
    other sentences keep their text, and characters beyond the BMP do not shift the map."""
    from desktop.engine.translation import SentenceReport
    from desktop.gui.settings import AppSettings
    from desktop.gui.text_view import TextView
    from desktop.gui.worker import TranslationResult, Translator

    source = "Eins ist gut. Zwei 🙂 ist da.\nDrei."
    text = "One is good. Two 🙂 is there.\nThree."
    spans = [("Eins ist gut.", "One is good."), ("Zwei 🙂 ist da.", "Two 🙂 is there."), ("Drei.", "Three.")]
    sentences = []
    for index, (src, tgt) in enumerate(spans):
        sentences.append(SentenceReport(index, src, tgt, confidence=0.2 + index * 0.3,
                                        source_start=source.index(src), source_end=source.index(src) + len(src),
                                        target_start=text.index(tgt), target_end=text.index(tgt) + len(tgt)))
    translator = Translator()
    view = TextView(translator, AppSettings())
    qtbot.addWidget(view)
    try:
        view.show()
        view.live_box.setChecked(False)
        view.source.setPlainText(source)
        view._on_ready(TranslationResult(1, text, 0.1, 5, (), tuple(sentences), "de", "en", source))
        assert not view.target.isReadOnly()
        assert {i for i in range(3) if view.low_confidence(i)} == {0}  # 0.2 < 0.5 <= 0.5, 0.8
        # Typed at the start of sentence 2 (after the emoji's sentence's line break), in sentence 1's
        # middle, and at the end of sentence 0.
        put_cursor(view.target, view._map.target_range(2)[0])
        qtbot.keyClicks(view.target, "And ")
        put_cursor(view.target, view._map.target_range(1)[1] - len(" there."))
        qtbot.keyClicks(view.target, " really")
        put_cursor(view.target, view._map.target_range(0)[1])
        qtbot.keyClicks(view.target, "!")
        assert [view._map.text(i) for i in range(3)] == ["One is good.!", "Two 🙂 is really there.", "And Three."]
        assert view.corrections() == [(src, view._map.text(i)) for i, (src, _) in enumerate(spans)]
        # The source map still holds: the cursor in the emoji sentence's source highlights its translation.
        put_cursor(view.source, len("Eins ist gut. Zwei 🙂 i".encode("utf-16-le")) // 2)
        assert view.highlighted() == ("Zwei 🙂 ist da.", "Two 🙂 is really there.")
        # Undo of a correction makes it no correction again.
        view.edit_target_sentence(2, "Three.")
        assert [source for source, _ in view.corrections()] == ["Eins ist gut.", "Zwei 🙂 ist da."]
        # Without a translation memory, confirming says so in a dialog and keeps the corrections.
        assert view.confirm_corrections() == 0
        assert len(view.corrections()) == 2
        assert [b for b in view.findChildren(QMessageBox) if b.isVisible()]
    finally:
        translator.shutdown()


def test_a_translation_cut_at_its_token_limit_is_shaded_with_a_tooltip(qtbot):
    """Without a model: a sentence the engine reports as stopped at its token limit (truncated) is shaded
    as an unsure one, whatever its confidence, and its tooltip says the translation may be cut."""
    from desktop.engine.translation import SentenceReport
    from desktop.gui.settings import AppSettings
    from desktop.gui.text_view import CUT_TOOLTIP, LOW_CONFIDENCE_COLOR, TextView
    from desktop.gui.worker import TranslationResult, Translator

    source, text = "Eins ist gut. Zwei, drei, vier.", "One is good. Two, three, fo"
    sentences = [SentenceReport(0, "Eins ist gut.", "One is good.", confidence=0.9, source_start=0, source_end=13,
                                target_start=0, target_end=12),
                 SentenceReport(1, "Zwei, drei, vier.", "Two, three, fo", confidence=0.9, source_start=14,
                                source_end=31, target_start=13, target_end=27, truncated=True)]
    translator = Translator()
    view = TextView(translator, AppSettings())
    qtbot.addWidget(view)
    try:
        view.live_box.setChecked(False)
        view.source.setPlainText(source)
        view._on_ready(TranslationResult(1, text, 0.1, 9, (), tuple(sentences), "de", "en", source))
        assert [view.cut(i) for i in range(2)] == [False, True]
        assert view.marked_sentences() == {1: f"{CUT_TOOLTIP}\nconfidence 0.90"}
        assert shaded(view) == {"Two, three, fo": f"{CUT_TOOLTIP}\nconfidence 0.90"}
        shade = next(s for s in view.target.extraSelections() if s.cursor.selectedText() == "Two, three, fo")
        assert shade.format.background().color() == LOW_CONFIDENCE_COLOR
        assert view.tooltip_at(20) == f"{CUT_TOOLTIP}\nconfidence 0.90"
        assert view.tooltip_at(3) == "confidence 0.90"  # not shaded, its tooltip as ever
    finally:
        translator.shutdown()


def test_replacing_a_sentence_with_no_space_before_the_next(qtbot):
    """Without a model: CJK sentences follow each other with no space; replacing the first leaves the
    second as it was (its start is moved past the new text, not left inside it)."""
    from desktop.engine.translation import SentenceReport
    from desktop.gui.settings import AppSettings
    from desktop.gui.text_view import EDITED_COLOR, TextView
    from desktop.gui.worker import TranslationResult, Translator

    source, text = "Eins. Zwei.", "一。二。"
    sentences = [SentenceReport(0, "Eins.", "一。", confidence=0.9, source_start=0, source_end=5,
                                target_start=0, target_end=2),
                 SentenceReport(1, "Zwei.", "二。", confidence=0.9, source_start=6, source_end=11,
                                target_start=2, target_end=4)]
    translator = Translator()
    view = TextView(translator, AppSettings())
    qtbot.addWidget(view)
    try:
        view.live_box.setChecked(False)
        view.source.setPlainText(source)
        view._on_ready(TranslationResult(1, text, 0.1, 2, (), tuple(sentences), "de", "ja", source))
        assert view.marked_sentences() == {}  # confident, from the model: no shade
        view.use_alternative(0, "第一。")
        assert view.target.toPlainText() == "第一。二。"
        assert [view._map.text(i) for i in range(2)] == ["第一。", "二。"]
        assert view.corrections() == [("Eins.", "第一。")]
        assert view.marked_sentences() == {0: "your correction (not confirmed yet)"}
        assert shaded(view) == {"第一。": "your correction (not confirmed yet)"}
        shade = next(s for s in view.target.extraSelections() if s.cursor.selectedText() == "第一。")
        assert shade.format.background().color() == EDITED_COLOR
    finally:
        translator.shutdown()


def test_sentence_spans_are_checked_and_found_from_the_segments():
    """The worker keeps an engine's spans when they hold and finds them from the segments when not
    (line breaks and spaces copied between the translations)."""
    from desktop.engine.translation import SentenceReport, TranslationReport
    from desktop.gui.worker import locate_sentences

    source = "Eins.  Zwei!\n\nDrei?"
    report = TranslationReport("One.  Two!\n\nThree?", [SentenceReport(0, "Eins.", "One."),
                                                         SentenceReport(1, "Zwei!", "Two!"),
                                                         SentenceReport(2, "Drei?", "Three?")])
    found = locate_sentences(report, source)
    assert [(source[s.source_start:s.source_end], report.text[s.target_start:s.target_end]) for s in found] == [
        ("Eins.", "One."), ("Zwei!", "Two!"), ("Drei?", "Three?")]
    assert [(s.target_start, s.target_end) for s in found] == [(0, 4), (6, 10), (12, 18)]
    assert locate_sentences(report, source) == found  # spans that hold are kept as they are
