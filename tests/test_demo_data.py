"""The demo corpora, built for real from Django's catalogs and Debian's man pages."""

from __future__ import annotations

import json
import re

from alma_train.demo_data import DEMO_LANGUAGES, DEMO_MONO_LANGUAGES, SPLITS, build_parallel, split_of


def _read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_parallel_pairs_for_every_demo_language(demo_data):
    for lang in DEMO_LANGUAGES:
        sizes = {}
        for split in SPLITS:
            records = _read(demo_data / "parallel" / f"{lang}-en" / f"{split}.jsonl")
            sizes[split] = len(records)
            assert all(set(r) == {lang, "en"} and r[lang] and r["en"] for r in records)
        # ~80/10/10 of several hundred human-written UI strings.
        assert sizes["train"] > 400 and sizes["valid"] > 40 and sizes["test"] > 40, (lang, sizes)
        assert sizes["train"] > 5 * sizes["test"]


def test_split_is_deterministic_and_leak_free(demo_data, tmp_path):
    build_parallel(tmp_path, languages=["de"])
    for split in SPLITS:
        again = (tmp_path / "de-en" / f"{split}.jsonl").read_bytes()
        assert again == (demo_data / "parallel" / "de-en" / f"{split}.jsonl").read_bytes()
    # The same English string falls in the same split for every language.
    test_en = {r["en"] for r in _read(demo_data / "parallel" / "de-en" / "test.jsonl")}
    train_en_cs = {r["en"] for r in _read(demo_data / "parallel" / "cs-en" / "train.jsonl")}
    assert not test_en & train_en_cs
    assert all(split_of(en) == "test" for en in test_en)


def test_chinese_side_is_chinese(demo_data):
    records = _read(demo_data / "parallel" / "zh-en" / "train.jsonl")
    han = sum(bool(re.search(r"[\u4e00-\u9fff]", r["zh"])) for r in records)
    assert han > 0.9 * len(records)


def test_monolingual_man_pages(demo_data):
    scripts = {"ru": r"[\u0400-\u04ff]", "zh": r"[\u4e00-\u9fff]", "cs": r"[ěščřžůň]", "de": r"[äöüß]"}
    for lang in DEMO_MONO_LANGUAGES:
        docs = _read(demo_data / "monolingual" / f"{lang}.jsonl")
        assert len(docs) >= 10, lang
        assert all(len(d["text"]) >= 200 and "\x08" not in d["text"] for d in docs)
        if lang in scripts:
            joined = "".join(d["text"] for d in docs)
            assert len(re.findall(scripts[lang], joined)) > 100, lang
