"""Long sentences (issue 26, item 8): cut at clause boundaries into parts that fit, translated part by part and
joined back; a translation that still stops at its token limit is flagged, never silently short.

The splitting rules run without a model; the rest on the real fast model (conftest `default_gguf`).
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from alma_core.prompts import PART_TOKENS
from desktop.engine import TranslationEngine
from desktop.engine.clauses import Part, join_part, separator_for, split_long
from desktop.stores.cache import TranslationCache

pytestmark = pytest.mark.timeout(1500)

# A run-on clause of a tenancy agreement, written for this test: 298 words, 25 comma-separated clauses,
# one full stop at the end, a number or a name in nearly every clause.
RUN_ON = (
    "Der Mieter verpflichtet sich, die Wohnung Nummer 17 im dritten Obergeschoss des Hauses Lindenstraße 42 "
    "in Hamburg pfleglich zu behandeln, die monatliche Grundmiete von 850 Euro spätestens am dritten Werktag "
    "jedes Monats zu überweisen, die Vorauszahlung für Heizung und Warmwasser in Höhe von 120 Euro zusammen "
    "mit der Miete zu zahlen, die Vorauszahlung für die übrigen Betriebskosten in Höhe von 95 Euro ebenfalls "
    "monatlich zu entrichten, eine Kaution von 2550 Euro in drei gleichen Raten zu leisten, die "
    "Schönheitsreparaturen spätestens nach 5 Jahren fachgerecht auszuführen, den Kellerraum Nummer 8 nur zur "
    "Lagerung von Hausrat zu nutzen, das Fahrrad ausschließlich im Fahrradraum neben dem Eingang B abzustellen, "
    "die Hausordnung vom 1. März 2019 in allen Punkten einzuhalten, die Ruhezeiten zwischen 22 Uhr und 7 Uhr "
    "zu beachten, den Winterdienst auf dem Gehweg an jedem zweiten Samstag zu übernehmen, die "
    "Treppenhausreinigung im Wechsel mit den 11 anderen Mietparteien zu erledigen, jede Untervermietung vorher "
    "schriftlich bei Frau Schneider von der Hausverwaltung zu beantragen, Haustiere mit Ausnahme von "
    "Kleintieren nur mit Zustimmung der Eigentümerin zu halten, Schäden an der Wasserleitung innerhalb von "
    "24 Stunden zu melden, den Zugang zur Wohnung für die jährliche Ablesung der 6 Heizkostenverteiler zu "
    "ermöglichen, bauliche Veränderungen wie das Entfernen der Einbauküche aus dem Jahr 2015 zu unterlassen, "
    "die Rauchwarnmelder in allen 4 Räumen regelmäßig zu prüfen, den Balkon nicht mit einem Grill mit offener "
    "Flamme zu nutzen, die Mülltonnen am Vorabend der Abholung an die Straße zu stellen, den Stellplatz Nummer "
    "31 in der Tiefgarage nur für ein zugelassenes Fahrzeug zu verwenden, die Gasleitung im Bad alle 2 Jahre "
    "durch die Firma Becker prüfen zu lassen, den Briefkasten Nummer 9 regelmäßig zu leeren, bei einem Auszug "
    "alle 3 Schlüssel an die Hausverwaltung zurückzugeben und die Wohnung besenrein mit einer Frist von "
    "14 Tagen nach Vertragsende zu übergeben."
)
CLAUSES = RUN_ON.split(", ")
# Its first ten clauses as a sentence of their own (113 words): long enough for a few parts.
LONG = ", ".join(CLAUSES[:10]) + "."
SHORT = ["Der Hund schläft im Garten.", "Die Katze ist schwarz.", "Wo ist der Bahnhof?"]


def words_at_most(n: int):
    return lambda text: len(text.split()) <= n


def rejoined(parts: list[Part]) -> str:
    return "".join(part.text + part.separator for part in parts)


# -- the splitting rules (no model) ----------------------------------------------------------------------

def test_a_sentence_that_fits_is_one_part():
    assert split_long("Der Hund schläft, die Katze nicht.", words_at_most(10)) == [
        Part("Der Hund schläft, die Katze nicht.")]


def test_clauses_are_cut_at_the_strongest_boundary_first_and_packed_up_to_the_budget():
    sentence = "eins zwei, drei vier; fünf sechs, sieben acht, neun zehn: elf zwölf"
    parts = split_long(sentence, words_at_most(4))
    assert rejoined(parts) == sentence
    # The semicolon first; then the colon in the second half; then its commas, packed two clauses a part.
    assert parts == [Part("eins zwei, drei vier", "; "), Part("fünf sechs, sieben acht", ", "),
                     Part("neun zehn", ": "), Part("elf zwölf")]


def test_numbers_times_and_brackets_are_not_cut():
    sentence = "Es kostet 3,5 Millionen (davon 1, 2 und 3 Prozent), um 12:30 Uhr, sagte sie heute"
    parts = split_long(sentence, words_at_most(10))
    assert rejoined(parts) == sentence
    assert [p.text for p in parts] == ["Es kostet 3,5 Millionen (davon 1, 2 und 3 Prozent)",
                                       "um 12:30 Uhr, sagte sie heute"]


def test_inline_markup_elements_are_not_cut():
    """The documents show inline tags to the model as <b>...</b>: a part never opens one it does not close."""
    sentence = ("Bitte lesen Sie <b>die Regeln, die Hinweise</b>, die Anlage<br/> und alle Listen, "
                "und unterschreiben Sie bitte jede Seite")
    parts = split_long(sentence, words_at_most(7))
    assert rejoined(parts) == sentence
    assert [p.text for p in parts] == ["Bitte lesen Sie <b>die Regeln, die Hinweise</b>",
                                       "die Anlage<br/> und alle Listen",  # <br/> closes itself
                                       "und unterschreiben Sie bitte jede Seite"]


def test_dashes_list_marks_and_repeated_separators():
    sentence = "Äpfel • Birnen • Kirschen – alles frisch;; und billig"
    parts = split_long(sentence, words_at_most(4))  # "–" counts as a word here
    assert rejoined(parts) == sentence
    assert all(p.text.strip() for p in parts)  # ";;" is one separator, no empty part between
    assert [p.text for p in parts] == ["Äpfel • Birnen", "Kirschen – alles frisch", "und billig"]
    assert [p.text for p in split_long(sentence, words_at_most(3))] == [
        "Äpfel • Birnen", "Kirschen", "alles frisch", "und billig"]  # then at the dash


def test_a_clause_that_does_not_fit_is_cut_between_words_or_characters():
    words = " ".join(f"Wort{i}" for i in range(10))
    parts = split_long(words, words_at_most(4))
    assert rejoined(parts) == words and [len(p.text.split()) for p in parts] == [4, 4, 2]
    chinese = "甲乙丙丁戊，己庚辛壬癸子丑寅"
    parts = split_long(chinese, lambda text: len(text) <= 4)
    assert rejoined(parts) == chinese and all(len(p.text) <= 4 for p in parts)
    assert parts[1] == Part("戊", "，")  # the full-width comma is a boundary too
    # A single word longer than the budget is kept whole rather than lost.
    assert split_long("Donaudampfschifffahrt", lambda text: len(text) <= 1)[0].text == "D"
    assert rejoined(split_long("ab cd", lambda text: False)) == "ab cd"


def test_separators_are_written_the_targets_way():
    assert separator_for(", ", "en") == ", " and separator_for(" – ", "fr") == " – "
    assert separator_for(", ", "zh") == "，" and separator_for(", ", "ja") == "、"
    assert separator_for("；", "en") == "; " and separator_for("、", "zh") == "、"
    assert separator_for(", ", "ar") == "، " and separator_for(" ", "zh") == ""
    assert separator_for("", "en") == " "  # a cut in text without blanks, into a language with them
    assert separator_for(" • ", "zh") == " • "
    # A part's closing full stop (the model translates it as a sentence) gives way to the separator.
    assert join_part(Part("der Hund schläft", ", "), "the dog sleeps.", "en", last=False) == "the dog sleeps, "
    assert join_part(Part("usw.", " "), "etc.", "en", last=False) == "etc. "
    assert join_part(Part("zu übergeben."), "to hand over.", "en", last=True) == "to hand over."
    assert join_part(Part("die Katze", ", "), "猫。", "zh", last=False) == "猫，"


# -- the real model ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def engine(default_gguf) -> TranslationEngine:
    # The part budget does not depend on max_new_tokens; 128 (the CLI's default is 256) stops the parts
    # the fast model rambles on sooner, which keeps the test to a few minutes on two cores.
    engine = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=128, cache=False)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def run_on_report(engine):
    """The run-on sentence translated one part at a time (and how many model calls it took)."""
    engine.model_calls = 0
    report = engine.translate_report(RUN_ON, "de", "en")
    return report, engine.model_calls


def test_a_run_on_sentence_of_300_words_is_translated_clause_by_clause(engine, run_on_report):
    """Before the split, the whole 298-word sentence went to the model as one prompt: the fast model
    answered 46 words (Gemma 3 270M: 149, cut at the 256-token cap), one piece for 25 clauses."""
    report, calls = run_on_report
    (sentence,) = report.sentences
    assert len(RUN_ON.split()) == 298 and len(CLAUSES) == 25
    assert len(engine._model.tokenize(RUN_ON)) > 4 * PART_TOKENS
    # Every clause is in exactly one part, whole; the parts are the sentence in order, cut at commas.
    sources = [source for source, _ in sentence.parts]
    assert ", ".join(sources) == RUN_ON
    assert all(len(engine._model.tokenize(source)) <= PART_TOKENS for source in sources)
    assert sum(source.count(", ") + 1 for source in sources) == len(CLAUSES)
    assert calls == len(sources) > 1
    # Each part has its own translation, none empty, in the output in order, joined by the commas.
    translations = [translation for _, translation in sentence.parts]
    assert all(t.strip() for t in translations)
    position = 0
    for translation in translations:
        core = re.sub(r"[\s.,;:]+$", "", translation)
        found = report.text.find(core, position)
        assert found >= 0, (core, report.text[position:])
        position = found + len(core)
    assert report.text.count(", ") >= len(translations) - 1
    assert len(report.text.split()) >= len(RUN_ON.split()) // 2  # 46 of 298 before
    # Nothing is lost silently: a part that stopped at its token limit flags the sentence.
    limits = [engine._model.token_limit(source) for source in sources]
    reached = [len(engine._model.tokenize(t)) >= limit - 2 for t, limit in zip(translations, limits, strict=True)]
    assert sentence.truncated == any(reached)
    assert report.truncated == ([sentence] if sentence.truncated else [])


def test_the_batch_path_translates_a_long_sentence_as_one_at_a_time(engine):
    """A document's sentences decoded ahead in batches (prefetch, one sequence: exactly the greedy tokens
    of one at a time): the long one's parts are batched with the short sentences, and the document comes
    out as translating one sentence at a time gives it, flags and parts included."""
    texts = [SHORT[0], LONG, f"{SHORT[1]} {SHORT[2]}"]
    expected = [engine.translate_report(text, "de", "en") for text in texts]
    parts = expected[1].sentences[0].parts
    assert len(parts) > 1
    engine.model_calls = 0
    ready: list[int] = []
    with engine.prefetch(texts, "de", "en", on_text=ready.append, max_sequences=1) as decoded:
        assert decoded == len(SHORT) + len(parts) == engine.model_calls
        assert sorted(ready) == [0, 1, 2]
        batched = [engine.translate_report(text, "de", "en") for text in texts]
    assert engine.model_calls == decoded  # every part was served from the batch
    assert [b.text for b in batched] == [e.text for e in expected]
    assert [(s.truncated, s.parts) for b in batched for s in b.sentences] == [
        (s.truncated, s.parts) for e in expected for s in e.sentences]


def test_a_translation_stopped_at_its_token_limit_is_flagged_and_cached_so(default_gguf, tmp_path):
    cache = TranslationCache(tmp_path / "cache.sqlite3")
    tiny = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=4, cache=cache)
    told: list[tuple[str, str]] = []
    tiny.on_truncated = lambda source, translation: told.append((source, translation))
    report = tiny.translate_report(SHORT[0], "de", "en")
    (sentence,) = report.sentences
    assert sentence.truncated and sentence.origin == "model" and len(tiny._model.tokenize(sentence.translation)) == 4
    assert told == [(SHORT[0], sentence.translation)]
    # From the cache: still flagged, and told again (translate() as the documents call it).
    assert tiny.translate(SHORT[0], "de", "en") == sentence.translation
    assert told[-1] == (SHORT[0], sentence.translation) and len(told) == 2
    again = tiny.translate_report(SHORT[0], "de", "en").sentences[0]
    assert (again.origin, again.truncated) == ("cache", True) and len(told) == 3
    key = tiny.cache_key()
    assert cache.get_entry(key, "de", "en", SHORT[0]).truncated is True
    tiny.close()

    # With room to finish, the same sentence is not flagged (and nothing is told).
    roomy = TranslationEngine(default_gguf, n_threads=2, max_new_tokens=256, cache=cache)
    roomy.on_truncated = lambda source, translation: told.append((source, translation))
    assert roomy.translate_report(SHORT[0], "de", "en").sentences[0].truncated is False
    assert len(told) == 3
    # A row from before cut outputs were stored (truncated NULL) is judged by its length.
    roomy_key = roomy.cache_key()
    long_enough = " ".join(["word"] * roomy._model.token_limit(SHORT[1]))
    for source, target in ((SHORT[1], long_enough), (SHORT[2], "Where is the station?")):
        cache.put(roomy_key, "de", "en", source, target)
        cache._db.execute("UPDATE translations SET truncated=NULL WHERE source=?", (source,))
    flags = [s.truncated for s in roomy.translate_report(f"{SHORT[1]} {SHORT[2]}", "de", "en").sentences]
    assert flags == [True, False]
    roomy.close()


def test_an_old_cache_gets_the_truncated_column(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE translations (model TEXT NOT NULL, src TEXT NOT NULL, tgt TEXT NOT NULL, "
                   "source TEXT NOT NULL, target TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0, logprob REAL, "
                   "PRIMARY KEY (model, src, tgt, source))")
        db.execute("INSERT INTO translations (model, src, tgt, source, target) VALUES ('m', 'de', 'en', 'Ja.', 'Yes.')")
    cache = TranslationCache(path)
    assert cache.get_entry("m", "de", "en", "Ja.") == ("Yes.", None, None)
    cache.put("m", "de", "en", "Nein.", "No.", truncated=True)
    assert cache.get_entry("m", "de", "en", "Nein.").truncated is True
