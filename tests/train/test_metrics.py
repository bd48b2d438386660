"""BLEU and chrF per target language (alma_train/evaluate/metrics.py): Japanese and Korean targets are scored
with MeCab's tokenizers, which the train extra installs (sacrebleu[ja,ko]); docs/evaluation.md."""

from __future__ import annotations

import pytest

from alma_train.evaluate.metrics import bleu_tokenizer, corpus_scores


@pytest.mark.parametrize(("tgt", "tokenizer", "hypothesis", "reference"), [
    ("ja", "ja-mecab", "猫が好きです。", "私は猫が好きです。"),
    ("ko", "ko-mecab", "고양이를 좋아해요.", "나는 고양이를 좋아해요."),
    ("zh", "zh", "我喜欢猫。", "我很喜欢猫。"),
    ("fr", "13a", "J'aime les chats.", "J'aime beaucoup les chats."),
])
def test_each_target_is_scored_with_its_tokenizer(tgt, tokenizer, hypothesis, reference):
    assert bleu_tokenizer(tgt) == tokenizer
    scores = corpus_scores([hypothesis, reference], [reference, reference], tgt)
    assert f"tok:{tokenizer}" in scores.bleu_signature
    assert 0 < scores.bleu < 100 and 0 < scores.chrf < 100  # one exact, one partial segment
    assert corpus_scores([reference], [reference], tgt).chrf == pytest.approx(100)


def test_unequal_lengths_are_refused():
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        corpus_scores(["a", "b"], ["a"], "de")
