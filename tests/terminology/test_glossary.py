"""Glossary files (TSV, CSV, TBX, do-not-translate lists) and term matching across inflections."""

from __future__ import annotations

import pytest

from desktop.terminology import (
    GlossaryError,
    TermBase,
    TermEntry,
    read_do_not_translate,
    read_glossary,
    target_present,
    write_glossary,
)

TBX = """<?xml version="1.0" encoding="UTF-8"?>
<martif type="TBX" xml:lang="de">
<text><body>
<termEntry id="c1">
  <descrip type="definition">a person who buys</descrip>
  <langSet xml:lang="de-DE"><tig><term>Kunde</term></tig></langSet>
  <langSet xml:lang="en">
    <tig><term>customer</term><termNote type="administrativeStatus">deprecatedTerm-admn-sts</termNote></tig>
    <tig><term>client</term></tig>
  </langSet>
</termEntry>
<termEntry id="c2">
  <langSet xml:lang="de"><tig><term>Passwort</term></tig></langSet>
  <langSet xml:lang="fr"><tig><term>mot de passe</term></tig></langSet>
</termEntry>
<termEntry id="c3">
  <langSet xml:lang="de">
    <tig><term>Rechnung</term></tig>
    <tig><term>Faktura</term><termNote type="administrativeStatus">deprecatedTerm-admn-sts</termNote></tig>
  </langSet>
  <langSet xml:lang="en"><tig><term>invoice</term></tig></langSet>
</termEntry>
</body></text></martif>
"""


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- reading -------------------------------------------------------------------------------------

def test_tsv_with_comments_header_and_notes(tmp_path):
    path = write(tmp_path, "terms.tsv", "# company terms\nde\ten\n\nKunde\tclient\tnever 'customer'\n"
                                        "Passwort\tpassword\n")
    entries = read_glossary(path, "de", "en")
    assert entries == [TermEntry("Kunde", "client", "never 'customer'", f"{path}:4"),
                       TermEntry("Passwort", "password", "", f"{path}:5")]


def test_a_reversed_header_swaps_the_columns_and_other_languages_are_refused(tmp_path):
    path = write(tmp_path, "terms.tsv", "en\tde\nclient\tKunde\n")
    assert read_glossary(path, "de", "en") == [TermEntry("Kunde", "client", "", f"{path}:2")]
    with pytest.raises(GlossaryError, match=r"terms\.tsv:1: the header names en-de.*cs-en"):
        read_glossary(path, "cs", "en")


@pytest.mark.parametrize(("line", "problem"), [
    ("Kunde", "one column"),
    ("Kunde\tclient\tnote\textra", "4 columns"),
    ("\tclient", "empty source"),
    ("Kunde\t ", "empty target"),
])
def test_a_bad_tsv_line_is_named_by_file_and_line(tmp_path, line, problem):
    path = write(tmp_path, "bad.tsv", f"Passwort\tpassword\n# comment\n{line}\n")
    with pytest.raises(GlossaryError, match=problem) as caught:
        read_glossary(path, "de", "en")
    assert str(caught.value).startswith(f"{path}:3: ")


def test_csv_comma_and_semicolon(tmp_path):
    comma = write(tmp_path, "c.csv", 'source,target,note\nKunde,client,"a person, who buys"\n')
    assert read_glossary(comma, "de", "en") == [TermEntry("Kunde", "client", "a person, who buys", f"{comma}:2")]
    semicolon = write(tmp_path, "s.csv", "Kunde;client\nPasswort;password\n")
    assert [(e.source, e.target) for e in read_glossary(semicolon, "de", "en")] == [
        ("Kunde", "client"), ("Passwort", "password")]
    bad = write(tmp_path, "bad.csv", "Kunde,client\nPasswort\n")
    with pytest.raises(GlossaryError, match=r"bad\.csv:2: one column"):
        read_glossary(bad, "de", "en")


def test_tbx_reads_the_pair_and_skips_deprecated_terms(tmp_path):
    path = write(tmp_path, "terms.tbx", TBX)
    entries = read_glossary(path, "de", "en")
    assert [(e.source, e.target) for e in entries] == [("Kunde", "client"), ("Rechnung", "invoice")]
    assert entries[0].note == "a person who buys"
    assert entries[0].origin.startswith(f"{path}:")
    assert [(e.source, e.target) for e in read_glossary(path, "de", "fr")] == [("Passwort", "mot de passe")]


