"""desktop.documents.inline_markup: tagged sentences translated whole, tags put back around the right words.

The tag logic is tested with deterministic translators (dictionaries that behave like a model that
keeps, drops, moves or mangles tags); one test runs the real engine end to end.
"""

from __future__ import annotations

import random

import pytest

from desktop.documents.inline_markup import (
    Tag,
    TaggedText,
    align_tags,
    check_tags,
    close_tag,
    empty_tag,
    escape_text,
    from_html,
    open_tag,
    parse,
    strip_tags,
    to_html,
    translate_tagged,
)


def dictionary(entries: dict[str, str]):
    """A translator that knows only these strings (an unknown one is a test failure, not a silent pass)."""
    calls: list[str] = []

    def translate(text: str) -> str:
        calls.append(text)
        assert text in entries, f"unexpected model input {text!r}"
        return entries[text]

    translate.calls = calls  # type: ignore[attr-defined]
    return translate


def test_parse_and_escape_round_trip_literal_tag_lookalikes():
    tagged = escape_text("if a <1> b then ") + open_tag(1) + "x" + close_tag(1) + empty_tag(2)
    assert parse(tagged) == ["if a <1> b then ", Tag(1, "open"), "x", Tag(1, "close"), Tag(2, "empty")]
    assert strip_tags(tagged) == "if a <1> b then x"


@pytest.mark.parametrize(("translation", "problem"), [
    ("<2/><1>b</1>", None),  # siblings may change order
    ("<1>b</1>", "missing <2/>"),
    ("<1>b</1><2/><2/>", "repeated <2/>"),
    ("</1>b<1><2/>", "closes out of order"),
    ("<1>b<2/>", "missing </1>"),
    ("<1>b</1><2/><3/>", "unknown <3/>"),
])
def test_check_tags(translation, problem):
    problems = check_tags("<1>a</1><2/>", translation)
    assert (problems == []) if problem is None else any(problem in p for p in problems), problems


def test_crossed_tags_are_refused():
    assert check_tags("<1>a<2>b</2></1>", "<1>a<2>b</1></2>")


def test_html_spelling_uses_the_real_element_names_and_comes_back():
    shown, back = to_html("Click <1>Save</1> or <2>read <3>the docs</3></2><4/>", {1: "b", 2: "a", 3: "b"})
    # Two tags may not share a name: the second <b> gets another one.
    assert shown.startswith("Click <b>Save</b> or <a>read <")
    assert "<br/>" in shown
    model_output = shown.replace("Click", "Klicken Sie auf").replace("Save", "Speichern")
    assert from_html(model_output, back) == "Klicken Sie auf <1>Speichern</1> or <2>read <3>the docs</3></2><4/>"


def test_a_model_that_keeps_the_tags_is_trusted():
    translate = dictionary({"Click <b>Save</b> to keep your changes.":
                            "Klicken Sie auf <b>Speichern</b>, um Ihre Änderungen zu behalten."})
    result = translate_tagged("Click <1>Save</1> to keep your changes.", translate, names={1: "b"})
    assert result.method == "html" and result.model_kept_tags
    assert result.text == "Klicken Sie auf <1>Speichern</1>, um Ihre Änderungen zu behalten."


def test_a_model_that_drops_tags_gets_them_put_back_around_the_translated_words():
    translate = dictionary({
        "Click <b>Save</b> to keep your changes.": "Klicken Sie auf Speichern, um Ihre Änderungen zu behalten.",
        "Click Save to keep your changes.": "Klicken Sie auf Speichern, um Ihre Änderungen zu behalten.",
        "Save": "Speichern",
    })
    result = translate_tagged("Click <1>Save</1> to keep your changes.", translate, names={1: "b"})
    assert result.method == "align" and result.model_kept_tags is False
    assert "missing" in " ".join(result.problems)
    assert result.text == "Klicken Sie auf <1>Speichern</1>, um Ihre Änderungen zu behalten."


def test_verbatim_inner_text_is_found_without_asking_the_model():
    # Placeholders and names come through untranslated: found as they are, no extra model call.
    tagged = "Put <1>%(code)s</1> in your template."
    translation = "Fügen Sie %(code)s in Ihre Vorlage ein."
    assert align_tags(tagged, translation) == "Fügen Sie <1>%(code)s</1> in Ihre Vorlage ein."


def test_unfound_words_go_to_the_same_relative_position_and_nesting_is_kept():
    tagged = "one two <1>three <2>four</2></1> five six<3/>"
    result = align_tags(tagged, "eins zwei drei vier fünf sechs")
    assert not check_tags(tagged, result), result
    assert strip_tags(result) == "eins zwei drei vier fünf sechs"
    assert result.index("<1>") < result.index("drei") < result.index("</1>")
    assert result.endswith("<3/>")


def test_markup_around_the_whole_sentence_is_never_shown_to_the_model():
    translate = dictionary({"Hello world": "Hallo Welt"})
    result = translate_tagged("  <1><2/>Hello world</1> ", translate)
    assert result.text == "  <1><2/>Hallo Welt</1> " and result.method == "plain"
    assert translate.calls == ["Hello world"]


