"""Corpus BLEU and chrF with sacreBLEU, with the signatures that make the numbers comparable.

Tokenizers per target language: docs/evaluation.md#what-it-does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Targets whose text is not space-separated need their own BLEU tokenizer.
BLEU_TOKENIZERS = {"zh": "zh", "ja": "ja-mecab", "ko": "ko-mecab"}


@dataclass(frozen=True)
class CorpusScores:
    """BLEU and chrF of one direction, each with its sacreBLEU signature."""

    bleu: float
    chrf: float
    bleu_signature: str
    chrf_signature: str


def bleu_tokenizer(tgt: str) -> str:
    """sacreBLEU tokenizer name for a target language code."""
    return BLEU_TOKENIZERS.get(tgt, "13a")


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str], tgt: str) -> CorpusScores:
    """Corpus BLEU and chrF of hypotheses against one reference each."""
    from sacrebleu.metrics import BLEU, CHRF

    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    tokenize = bleu_tokenizer(tgt)
    try:
        bleu = BLEU(tokenize=tokenize)
    except (ImportError, RuntimeError) as exc:  # ja-mecab / ko-mecab without their extra packages
        first_line = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise ValueError(f"BLEU tokenizer {tokenize!r} for target {tgt!r} is not usable here: {first_line.strip()} "
                         "(pip install 'sacrebleu[ja]' or 'sacrebleu[ko]')") from None
    chrf = CHRF()
    refs = [list(references)]
    bleu_score = bleu.corpus_score(list(hypotheses), refs)
    chrf_score = chrf.corpus_score(list(hypotheses), refs)
    return CorpusScores(
        bleu=float(bleu_score.score),
        chrf=float(chrf_score.score),
        bleu_signature=str(bleu.get_signature()),
        chrf_signature=str(chrf.get_signature()),
    )
