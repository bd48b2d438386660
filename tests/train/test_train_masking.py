"""Which tokens carry loss in stage 2: the real SmolLM2 tokenizer and a real SentencePiece one."""

from __future__ import annotations

import io

import pytest

from alma_core.prompts import build_prompt
from alma_train.data.parallel import ParallelPair
from alma_train.train.examples import IGNORE_INDEX, PaddingCollator, TokenizedDataset, tokenize_pair

PAIR = ParallelPair("de", "en", "Passwort ändern", "Change password")


@pytest.fixture(scope="module")
def smollm2_tokenizer(default_hf_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(default_hf_dir)


@pytest.fixture(scope="module")
def sentencepiece_tokenizer(tmp_path_factory, demo_data):
    """A LLaMA-style SentencePiece tokenizer trained here on the demo corpus (adds BOS, eos id 2)."""
    import json

    import sentencepiece as spm
    from transformers import LlamaTokenizer

    lines = []
    for path in sorted((demo_data / "parallel").glob("*/train.jsonl")):
        for raw in path.read_text(encoding="utf-8").splitlines():
            lines.extend(json.loads(raw).values())
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=2000, model_type="bpe",
        character_coverage=0.9995, byte_fallback=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        minloglevel=2,
    )
    path = tmp_path_factory.mktemp("spm") / "tokenizer.model"
    path.write_bytes(model.getvalue())
    return LlamaTokenizer(vocab_file=str(path), legacy=True)


def trained(example, tokenizer) -> list[int]:
    return [label for label in example.labels if label != IGNORE_INDEX]


def test_smollm2_loss_is_exactly_target_plus_eos(smollm2_tokenizer):
    tok = smollm2_tokenizer
    example = tokenize_pair(PAIR, tok)
    prompt_ids = tok(build_prompt("de", "en", PAIR.src))["input_ids"]
    # SmolLM2 adds no BOS: the sequence starts with the prompt's first word.
    assert example.input_ids[0] != tok.bos_token_id
    assert example.labels[: len(prompt_ids)] == [IGNORE_INDEX] * len(prompt_ids)
    assert example.input_ids[: len(prompt_ids)] == prompt_ids
    # Exactly the target tokens and EOS carry loss, and their labels equal their input ids.
    assert [tok.decode([t]) for t in trained(example, tok)] == ["Change", " password", "<|im_end|>"]
    assert example.labels[len(prompt_ids):] == example.input_ids[len(prompt_ids):]
    # The whole prompt is masked, including the last ':' (the reference code trains on it).
    assert tok.decode(example.input_ids[len(prompt_ids) - 1]) == ":"
    assert tok.decode(example.input_ids) == build_prompt("de", "en", PAIR.src) + PAIR.tgt + "<|im_end|>"


def test_smollm2_eos_carries_loss_although_pad_is_eos(smollm2_tokenizer):
    tok = smollm2_tokenizer
    assert tok.pad_token_id == tok.eos_token_id  # the trap: masking pad ids would mask EOS
    short = tokenize_pair(ParallelPair("en", "de", "Yes", "Ja"), tok)
    long = tokenize_pair(PAIR, tok)
    batch = PaddingCollator(pad_token_id=tok.pad_token_id)(TokenizedDataset([short, long]))
    labels, mask = batch["labels"][0].tolist(), batch["attention_mask"][0].tolist()
    pad = len(long.input_ids) - len(short.input_ids)
    assert pad > 0
    # EOS is the last real token of the short example, it carries loss; the pads (same id) do not.
    assert labels[len(short.input_ids) - 1] == tok.eos_token_id
    assert labels[len(short.input_ids):] == [IGNORE_INDEX] * pad
    assert batch["input_ids"][0].tolist()[len(short.input_ids):] == [tok.eos_token_id] * pad
    assert mask == [1] * len(short.input_ids) + [0] * pad
    assert batch["labels"][1].tolist() == long.labels


