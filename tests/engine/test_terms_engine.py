"""Terminology in the engine, on the real default model: terms placed, kept, reported, cached apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from desktop.engine import TranslationEngine
from desktop.engine.term_decoding import repair_kept_terms, substitute, term_grammar
from desktop.stores.cache import TranslationCache
from desktop.terminology import STRATEGIES, TermBase, TermEntry, Terms, check_strategy

ROOT = Path(__file__).resolve().parents[2]
SENTENCE = "Der Kunde hat das Passwort geändert."


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> TranslationCache:
    return TranslationCache(tmp_path_factory.mktemp("terms-cache") / "cache.sqlite3")


@pytest.fixture(scope="module")
def engine(default_gguf, cache) -> TranslationEngine:
    return TranslationEngine(default_gguf, n_threads=1, max_new_tokens=24, cache=cache)


@pytest.fixture(scope="module")
def terms() -> Terms:
    return Terms(TermBase([TermEntry("Kunde", "client")], "de", "en"))


def test_substitution_and_grammar_text():
    matches = TermBase([TermEntry("Kunde", "client"), TermEntry("Acme", "Acme", keep=True)], "de", "en").find(
        "Die Kunden von Acme.")
    assert substitute("Die Kunden von Acme.", matches) == "Die client von Acme."
    grammar = term_grammar([entry.entry for entry in matches])
    assert grammar.startswith("root ::= free term0 ending free term1 free\n")
    assert 'term0 ::= "client" | "Client"' in grammar and 'term1 ::= "Acme"\n' in grammar
    assert check_strategy("constrained") in STRATEGIES
    with pytest.raises(ValueError, match="unknown terminology strategy 'magic'"):
        check_strategy("magic")
    with pytest.raises(ValueError, match="unknown terminology strategy 'magic'"):
        Terms(TermBase([], "de", "en"), "magic")


def test_a_misspelt_do_not_translate_term_is_mended():
    thonny, pypi = TermEntry("Thonny", "Thonny", keep=True), TermEntry("Python Package Index", "Python Package Index", keep=True)
    assert repair_kept_terms("Opna í Thonnyu.", [thonny]) == "Opna í Thonny."
    assert repair_kept_terms("Thonnyuðuðuðuð", [thonny]) == "Thonny"  # a forced name that ran on
    assert repair_kept_terms("Opna Thony", [thonny]) == "Opna Thonny"
    assert repair_kept_terms("Sækja af Pyhton Package Indexi", [pypi]) == "Sækja af Python Package Index"
    # Nothing alike: left as it is (the engine then forces the term while decoding)
    assert repair_kept_terms("Opna skrá", [thonny]) == "Opna skrá"


def test_without_enforcement_the_missing_term_is_reported(engine, terms):
    report = engine.translate_report(SENTENCE, "de", "en", terms=Terms(terms.base, "none"))
    assert "client" not in report.text.lower()  # the small model says "customer" on its own
    assert [(s.index, s.source, s.missing) for s in report.sentences] == [(0, SENTENCE, [terms.base.entries[0]])]
    assert report.missing == report.sentences


def test_the_glossary_term_is_placed_and_cached_under_its_own_key(engine, terms, cache):
    plain = engine.translate(SENTENCE, "de", "en")
    report = engine.translate_report(SENTENCE, "de", "en", terms=terms)
    assert "client" in report.text.lower(), report.text
    assert report.sentences[0].missing == [] and report.text != plain
    key = engine.cache_key(terms)
    assert key != engine.cache_key() and terms.base.fingerprint() in key
    assert engine.cache_key(Terms(terms.base, "none")) == engine.cache_key()
    assert cache.get(key, "de", "en", SENTENCE) == report.text
    calls = engine.model_calls
    assert engine.translate(SENTENCE, "de", "en", terms=terms) == report.text and engine.model_calls == calls


def test_a_do_not_translate_term_is_kept(engine):
    keep = Terms(TermBase([TermEntry("AcmeCloud", "AcmeCloud", keep=True)], "de", "en"))
    text = engine.translate("Bitte öffnen Sie AcmeCloud jetzt.", "de", "en", terms=keep)
    assert "AcmeCloud" in text, text


# -- the command line and the local API -----------------------------------------------------------

def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "desktop.cli", "--max-new-tokens", "24", *args], input=stdin,
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


def test_the_cli_refuses_a_bad_glossary_line_with_exit_2(tmp_path):
    bad = tmp_path / "terms.tsv"
    bad.write_text("Kunde\tclient\nPasswort\n", encoding="utf-8")
    result = run_cli("--from", "de", "--to", "en", "--glossary", str(bad), stdin=SENTENCE)
    assert result.returncode == 2, result.stderr
    assert f"alma-translate: error: {bad}:2: one column" in result.stderr
    result = run_cli("--from", "de", "--to", "en", "--do-not-translate", str(tmp_path / "none.txt"))
    assert result.returncode == 2 and "none.txt: cannot be read" in result.stderr


def test_the_cli_warns_per_sentence_about_a_term_not_placed(tmp_path, default_gguf):
    glossary = tmp_path / "terms.tsv"
    glossary.write_text("de\ten\nKunde\tclient\n", encoding="utf-8")
    result = run_cli("-m", str(default_gguf), "--no-cache", "--from", "de", "--to", "en", "--glossary",
                     str(glossary), "--term-strategy", "none", stdin=SENTENCE + "\n")
    assert result.returncode == 0, result.stderr
    assert "stdin: sentence 1: term 'Kunde' -> 'client' not placed" in result.stderr


def test_an_api_request_with_a_glossary(engine):
    from desktop.api.server import ApiServer, ServerOptions

    payload = {"q": [SENTENCE, "Bitte öffnen Sie AcmeCloud jetzt."], "source": "de", "target": "en",
               "glossary": [{"source": "Kunde", "target": "client"}], "do_not_translate": ["AcmeCloud"]}
    with ApiServer(engine, ServerOptions(port=0, max_queue=1), own_engine=False) as server:
        request = urllib.request.Request(server.url + "translate", data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as response:
            answer = json.loads(response.read())
        bad = urllib.request.Request(server.url + "translate", headers={"Content-Type": "application/json"},
                                     data=json.dumps({**payload, "glossary": [{"source": "Kunde"}]}).encode())
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bad, timeout=600)
    assert "client" in answer["translatedText"][0].lower() and "AcmeCloud" in answer["translatedText"][1]
    assert answer["terms_missing"] == [[], []]
    assert refused.value.code == 400 and "glossary must be a list" in json.loads(refused.value.read())["error"]


def test_a_document_reports_its_sentences_without_their_terms(engine, terms, tmp_path):
    from desktop.documents import DocumentJob, JobOptions
    from desktop.terminology.missing import MissingTermReporter

    source = tmp_path / "note.txt"
    source.write_text(f"Hallo.\n\n{SENTENCE}\n", encoding="utf-8")
    told = []
    reporter = MissingTermReporter(lambda found: told.append((found.number, found.source, list(found.entries))))
    written = DocumentJob(source, JobOptions("de", "en", terms=Terms(terms.base, "none"),
                                             missing_terms=reporter)).run(engine)
    assert told == [(2, SENTENCE, [terms.base.entries[0]])]
    assert written.read_text(encoding="utf-8").count("\n") == 3
