"""The app's glossary store (desktop.terminology.store) without Qt, and the one builder of a direction's terms."""

from __future__ import annotations

from pathlib import Path

from desktop.terminology import TermEntry
from desktop.terminology.sources import EntryList, GlossarySet, direction_terms, load_terms
from desktop.terminology.store import DO_NOT_TRANSLATE, GLOSSARY, GlossaryStore


def store_with_lists(folder: Path) -> GlossaryStore:
    store = GlossaryStore(folder).load()
    store.add("Terms", GLOSSARY, "de", "en", [TermEntry("Kunde", "client"), TermEntry("Vertrag", "contract")])
    store.add("Names", DO_NOT_TRANSLATE, "de", "en", [TermEntry("AlmaSync", "AlmaSync", keep=True)])
    return store


def test_the_store_is_a_term_source_for_the_directions_its_lists_are_on_for(tmp_path):
    store = store_with_lists(tmp_path / "glossaries")
    assert [(e.source, e.target) for e in store.entries("de", "en")] == [
        ("Kunde", "client"), ("Vertrag", "contract"), ("AlmaSync", "AlmaSync")]
    assert [e.source for e in store.entries("en", "de")] == ["AlmaSync"]  # a glossary: its own direction first
    store.set_enabled(store.glossaries[0], "en", "de", True)
    assert [(e.source, e.target) for e in store.terms_for("en", "de")][:1] == [("client", "Kunde")]
    assert store.terms_for("fr", "en") is None
    # Read again from disk, Qt-free, as alma-translate and serve read it.
    again = GlossaryStore(tmp_path / "glossaries").load(read_only=True)
    assert [e.source for e in again.entries("en", "de")] == ["client", "contract", "AlmaSync"]


def test_a_later_source_wins_and_none_is_skipped():
    first = EntryList([TermEntry("Kunde", "customer"), TermEntry("Rechnung", "invoice")])
    later = EntryList([TermEntry("kunde", "client")])
    terms = direction_terms([first, None, later], "de", "en")
    assert [(e.source, e.target) for e in terms] == [("Rechnung", "invoice"), ("kunde", "client")]
    assert len(direction_terms([], "de", "en")) == 0


def test_app_glossaries_come_before_files_which_win(tmp_path):
    store = store_with_lists(tmp_path / "glossaries")
    glossary = tmp_path / "mine.tsv"
    glossary.write_text("de\ten\nKunde\tpatron\n", encoding="utf-8")
    terms = load_terms([glossary], [], "de", "en", before=[store])
    assert {e.source: e.target for e in terms}["Kunde"] == "patron"
    assert len(terms) == 3
    server = GlossarySet([glossary], before=[store])
    assert [e.target for e in server.entries("de", "en")][-1] == "patron" and server
    assert [e.source for e in server.entries("en", "de")] == ["AlmaSync", "patron"]  # the header's pair either way
    empty = GlossaryStore(tmp_path / "none").load(read_only=True)
    assert load_terms([], [], "de", "en", before=[empty]) is None  # no file, no app term: no terms at all


def test_read_only_leaves_a_broken_index_where_it_is(tmp_path):
    folder = tmp_path / "glossaries"
    store_with_lists(folder)
    (folder / "index.json").write_text("{broken", encoding="utf-8")
    store = GlossaryStore(folder).load(read_only=True)
    assert store.glossaries == [] and "index.json:1" in store.problems[0]
    assert (folder / "index.json").read_text(encoding="utf-8") == "{broken"
    assert not (folder / "index.json.broken").exists()