def test_sentencepiece_loss_is_exactly_target_plus_eos(sentencepiece_tokenizer):
    tok = sentencepiece_tokenizer
    example = tokenize_pair(PAIR, tok)
    prompt_ids = tok(build_prompt("de", "en", PAIR.src))["input_ids"]
    # LLaMA-style tokenizers add BOS to the prompt; it is masked like the rest of the prompt.
    assert example.input_ids[0] == tok.bos_token_id == 1
    assert example.labels[: len(prompt_ids)] == [IGNORE_INDEX] * len(prompt_ids)
    target_ids = tok("Change password", add_special_tokens=False)["input_ids"]
    assert trained(example, tok) == target_ids + [2]
    # The separately tokenized target starts with a word-initial piece, as the model emits it.
    assert tok.convert_ids_to_tokens(target_ids[0]).startswith("\u2581")
    assert tok.decode(trained(example, tok), skip_special_tokens=True) == "Change password"


def test_caps_cut_source_and_target_and_drop_eos_of_cut_target(smollm2_tokenizer):
    tok = smollm2_tokenizer
    long_text = " ".join(["word"] * 50)
    example = tokenize_pair(ParallelPair("en", "de", long_text, long_text), tok,
                            max_source_tokens=8, max_target_tokens=5)
    # Five target tokens carry loss and none is EOS: a cut sentence must not teach stopping.
    assert len(trained(example, tok)) == 5
    assert tok.eos_token_id not in trained(example, tok)
    prompt_len = len(example.input_ids) - 5
    prompt = tok.decode(example.input_ids[:prompt_len])
    assert prompt == build_prompt("en", "de", " ".join(["word"] * 8))
    # A fitting target keeps its EOS.
    fits = tokenize_pair(ParallelPair("en", "de", "Yes", "Ja"), tok, max_target_tokens=5)
    assert trained(fits, tok)[-1] == tok.eos_token_id


def test_left_padding_to_fixed_length_masks_by_position(smollm2_tokenizer):
    tok = smollm2_tokenizer
    example = tokenize_pair(PAIR, tok)
    batch = PaddingCollator(pad_token_id=tok.pad_token_id, pad_to=32, side="left")(
        TokenizedDataset([example]))
    pad = 32 - len(example.input_ids)
    assert batch["input_ids"].shape == (1, 32)
    assert batch["labels"][0].tolist() == [IGNORE_INDEX] * pad + example.labels
    assert batch["attention_mask"][0].tolist() == [0] * pad + [1] * len(example.input_ids)


def test_padding_rounds_to_a_multiple_and_stays_masked(smollm2_tokenizer):
    tok = smollm2_tokenizer
    example = tokenize_pair(PAIR, tok)
    batch = PaddingCollator(pad_token_id=tok.pad_token_id, pad_to_multiple_of=16)(TokenizedDataset([example]))
    width = batch["input_ids"].shape[1]
    assert width % 16 == 0 and width - 16 < len(example.input_ids) <= width
    assert batch["labels"][0].tolist()[len(example.input_ids):] == [IGNORE_INDEX] * (width - len(example.input_ids))
    assert batch["attention_mask"][0].sum() == len(example.input_ids)


@pytest.mark.parametrize("which", ["smollm2", "sentencepiece"])
def test_batched_tokenization_equals_one_pair_at_a_time(which, smollm2_tokenizer, sentencepiece_tokenizer,
                                                        demo_data):
    from alma_train.data.parallel import directions_of, read_parallel
    from alma_train.train.examples import tokenize_pair, tokenize_pairs

    tokenizer = smollm2_tokenizer if which == "smollm2" else sentencepiece_tokenizer
    pairs = list(read_parallel([demo_data / "parallel/de-en/train.jsonl"], directions_of(["de-en"], True)))[:300]
    pairs.append(ParallelPair("de", "en", " ".join(["Ein sehr langer Satz."] * 40), "A long target. " * 40))
    one_by_one = [tokenize_pair(p, tokenizer, 24, 16) for p in pairs]
    assert tokenize_pairs(pairs, tokenizer, 24, 16, batch_size=64) == one_by_one
    assert sum(len(e.input_ids) > 40 for e in one_by_one) > 0  # the caps were exercised