def test_no_words_no_model():
    assert translate_tagged("<1/> 42 <2>%</2>", dictionary({})).text == "<1/> 42 <2>%</2>"


def test_numbered_spelling_reads_the_models_numbered_tags():
    translate = dictionary({"Click <1>Save</1> now.": "Klicken Sie jetzt auf <1>Speichern</1>."})
    result = translate_tagged("Click <1>Save</1> now.", translate, method="numbered")
    assert result.method == "numbered" and result.text == "Klicken Sie jetzt auf <1>Speichern</1>."


def test_whatever_the_model_returns_the_tags_come_back_complete_and_nested():
    rng = random.Random(13)
    words = "der die das Haus ist groß und klein <b> </b> <i> </a> <br/> <1> </1> <2/> < > &".split()
    sources = ["Click <1>Save</1> or <2>read <3>the docs</3></2> now.<4/>",
               "<1>Warning:</1> the <2>file</2> <3/> is <4>very <5>big</5></4>.",
               "a <1></1> b <2/> c"]
    for source in sources:
        for _ in range(60):
            garbage = " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
            result = translate_tagged(source, lambda text, garbage=garbage: garbage)
            assert not check_tags(source, result.text), (source, garbage, result)


def _inner(tagged: str) -> dict[int, str]:
    """Each paired tag's text in a tagged string."""
    inner: dict[int, str] = {}
    open_ids: list[int] = []
    for piece in parse(tagged):
        if isinstance(piece, str):
            for tag_id in open_ids:
                inner[tag_id] += piece
        elif piece.kind == "open":
            open_ids.append(piece.id)
            inner[piece.id] = ""
        elif piece.kind == "close":
            open_ids.remove(piece.id)
    return inner


LINKS = "Three hyperlinks: <1>the first one</1> here, the <2>second one</2>, and the <3>third</3>."


def test_a_short_translation_leaves_no_link_without_its_text():
    # The model dropped the tags and answered with one word (a cut answer): alignment has one word for
    # three links and the text around them. Each stretch is translated on its own instead.
    translate = dictionary({
        "Three hyperlinks: <a>the first one</a> here, the <b>second one</b>, and the <i>third</i>.": "Drei",
        "Three hyperlinks: the first one here, the second one, and the third.": "Drei",
        "Three hyperlinks:": "Drei Links:", "the first one": "der erste", "here, the": "hier, der",
        "second one": "zweite", ", and the": ", und der", "third": "dritte",
    })
    result = translate_tagged(LINKS, translate, names={1: "a", 2: "b", 3: "i"})
    assert result.method == "fragments" and not check_tags(LINKS, result.text)
    assert result.text == "Drei Links: <1>der erste</1> hier, der <2>zweite</2>, und der <3>dritte</3>."


def test_alignment_without_a_translator_never_empties_a_tag():
    # A plain str -> str translator (no tags carried, nothing to ask): the links keep their source text.
    result = align_tags(LINKS, "Drei Links.")
    assert not check_tags(LINKS, result), result
    assert all(text.strip() for text in _inner(result).values()), result
    result = align_tags("<1>A</1> <2>b <3>c</3></2> <4>42</4>", "X", str.upper)
    assert _inner(result) == {1: "X", 2: "B C", 3: "C", 4: "42"}, result


def test_tags_the_model_kept_but_emptied_are_put_back_with_words():
    translate = dictionary({"Read <a>the manual</a> first.": "Lesen Sie <a></a> zuerst das Handbuch.",
                            "Read the manual first.": "Lesen Sie zuerst das Handbuch.",
                            "the manual": "das Handbuch"})
    result = translate_tagged("Read <1>the manual</1> first.", translate, names={1: "a"})
    assert "emptied <1>" in result.problems and result.method == "align"
    assert result.text == "Lesen Sie zuerst <1>das Handbuch</1>."


def test_a_number_in_a_tag_is_found_where_the_translation_has_it():
    # Not at its relative position (a bold page number would take the word "Das" and lose the number).
    assert align_tags("<1>3</1> pages", "Das Dokument hat 3 Seiten") == "Das Dokument hat <1>3</1> Seiten"


def test_tagged_text_carries_its_names():
    text = TaggedText("Click <1>Save</1>", {1: "b"})
    assert text == "Click <1>Save</1>" and text.names == {1: "b"} and isinstance(text, str)


def test_the_real_engine_translates_a_tagged_sentence_whole(default_gguf):
    from desktop.engine import TranslationEngine

    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=48, cache=False)
    try:
        calls_before = engine.model_calls
        for source in ("Klicken Sie auf <1>Speichern</1>, um die Änderungen zu übernehmen.",
                       "Die Datei <1>config.ini</1> fehlt.<2/>"):
            result = translate_tagged(source, lambda text: engine.translate(text, "de", "en"), names={1: "b"})
            assert not check_tags(source, result.text), result
            assert result.method in ("html", "align")
            assert strip_tags(result.text).strip() and strip_tags(result.text) != strip_tags(source)
        # One call for the tagged sentence, plus at most the plain sentence and each inner text.
        assert engine.model_calls - calls_before <= 2 * 3
    finally:
        engine.close()