def test_bad_tbx_files_are_refused_with_the_file_named(tmp_path):
    broken = write(tmp_path, "broken.tbx", TBX.replace("</termEntry>", "", 1))
    with pytest.raises(GlossaryError, match=r"broken\.tbx: line \d+"):
        read_glossary(broken, "de", "en")
    entities = write(tmp_path, "bomb.tbx", '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaa">]><martif>&a;</martif>')
    with pytest.raises(GlossaryError, match=r"bomb\.tbx: declares XML entities"):
        read_glossary(entities, "de", "en")


def test_unknown_format_missing_file_and_bad_encoding(tmp_path):
    with pytest.raises(GlossaryError, match=r"terms\.xlsx: unknown glossary format"):
        read_glossary(tmp_path / "terms.xlsx", "de", "en")
    with pytest.raises(GlossaryError, match=r"missing\.tsv: cannot be read"):
        read_glossary(tmp_path / "missing.tsv", "de", "en")
    latin1 = tmp_path / "latin1.tsv"
    latin1.write_bytes("Kunde\tclient\nStraße\tstreet\n".encode("latin-1"))
    with pytest.raises(GlossaryError, match=r"latin1\.tsv:2: not UTF-8"):
        read_glossary(latin1, "de", "en")


def test_do_not_translate_list(tmp_path):
    path = write(tmp_path, "dnt.txt", "# product names\nAcmeCloud\n\nSAP HANA\n")
    assert read_do_not_translate(path) == [TermEntry("AcmeCloud", "AcmeCloud", "", f"{path}:2", keep=True),
                                           TermEntry("SAP HANA", "SAP HANA", "", f"{path}:4", keep=True)]


@pytest.mark.parametrize("suffix", [".tsv", ".csv", ".tbx"])
def test_write_and_read_back(tmp_path, suffix):
    entries = [TermEntry("Kunde", "client", "a person, who buys"), TermEntry("Passwort", "password")]
    path = tmp_path / f"export{suffix}"
    write_glossary(path, entries, "de", "en")
    back = read_glossary(path, "de", "en")
    assert [(e.source, e.target, e.note) for e in back] == [(e.source, e.target, e.note) for e in entries]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


# -- matching ------------------------------------------------------------------------------------

def sources(terms: TermBase, sentence: str) -> list[str]:
    return [sentence[m.start:m.end] for m in terms.find(sentence)]


def test_german_terms_match_case_insensitively_and_inflected():
    terms = TermBase([TermEntry("Kunde", "client"), TermEntry("Passwort", "password")], "de", "en")
    assert sources(terms, "Der Kunde hat das Passwort geändert.") == ["Kunde", "Passwort"]
    assert sources(terms, "Wir helfen unseren Kunden, die PASSWÖRTER nie vergessen.") == ["Kunden"]
    assert sources(terms, "Die Passworte der Kunden.") == ["Passworte", "Kunden"]
    # word boundaries: no match inside other words
    assert sources(terms, "Die Kundschaft und der Stammkunde.") == []


def test_russian_and_czech_case_endings():
    ru = TermBase([TermEntry("файл", "file"), TermEntry("папка", "folder")], "ru", "en")
    assert sources(ru, "Размер файла больше, чем у всех файлов в папке.") == ["файла", "файлов", "папке"]
    assert sources(ru, "Откройте Файл и папку.") == ["Файл", "папку"]
    assert sources(ru, "Файловый менеджер") == []
    cs = TermBase([TermEntry("smlouva", "contract"), TermEntry("zákazník", "client")], "cs", "en")
    assert sources(cs, "Podle smlouvy musí zákazníkovi poslat smlouvu.") == ["smlouvy", "zákazníkovi", "smlouvu"]
    assert sources(cs, "Zákazníci podepsali smlouvě.") == ["Zákazníci", "smlouvě"]
    assert sources(TermBase([TermEntry("kniha", "book")], "cs", "en"), "V knize a knihy.") == ["knize", "knihy"]


def test_icelandic_and_english_inflections():
    is_ = TermBase([TermEntry("reikningur", "invoice")], "is", "en")
    assert sources(is_, "Ég sendi reikninga og reikningi.") == ["reikninga", "reikningi"]
    en = TermBase([TermEntry("policy", "Richtlinie"), TermEntry("store", "speichern")], "en", "de")
    assert sources(en, "Both policies are stored.") == ["policies", "stored"]


