"""Stage-2 readers (jsonl, TSV, TMX, gettext .po) and the stage-1 monolingual stream and packing."""

from __future__ import annotations

import gzip
import json
import textwrap

import pytest

from alma_core.parallel_files import DataFormatError, read_records
from alma_train.data.monolingual import (
    Document,
    PackedMonolingualDataset,
    check_sources,
    interleave,
    iter_documents,
    pack_blocks,
)
from alma_train.data.parallel import ParallelPair, directions_of, read_parallel

DE_EN = directions_of(["de-en"])


def test_directions_give_both_ways_and_check_codes():
    assert directions_of(["de-en", "cs-en"]) == [("de", "en"), ("en", "de"), ("cs", "en"), ("en", "cs")]
    assert directions_of(["de-en"], both_directions=False) == [("de", "en")]
    with pytest.raises(ValueError, match="'xx'"):
        directions_of(["xx-en"])


def test_jsonl_both_layouts_give_both_directions(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(
        json.dumps({"de": "Passwort ändern", "en": "Change  password"}) + "\n\n"
        + json.dumps({"translation": {"de": "Ja", "en": "Yes"}, "id": 7}) + "\n"
        + json.dumps({"cs": "Ano", "en": "Yes"}) + "\n",
        encoding="utf-8",
    )
    pairs = list(read_parallel([path], DE_EN))
    assert pairs == [
        ParallelPair("de", "en", "Passwort ändern", "Change password"),
        ParallelPair("en", "de", "Change password", "Passwort ändern"),
        ParallelPair("de", "en", "Ja", "Yes"),
        ParallelPair("en", "de", "Yes", "Ja"),
    ]


def _mixed_sources(path, big: int, small: int):
    rows = [{"de": f"Ahnen {i}", "en": f"Ancestors {i}", "source": "gramps"} for i in range(big)]
    rows += [{"de": f"Seite {i}", "en": f"Page {i}", "source": "wagtail"} for i in range(small)]
    rows += [{"de": "Ja", "en": "Yes"}]  # no source: its own group
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_cap_per_source_keeps_a_stable_sample_of_the_big_source_only(tmp_path):
    path = tmp_path / "train.jsonl"
    _mixed_sources(path, big=50, small=7)
    records = list(read_records(path))
    assert {r.origin for r in records} == {"gramps", "wagtail", ""}
    capped = list(read_parallel([path], directions_of(["de-en"], both_directions=False), 10))
    english = [p.tgt for p in capped]
    assert sum(e.startswith("Ancestors") for e in english) == 10
    assert sum(e.startswith("Page") for e in english) == 7 and "Yes" in english
    # The same sample on every run, in file order; a different cap keeps a superset.
    again = [p.tgt for p in read_parallel([path], directions_of(["de-en"], both_directions=False), 10)]
    assert again == english
    assert english == [p.tgt for p in read_parallel([path], directions_of(["de-en"], both_directions=False))
                       if p.tgt in english]
    wider = {p.tgt for p in read_parallel([path], directions_of(["de-en"], both_directions=False), 20)}
    assert set(english) <= wider and len(wider) == 20 + 7 + 1


def test_stage2_data_mix_settings_cap_and_repeat(tmp_path):
    from alma_train.train.config import ConfigError, load_config
    from alma_train.train.trainer import read_stage2_pairs

    _mixed_sources(tmp_path / "de.jsonl", big=40, small=5)
    (tmp_path / "is.jsonl").write_text("".join(json.dumps({"is": f"Síða {i}", "en": f"Page {i}"}) + "\n"
                                               for i in range(3)), encoding="utf-8")
    settings = {"stage": "stage2", "pairs": ["de-en", "is-en"], "data_dir": str(tmp_path),
                "train_files": ["de.jsonl", "is.jsonl"], "output_dir": str(tmp_path / "out"),
                "max_train_records_per_source": "12", "pair_repeats": {"en-is": 3}}
    with pytest.raises(ConfigError, match="max_train_records_per_source"):
        load_config(None, settings)
    with pytest.raises(ConfigError, match="0 .no cap. or more"):
        load_config(None, {**settings, "max_train_records_per_source": -1})
    settings["max_train_records_per_source"] = 12
    train, _ = read_stage2_pairs(load_config(None, settings))
    directions = [f"{p.src_lang}-{p.tgt_lang}" for p in train]
    # de: 12 gramps + 5 wagtail + 1 unsourced records, both ways; is: 3 records x 3 repeats, both ways.
    assert directions.count("de-en") == directions.count("en-de") == 18
    assert directions.count("is-en") == directions.count("en-is") == 9
    with pytest.raises(ConfigError, match="'pair_repeats' names 'fr-en'"):
        read_stage2_pairs(load_config(None, {**settings, "pair_repeats": {"fr-en": 2}}))
    with pytest.raises(ConfigError, match="at least once"):
        read_stage2_pairs(load_config(None, {**settings, "pair_repeats": {"is-en": 0}}))


def test_jsonl_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"de": "Ja", "en": "Yes"}\n{"de": "Nein", "en": \n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"{path}:2: not valid JSON"):
        list(read_records(path))
    path.write_text('{"de": "Ja", "en": 3}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"{path}:1: value of 'en'"):
        list(read_records(path))


def test_tsv_reads_header_languages_and_rejects_ragged_rows(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_text("en\tde-DE\nYes\tJa\nSave\tSpeichern\n", encoding="utf-8")
    assert list(read_parallel([path], DE_EN))[:2] == [
        ParallelPair("de", "en", "Ja", "Yes"), ParallelPair("en", "de", "Yes", "Ja")]
    assert len(list(read_parallel([path], DE_EN))) == 4
    path.write_text("en\tde\nYes\tJa\nSave\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"{path}:3: 1 columns"):
        list(read_records(path))
    path.write_text("Yes\tJa\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"{path}:1: the first row must name the language"):
        list(read_records(path))


TMX = textwrap.dedent("""\
    <?xml version="1.0" encoding="UTF-8"?>
    <tmx version="1.4">
      <header srclang="en-US" datatype="plaintext" segtype="sentence" adminlang="en" o-tmf="x" creationtool="t" creationtoolversion="1"/>
      <body>
        <tu>
          <tuv xml:lang="en-US"><seg>Open the <bpt i="1">&lt;b&gt;</bpt>file<ept i="1">&lt;/b&gt;</ept></seg></tuv>
          <tuv xml:lang="de-DE"><seg>Datei öffnen</seg></tuv>
        </tu>
        <tu>
          <tuv xml:lang="en-US"><seg>Close</seg></tuv>
          <tuv xml:lang="fr-FR"><seg>Fermer</seg></tuv>
        </tu>
      </body>
    </tmx>
    """)


def test_tmx_units_give_pairs_in_the_configured_languages(tmp_path):
    path = tmp_path / "memory.tmx"
    path.write_text(TMX, encoding="utf-8")
    records = list(read_records(path))
    assert [r.line for r in records] == [5, 9]
    # Inline markup (<bpt>/<ept>) contributes its text; the French-only unit gives no de-en pair.
    assert list(read_parallel([path], DE_EN)) == [
        ParallelPair("de", "en", "Datei öffnen", "Open the <b>file</b>"),
        ParallelPair("en", "de", "Open the <b>file</b>", "Datei öffnen"),
    ]


def test_tmx_malformed_xml_names_the_line(tmp_path):
    path = tmp_path / "broken.tmx"
    path.write_text(TMX.replace("<seg>Close</seg>", "<seg>Close</sge>"), encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"{path}:10: malformed TMX"):
        list(read_records(path))


def test_po_catalog_of_django_gives_pairs(tmp_path):
    from alma_train.data.demo_data import django_locale_root

    catalog = sorted(django_locale_root().glob("contrib/auth/locale/de/LC_MESSAGES/django.po"))[0]
    pairs = list(read_parallel([catalog], DE_EN))
    assert len(pairs) > 50
    assert ParallelPair("en", "de", "Password", "Passwort") in pairs
    assert all(p.src and p.tgt for p in pairs)


def test_po_skips_fuzzy_and_names_bad_syntax(tmp_path):
    path = tmp_path / "x.po"
    path.write_text(textwrap.dedent("""\
        msgid ""
        msgstr ""
        "Language: de\\n"
        "Content-Type: text/plain; charset=UTF-8\\n"

        msgid "Yes"
        msgstr "Ja"

        #, fuzzy
        msgid "No"
        msgstr "Nee"
        """), encoding="utf-8")
    assert list(read_parallel([path], directions_of(["en-de"], both_directions=False))) == [
        ParallelPair("en", "de", "Yes", "Ja")]
    path.write_text('msgid "Yes"\nmsgstr "Ja"\nmsgstr oops\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=rf"{path}: .*line 3"):
        list(read_records(path))


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match="unknown parallel data format"):
        read_records(tmp_path / "a.csv")
    with pytest.raises(FileNotFoundError, match="not found"):
        read_records(tmp_path / "a.jsonl")


# --- stage 1 ----------------------------------------------------------------------------------------


def test_monolingual_txt_jsonl_and_gzip(tmp_path):
    (tmp_path / "a.txt").write_text("first doc\nline two\n\n\nsecond doc\n", encoding="utf-8")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": "Hallo Welt"}) + "\n" + json.dumps({"text": "  "}) + "\n")
    assert list(iter_documents(tmp_path / "a.txt")) == ["first doc\nline two", "second doc"]
    assert list(iter_documents(tmp_path / "b.jsonl.gz")) == ["Hallo Welt"]
    (tmp_path / "c.jsonl").write_text('{"text": "x"}\n{"txt": "y"}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"c.jsonl:2"):
        list(iter_documents(tmp_path / "c.jsonl"))


def test_check_sources_rejects_empty_unknown_and_missing(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        check_sources({"de": tmp_path / "empty.jsonl"}, {})
    with pytest.raises(ValueError, match="'xx'"):
        check_sources({"xx": tmp_path / "empty.jsonl"}, {})
    with pytest.raises(FileNotFoundError):
        check_sources({"de": tmp_path / "none.jsonl"}, {})


def test_interleave_follows_probabilities_and_cycles(tmp_path):
    (tmp_path / "de.txt").write_text("a\n\nb\n", encoding="utf-8")
    (tmp_path / "en.txt").write_text("c\n", encoding="utf-8")
    stream = interleave({"de": tmp_path / "de.txt", "en": tmp_path / "en.txt"}, {"de": 0.8, "en": 0.2}, seed=1)
    docs = [next(stream) for _ in range(2000)]
    share_de = sum(d.lang == "de" for d in docs) / len(docs)
    assert 0.75 < share_de < 0.85
    assert {d.text for d in docs if d.lang == "de"} == {"a", "b"}  # the short file starts over
    zero = interleave({"de": tmp_path / "de.txt", "en": tmp_path / "en.txt"}, {"de": 1.0, "en": 0.0})
    assert all(next(zero).lang == "de" for _ in range(50))


def test_pack_blocks_wraps_bos_doc_eos_and_cuts_fixed_blocks():
    docs = iter([Document("en", "abc"), Document("en", "de"), Document("en", "fghij")])
    blocks = list(pack_blocks(docs, lambda t: [ord(c) for c in t], bos_id=1, eos_id=2, block_size=4))
    stream = [1, 97, 98, 99, 2, 1, 100, 101, 2, 1, 102, 103, 104, 105, 106, 2]
    assert blocks == [stream[0:4], stream[4:8], stream[8:12], stream[12:16]]


def test_packed_dataset_with_smollm2_adds_bos_and_trains_every_token(tmp_path, default_hf_dir, demo_data):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(default_hf_dir)
    sources = {lang: demo_data / "monolingual" / f"{lang}.jsonl" for lang in ("en", "de")}
    dataset = PackedMonolingualDataset(sources, {"en": 0.5, "de": 0.5}, tok, block_size=64)
    blocks = []
    for block in dataset:
        blocks.append(block)
        if len(blocks) == 300:  # more tokens than the two small files hold: the stream keeps going
            break
    assert all(len(b["input_ids"]) == 64 and b["labels"] == b["input_ids"] for b in blocks)
    first = blocks[0]["input_ids"]
    # SmolLM2 adds no BOS itself; stage 1 wraps each document as BOS + doc + EOS explicitly.
    assert first[0] == tok.bos_token_id == 1
    flat = [t for b in blocks for t in b["input_ids"]]
    bos_positions = [i for i, t in enumerate(flat) if t == tok.bos_token_id]
    assert len(bos_positions) >= 3
    # Every document after the first starts right after the previous one's EOS.
    assert all(flat[i - 1] == tok.eos_token_id for i in bos_positions[1:])


def test_packed_stream_outlasts_the_corpus(tmp_path, default_hf_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(default_hf_dir)
    (tmp_path / "en.txt").write_text("One short document.\n\nAnother one.\n", encoding="utf-8")
    dataset = PackedMonolingualDataset({"en": tmp_path / "en.txt"}, {}, tok, block_size=16)
    stream = iter(dataset)
    blocks = [next(stream) for _ in range(50)]  # far more tokens than the file holds
    flat = [t for b in blocks for t in b["input_ids"]]
    doc_ids = tok("One short document.", add_special_tokens=False)["input_ids"]
    assert flat[: len(doc_ids) + 2] == [tok.bos_token_id, *doc_ids, tok.eos_token_id]
    assert flat.count(tok.bos_token_id) > 40