# -- documents: a sentence with inline markup reaches the model whole, the markup comes back -------------

class RecordingEngine:
    """The real engine, with a record of what each call asked (a spy, not a stand-in)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.model_path = engine.model_path
        self.memory = engine.memory
        self.inputs: list[str] = []

    def translate(self, text: str, src: str, tgt: str, cancel=None, terms=None) -> str:
        self.inputs.append(text)
        return self.engine.translate(text, src, tgt, cancel=cancel, terms=terms)

    def prefetch(self, *args, **kwargs):
        return self.engine.prefetch(*args, **kwargs)


@pytest.fixture(scope="module")
def recording_engine(default_gguf):
    from desktop.engine import TranslationEngine

    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=24, cache=False)
    yield RecordingEngine(engine)
    engine.close()


def test_html_sentence_with_a_link_is_translated_whole_and_the_link_kept(recording_engine, tmp_path):
    from desktop.documents import DocumentJob, JobOptions

    source = tmp_path / "seite.de.html"
    source.write_text('<p>Lesen Sie <a href="haus.html" title="Mehr">mehr über das <b>Haus</b></a>.<br>\n'
                      'Der Befehl <code>ls -l &lt;dir&gt;</code> zeigt alles.</p>\n', encoding="utf-8")
    out = DocumentJob(source, JobOptions("de", "en")).run(recording_engine)
    html = out.read_text(encoding="utf-8")
    # One model input for the whole paragraph, its inline tags spelled as HTML; the code never shown.
    first = recording_engine.inputs[0]
    assert "Lesen Sie <a>mehr über das <b>Haus</b></a>." in first and "Der Befehl" in first, recording_engine.inputs
    assert "ls -l" not in "".join(recording_engine.inputs)
    assert '<a href="haus.html" title="Mehr">' in html and "</a>" in html and "<b>" in html and "</b>" in html
    assert html.index('<a href="haus.html"') < html.index("<b>") < html.index("</b>") < html.index("</a>")
    assert "<code>ls -l &lt;dir&gt;</code>" in html and "<br>" in html
    assert "Lesen Sie" not in html


def test_markdown_emphasis_and_links_are_translated_with_their_sentence(recording_engine, tmp_path):
    from desktop.documents import DocumentJob, JobOptions

    source = tmp_path / "liesmich.de.md"
    source.write_text("- Klicken Sie auf **Übersetzen**, um zu beginnen.\n"
                      "Mehr steht in der [Dokumentation](https://example.org/docs \"Hilfe\") und in `man alma`.\n"
                      "Zwei * drei ist sechs.\n", encoding="utf-8")
    recording_engine.inputs.clear()
    out = DocumentJob(source, JobOptions("de", "en")).run(recording_engine)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert "Klicken Sie auf <b>Übersetzen</b>, um zu beginnen." in recording_engine.inputs[0]
    assert any("Mehr steht in der <a>Dokumentation</a> und in" in text for text in recording_engine.inputs)
    assert lines[0].startswith("- ") and lines[0].count("**") == 2
    assert "](https://example.org/docs \"Hilfe\")" in lines[1] and lines[1].count("[") == 1
    assert "`man alma`" in lines[1]
    # A lone asterisk cannot pair: that line is translated around it, as before.
    assert lines[2].count("*") == 1 and len(lines) == 3


def test_markup_the_model_invents_is_dropped_and_literal_source_text_kept():
    translate = dictionary({
        "The <b>file</b> is missing.": "Die <code>Datei</code> fehlt.",
        "The file is missing.": "Die <code>Datei</code> fehlt.",
        "file": "Datei",
    })
    result = translate_tagged("The <1>file</1> is missing.", translate)
    assert result.text == "Die <1>Datei</1> fehlt." and result.method == "align"
    # "<Person>" is the source's own text (a Gramps filter name): it stays.
    translate = dictionary({"People matching <b>the</b> <Person>": "Personen, die <b>der</b> <Person> entsprechen"})
    result = translate_tagged(escape_text("People matching ") + "<1>the</1>" + escape_text(" <Person>"), translate)
    assert strip_tags(result.text) == "Personen, die der <Person> entsprechen" and result.method == "html"


def test_a_standalone_tag_between_words_is_a_space_for_the_model():
    # A Gramps tip: title, <br>, text. Without tags the model must not read "Beziehungen berechnenUm".
    translate = dictionary({
        "<b>Beziehungen berechnen</b><br/>Um das zu prüfen.": "Calculate relationships To check it.",
        "Beziehungen berechnen Um das zu prüfen.": "Calculate relationships. To check it.",
        "Beziehungen berechnen": "Calculate relationships",
    })
    result = translate_tagged("<1>Beziehungen berechnen</1><2/>Um das zu prüfen.", translate)
    assert result.method == "align"
    assert result.text.startswith("<1>Calculate relationships</1>") and "<2/>" in result.text
