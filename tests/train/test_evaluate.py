"""alma-train evaluate / compare with the real default model (HF export and GGUF) on the Django test split.

The numbers in each report are checked against sacreBLEU run directly on the hypotheses the command
wrote and on references read independently from the test data; the COMET path runs on a tiny COMET
checkpoint built here, offline.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF

from alma_core.prompts import build_prompt, clean_output
from alma_train.cli import main

LIMIT = 8


@pytest.fixture(scope="module")
def parallel_data(tmp_path_factory) -> Path:
    """The demo parallel corpus only (the monolingual part is not needed here)."""
    from alma_train.data.demo_data import build_demo_data

    root = tmp_path_factory.mktemp("eval-data")
    build_demo_data(root, monolingual=False)
    return root / "parallel"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def written_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def check_against_sacrebleu(report: dict, out: Path, direction: str, sources: list[str], refs: list[str]) -> None:
    entry = report["directions"][direction]
    hyps = written_lines(out.parent / entry["hypotheses"])
    assert entry["n"] == len(hyps) == len(refs) == len(sources)
    assert written_lines(out.parent / entry["references"]) == refs
    tgt = direction.split("-")[1]
    bleu = BLEU(tokenize="zh" if tgt == "zh" else "13a")
    assert entry["bleu"] == pytest.approx(bleu.corpus_score(hyps, [refs]).score, abs=1e-9)
    assert entry["chrf"] == pytest.approx(CHRF().corpus_score(hyps, [refs]).score, abs=1e-9)
    assert entry["bleu_signature"] == str(bleu.get_signature())
    assert f"tok:{'zh' if tgt == 'zh' else '13a'}" in entry["bleu_signature"]


@pytest.fixture(scope="module")
def hf_report(default_hf_dir, parallel_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval-hf") / "hf.json"
    code = main(["evaluate", "--model", str(default_hf_dir), "--test", str(parallel_data / "de-en" / "test.jsonl"),
                 "--pairs", "de-en", "--beams", "2", "--max-new-tokens", "32", "--limit", str(LIMIT),
                 "--batch-size", str(LIMIT), "--output", str(out)])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def tiny_comet(tmp_path_factory) -> Path:
    """A real COMET RegressionMetric with a tiny random XLM-R encoder, saved in comet's checkpoint layout."""
    import pytorch_lightning
    import torch
    import yaml
    from comet.models import RegressionMetric
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import XLMRobertaConfig, XLMRobertaTokenizerFast

    root = tmp_path_factory.mktemp("tiny-comet")
    encoder = root / "encoder"
    special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.WordPiece(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(["Change password", "Passwort ändern", "Save and continue editing", "Hello world"],
                            trainers.WordPieceTrainer(vocab_size=120, special_tokens=special))
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    XLMRobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                            cls_token="<s>", unk_token="<unk>", pad_token="<pad>",
                            mask_token="<mask>").save_pretrained(encoder)
    XLMRobertaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=600, pad_token_id=1, bos_token_id=0,
                     eos_token_id=2).save_pretrained(encoder)
    torch.manual_seed(0)
    metric = RegressionMetric(pretrained_model=str(encoder), load_pretrained_weights=False, local_files_only=True,
                              hidden_sizes=[16])
    (root / "checkpoints").mkdir()
    torch.save({"state_dict": metric.state_dict(), "hyper_parameters": dict(metric.hparams),
                "pytorch-lightning_version": pytorch_lightning.__version__, "epoch": 0, "global_step": 0},
               root / "checkpoints" / "model.ckpt")
    (root / "hparams.yaml").write_text(yaml.safe_dump(dict(metric.hparams)))
    return root


