"""Evaluation: decode test sets (HF or GGUF), score them (BLEU, chrF, COMET), report (docs/evaluation.md)."""
