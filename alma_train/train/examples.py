"""Stage-2 tokenization and loss masking, as pure functions: the prompt masked, the target and EOS trained,
padding masked by position, never by id (docs/training.md#what-carries-loss-in-stage-2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alma_core.prompts import build_prompt
from alma_train.data.parallel import ParallelPair

IGNORE_INDEX = -100


@dataclass(frozen=True)
class TokenizedExample:
    """input_ids and labels of equal length; labels are IGNORE_INDEX where no loss is taken."""

    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def cap_source(text: str, tokenizer, max_tokens: int) -> str:
    """The source text cut to at most max_tokens tokens (unchanged when it fits)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= max_tokens:
        return text
    return tokenizer.decode(ids[:max_tokens], skip_special_tokens=True)


def tokenize_pair(pair: ParallelPair, tokenizer, max_source_tokens: int = 256,
                  max_target_tokens: int = 256) -> TokenizedExample:
    """Token ids and loss labels of one pair: prompt masked, target + EOS trained.

    The prompt is tokenized with the tokenizer's own special tokens (it adds BOS if it does: LLaMA
    yes, SmolLM2 no); the target without. A target longer than max_target_tokens is cut and gets no
    EOS, since the model must not learn to stop in the middle of a sentence.
    """
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no EOS token; stage 2 trains the model to emit it")
    source = cap_source(pair.src, tokenizer, max_source_tokens)
    prompt_ids = list(tokenizer(build_prompt(pair.src_lang, pair.tgt_lang, source))["input_ids"])
    target_ids = list(tokenizer(pair.tgt, add_special_tokens=False)["input_ids"])
    if len(target_ids) > max_target_tokens:
        target_ids = target_ids[:max_target_tokens]
    else:
        target_ids.append(tokenizer.eos_token_id)
    return TokenizedExample(
        input_ids=prompt_ids + target_ids,
        labels=[IGNORE_INDEX] * len(prompt_ids) + target_ids,
    )


def tokenize_pairs(pairs: Sequence[ParallelPair], tokenizer, max_source_tokens: int = 256,
                   max_target_tokens: int = 256, batch_size: int = 2048) -> list[TokenizedExample]:
    """tokenize_pair for many pairs, the same ids, with one tokenizer call per batch and field.

    A fast tokenizer encodes a list in one call (in Rust, without a Python round trip per text):
    on the 90k examples of the demo corpus this takes seconds where one call per text took minutes.
    """
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no EOS token; stage 2 trains the model to emit it")
    examples: list[TokenizedExample] = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        source_ids = tokenizer([p.src for p in chunk], add_special_tokens=False)["input_ids"]
        sources = [p.src if len(ids) <= max_source_tokens
                   else tokenizer.decode(ids[:max_source_tokens], skip_special_tokens=True)
                   for p, ids in zip(chunk, source_ids, strict=True)]
        prompts = tokenizer([build_prompt(p.src_lang, p.tgt_lang, source)
                             for p, source in zip(chunk, sources, strict=True)])["input_ids"]
        targets = tokenizer([p.tgt for p in chunk], add_special_tokens=False)["input_ids"]
        for prompt_ids, target_ids in zip(prompts, targets, strict=True):
            target_ids = list(target_ids)
            if len(target_ids) > max_target_tokens:
                target_ids = target_ids[:max_target_tokens]
            else:
                target_ids.append(tokenizer.eos_token_id)
            examples.append(TokenizedExample(input_ids=list(prompt_ids) + target_ids,
                                             labels=[IGNORE_INDEX] * len(prompt_ids) + target_ids))
    return examples


@dataclass
class PaddingCollator:
    """Pads a batch of tokenized examples to its longest member.

    Padded positions get attention_mask 0 and label -100 because the collator added them, whatever
    the pad id is. `pad_to` and `side` exist for the ALMA-style baseline (left padding to 512) in the
    throughput benchmark; training uses right padding to the batch's own length.
    """

    pad_token_id: int
    pad_to: int | None = None
    side: str = "right"
    # Round batch lengths up to a multiple of this: fewer distinct shapes, and on CPU every new
    # shape pays a one-time kernel setup that can cost more than the step itself.
    pad_to_multiple_of: int = 1

    def __call__(self, features: Sequence[dict]) -> dict:
        import torch

        length = max(len(f["input_ids"]) for f in features)
        if self.pad_to is not None:
            length = max(length, self.pad_to)
        length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        input_ids, labels, attention = [], [], []
        for f in features:
            pad = length - len(f["input_ids"])
            ids, labs, mask = list(f["input_ids"]), list(f["labels"]), [1] * len(f["input_ids"])
            if self.side == "left":
                ids, labs, mask = [self.pad_token_id] * pad + ids, [IGNORE_INDEX] * pad + labs, [0] * pad + mask
            else:
                ids, labs, mask = ids + [self.pad_token_id] * pad, labs + [IGNORE_INDEX] * pad, mask + [0] * pad
            input_ids.append(ids)
            labels.append(labs)
            attention.append(mask)
        return {
            "input_ids": torch.tensor(input_ids, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long),
            "attention_mask": torch.tensor(attention, dtype=torch.long),
        }


class TokenizedDataset:
    """A map-style dataset of tokenized examples (a list: stage-2 corpora are small by design)."""

    def __init__(self, examples: Sequence[TokenizedExample]):
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict:
        example = self.examples[index]
        return {"input_ids": example.input_ids, "labels": example.labels}

    def lengths(self) -> list[int]:
        return [len(e.input_ids) for e in self.examples]

    def sorted_by_length(self) -> TokenizedDataset:
        """The same examples, shortest first (evaluation batches then carry little padding)."""
        return TokenizedDataset(sorted(self.examples, key=lambda e: len(e.input_ids)))