@pytest.fixture(scope="module")
def gguf_report(default_gguf, parallel_data, tiny_comet, tmp_path_factory):
    """GGUF run: de-en from the jsonl file, en-zh from a plain-text source/reference pair, with COMET."""
    work = tmp_path_factory.mktemp("eval-gguf")
    zh_records = read_jsonl(parallel_data / "zh-en" / "test.jsonl")[:LIMIT]
    (work / "test.en").write_text("".join(r["en"] + "\n" for r in zh_records), encoding="utf-8")
    (work / "test.zh").write_text("".join(r["zh"] + "\n" for r in zh_records), encoding="utf-8")
    out = work / "gguf.json"
    code = main(["evaluate", "--model", str(default_gguf), "--test", str(parallel_data / "de-en" / "test.jsonl"),
                 "--pairs", "de-en", "--src-file", str(work / "test.en"), "--ref-file", str(work / "test.zh"),
                 "--direction", "en-zh", "--max-new-tokens", "24", "--limit", str(LIMIT),
                 "--comet-model", str(tiny_comet), "--output", str(out)])
    assert code == 0
    return out


def test_evaluate_hf_scores_match_sacrebleu(hf_report, parallel_data, default_hf_dir):
    report = json.loads(hf_report.read_text())
    records = read_jsonl(parallel_data / "de-en" / "test.jsonl")[:LIMIT]
    check_against_sacrebleu(report, hf_report, "de-en", [r["de"] for r in records], [r["en"] for r in records])
    assert list(report["directions"]) == ["de-en"]
    assert report["decoding"] | {"beams": 2, "max_new_tokens": 32, "padding_side": "left", "do_sample": False} \
        == report["decoding"]
    assert report["model"]["kind"] == "hf" and report["model"]["path"] == str(default_hf_dir)
    assert report["comet"]["checkpoint"] is None and "no --comet-model" in report["comet"]["note"]
    assert report["directions"]["de-en"]["comet"] is None
    assert report["averages"]["xx-en"]["bleu"] == report["directions"]["de-en"]["bleu"]
    markdown = hf_report.with_suffix(".md").read_text()
    assert "| xx→en | de | Avg |" in markdown
    assert f"| de-en | {LIMIT} |" in markdown


def test_evaluate_hf_batched_left_padding_matches_single_sentences(hf_report, parallel_data, default_hf_dir):
    """Each sentence of the left-padded batch decodes as it does alone (right padding breaks 2 of these 8)."""
    from alma_train.evaluate.decode import DecodingSettings, HFTranslator

    records = read_jsonl(parallel_data / "de-en" / "test.jsonl")[:LIMIT]
    hyps = written_lines(hf_report.parent / "hf.de-en.hyp.txt")
    alone = HFTranslator(default_hf_dir, DecodingSettings(beams=2, max_new_tokens=32, batch_size=1))
    assert alone.translate([r["de"] for r in records], "de", "en") == hyps


def test_evaluate_gguf_scores_match_sacrebleu_and_llama(gguf_report, parallel_data, default_gguf, default_llama):
    report = json.loads(gguf_report.read_text())
    assert list(report["directions"]) == ["de-en", "en-zh"]  # xx->en before en->xx
    de = read_jsonl(parallel_data / "de-en" / "test.jsonl")[:LIMIT]
    zh = read_jsonl(parallel_data / "zh-en" / "test.jsonl")[:LIMIT]
    check_against_sacrebleu(report, gguf_report, "de-en", [r["de"] for r in de], [r["en"] for r in de])
    check_against_sacrebleu(report, gguf_report, "en-zh", [r["en"] for r in zh], [r["zh"] for r in zh])
    assert report["model"]["kind"] == "gguf" and report["decoding"]["beams"] == 1
    # Greedy llama.cpp without the early stop gives the same cut output as the evaluation did with it.
    hyps = written_lines(gguf_report.parent / "gguf.de-en.hyp.txt")
    for i in (0, 1):
        result = default_llama.create_completion(build_prompt("de", "en", de[i]["de"]), max_tokens=24,
                                                 temperature=0.0, top_k=1, repeat_penalty=1.0)
        assert hyps[i] == clean_output(result["choices"][0]["text"], "en")