def test_multi_word_terms_win_over_their_parts_and_chinese_matches_substrings():
    terms = TermBase([TermEntry("Passwort", "password"), TermEntry("neues Passwort", "new passphrase")],
                     "de", "en")
    matches = terms.find("Ein neues  Passwort und neue Passwörter.")
    assert [(m.entry.target, m.start) for m in matches] == [("new passphrase", 4)]
    zh = TermBase([TermEntry("客户", "client")], "zh", "en")
    assert sources(zh, "我们的客户更改了密码。") == ["客户"]


def test_do_not_translate_terms_are_case_sensitive_and_later_entries_override():
    terms = TermBase([TermEntry("Acme", "ACME Corp"), TermEntry("Acme", "Acme", keep=True)], "de", "en")
    assert len(terms) == 1 and terms.entries[0].keep
    assert sources(terms, "Acme und ACME und acme.") == ["Acme"]
    assert sources(terms, "Acmes Produkte") == []


def test_target_present_tolerates_inflection_of_the_target_term():
    assert target_present("The clients changed it.", TermEntry("Kunde", "client"), "en")
    assert not target_present("The customer changed it.", TermEntry("Kunde", "client"), "en")
    assert target_present("Размер файлов.", TermEntry("file", "файл"), "ru")
    assert target_present("Wir danken unseren Kunden.", TermEntry("client", "Kunde"), "de")
    assert not target_present("Die Kundschaft.", TermEntry("client", "Kunde"), "de")
    dnt = TermEntry("AcmeCloud", "AcmeCloud", keep=True)
    assert target_present("Open AcmeCloud now.", dnt, "en")
    assert not target_present("Open Acmecloud now.", dnt, "en")


def test_missing_and_fingerprint():
    terms = TermBase([TermEntry("Kunde", "client"), TermEntry("Passwort", "password")], "de", "en")
    assert terms.missing("Der Kunde hat das Passwort geändert.", "The customer changed the password.") == [
        TermEntry("Kunde", "client")]
    same = TermBase(list(reversed(terms.entries)), "de", "en")
    assert same.fingerprint() == terms.fingerprint()
    assert TermBase(terms.entries, "de", "fr").fingerprint() != terms.fingerprint()
    assert TermBase([TermEntry("Kunde", "customer")], "de", "en").fingerprint() != terms.fingerprint()


def test_a_glossary_set_serves_each_direction_its_files(tmp_path):
    from desktop.terminology.files import glossary_languages
    from desktop.terminology.sources import GlossarySet, load_terms

    de_en = write(tmp_path, "de-en.tsv", "en\tde\nclient\tKunde\n")
    any_pair = write(tmp_path, "any.csv", "Passwort,password\n")
    keep = write(tmp_path, "dnt.txt", "AcmeCloud\n")
    assert glossary_languages(de_en) == ("en", "de") and glossary_languages(any_pair) is None
    terms = GlossarySet([de_en, any_pair], [keep])
    assert [(e.source, e.target, e.keep) for e in terms.entries("de", "en")] == [
        ("Kunde", "client", False), ("Passwort", "password", False), ("AcmeCloud", "AcmeCloud", True)]
    assert [e.source for e in terms.entries("cs", "en")] == ["Passwort", "AcmeCloud"]
    bad = write(tmp_path, "bad.tsv", "Kunde\tclient\nnur eine Spalte\n")
    with pytest.raises(GlossaryError, match=r"bad\.tsv:2: one column"):
        GlossarySet([any_pair, bad])
    assert load_terms([], [], "de", "en") is None
    assert len(load_terms([de_en], [keep], "de", "en")) == 2


def test_a_glossary_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from desktop.terminology import files as glossary

    path = tmp_path / "big.tsv"
    path.write_text("en\tde\n" + "file\tDatei\n" * 1000, encoding="utf-8")
    monkeypatch.setattr(glossary, "MAX_GLOSSARY_BYTES", 1024)
    with pytest.raises(GlossaryError, match=r"big\.tsv: 0 MB; the limit for a glossary is 0 MB"):
        glossary.read_glossary(path, "en", "de")
    monkeypatch.setattr(glossary, "MAX_GLOSSARY_BYTES", 1 << 20)
    assert {(e.source, e.target) for e in glossary.read_glossary(path, "en", "de")} == {("file", "Datei")}