def test_evaluate_comet_path_runs_with_a_tiny_checkpoint(gguf_report, parallel_data, tiny_comet):
    from comet import load_from_checkpoint

    report = json.loads(gguf_report.read_text())
    assert report["comet"]["checkpoint"] == str(tiny_comet / "checkpoints" / "model.ckpt")
    de = read_jsonl(parallel_data / "de-en" / "test.jsonl")[:LIMIT]
    hyps = written_lines(gguf_report.parent / "gguf.de-en.hyp.txt")
    model = load_from_checkpoint(str(tiny_comet / "checkpoints" / "model.ckpt"))
    samples = [{"src": r["de"], "mt": h, "ref": r["en"]} for r, h in zip(de, hyps, strict=True)]
    expected = model.predict(samples, batch_size=16, gpus=0, progress_bar=False, num_workers=0).system_score * 100
    got = report["directions"]["de-en"]["comet"]
    assert math.isfinite(got) and got == pytest.approx(expected, abs=1e-4)
    assert report["averages"]["en-xx"]["comet"] == report["directions"]["en-zh"]["comet"]
    assert "| COMET |" in gguf_report.with_suffix(".md").read_text()


def test_compare_puts_reports_side_by_side_with_deltas(hf_report, gguf_report, tmp_path, capsys):
    table = tmp_path / "compare.md"
    assert main(["compare", str(hf_report), str(gguf_report), "--names", "hf,gguf", "--output", str(table)]) == 0
    hf = json.loads(hf_report.read_text())["directions"]["de-en"]
    gguf = json.loads(gguf_report.read_text())["directions"]["de-en"]
    text = table.read_text()
    assert text in capsys.readouterr().out
    assert "| direction | hf | gguf | Δ |" in text
    assert f"| de-en | {hf['bleu']:.2f} | {gguf['bleu']:.2f} | {gguf['bleu'] - hf['bleu']:+.2f} |" in text
    assert f"| de-en | {hf['chrf']:.2f} | {gguf['chrf']:.2f} | {gguf['chrf'] - hf['chrf']:+.2f} |" in text
    assert "| en-zh | – |" in text  # only the GGUF report has en-zh
    assert "## COMET" in text


def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_evaluate_bad_input_exits_2_naming_the_fault(tmp_path, capsys, parallel_data, default_gguf):
    test_file = str(parallel_data / "de-en" / "test.jsonl")
    base = ["evaluate", "--model", str(default_gguf), "--output", str(tmp_path / "r.json")]
    assert "missing.jsonl" in _error(capsys, [*base, "--test", str(tmp_path / "missing.jsonl")])
    assert "'xx'" in _error(capsys, [*base, "--test", test_file, "--pairs", "xx-en"])
    assert "cs-en" in _error(capsys, [*base, "--test", test_file, "--pairs", "cs-en"])
    (tmp_path / "empty.jsonl").write_text("")
    assert "empty.jsonl" in _error(capsys, [*base, "--test", str(tmp_path / "empty.jsonl")])
    (tmp_path / "bad.jsonl").write_text('{"de": "Hallo", "en": "Hello"}\n{"de": \n')
    assert "bad.jsonl:2" in _error(capsys, [*base, "--test", str(tmp_path / "bad.jsonl")])
    (tmp_path / "a.de").write_text("eins\nzwei\n")
    (tmp_path / "a.en").write_text("one\n")
    err = _error(capsys, [*base, "--src-file", str(tmp_path / "a.de"), "--ref-file", str(tmp_path / "a.en"),
                          "--direction", "de-en"])
    assert "a.de has 2 lines" in err and "a.en has 1" in err
    assert "nope" in _error(capsys, ["evaluate", "--model", str(tmp_path / "nope"), "--test", test_file,
                                     "--output", str(tmp_path / "r.json")])
    assert "*.json" in _error(capsys, [*base[:-1], str(tmp_path / "r.txt"), "--test", test_file])
    assert "no-comet" in _error(capsys, [*base, "--test", test_file, "--comet-model", str(tmp_path / "no-comet")])
    assert "--beams" in _error(capsys, [*base, "--test", test_file, "--beams", "0"])
    assert not (tmp_path / "r.json").exists()
    (tmp_path / "x.json").write_text("[1]")
    assert "x.json" in _error(capsys, ["compare", str(tmp_path / "x.json"), str(tmp_path / "x.json")])
