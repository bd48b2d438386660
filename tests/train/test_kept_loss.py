"""The loss over the kept vocabulary (restrict_vocab) equals the full model's log-softmax restricted to the
kept rows, gradients too, chunked or not; out-of-set labels are named; the fallback off CUDA is PyTorch's.

Tiny random models built here (a llama with its own output layer, a gemma3 with tied embeddings and logit
soft-capping), plain and LoRA-wrapped, on batches shaped as stage 2 builds them.
"""

from __future__ import annotations

import pytest
import torch

from alma_train.train import kept_loss
from alma_train.train.examples import IGNORE_INDEX
from alma_train.train.kept_loss import (
    KeptVocabulary,
    OutsideKeptVocabulary,
    fused_cross_entropy_sum,
    kept_vocabulary_loss,
)
from alma_train.train.target_loss import target_only_loss

VOCAB = 300


def _tiny(family: str):
    torch.manual_seed(0)
    if family == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        return LlamaForCausalLM(LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64,
                                            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                            tie_word_embeddings=False))
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    config = Gemma3TextConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=8,
                              final_logit_softcapping=0.5, attn_implementation="eager", tie_word_embeddings=True)
    return Gemma3ForCausalLM(config)


def _batch():
    torch.manual_seed(1)
    input_ids = torch.randint(5, VOCAB, (3, 12))
    attention = torch.ones_like(input_ids)
    labels = input_ids.clone()
    labels[:, :5] = IGNORE_INDEX  # the prompt
    attention[1, 9:] = 0  # right padding of the second example
    labels[1, 9:] = IGNORE_INDEX
    labels[2, :8] = IGNORE_INDEX  # a long prompt
    return input_ids, attention, labels


def _kept(labels) -> list[int]:
    """Every trained label plus every third id: a kept set about a third of the vocabulary."""
    trained = {int(t) for t in labels[:, 1:][labels[:, 1:] != IGNORE_INDEX]}
    return sorted(trained | set(range(0, VOCAB, 3)))


def _reference(model, input_ids, attention, labels, kept: list[int]):
    """The full model's logits (soft-capped by the model itself), log-softmax over the kept columns only."""
    logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1].float()
    targets = labels[:, 1:]
    trained = targets != IGNORE_INDEX
    kept_ids = torch.tensor(kept)
    log_probs = torch.log_softmax(logits[trained][:, kept_ids], dim=-1)
    position = {token: i for i, token in enumerate(kept)}
    remapped = torch.tensor([position[int(t)] for t in targets[trained]])
    return -log_probs[torch.arange(len(remapped)), remapped].mean()


def _lora(model):
    from peft import LoraConfig, get_peft_model

    return get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["down_proj"], lora_dropout=0.0,
                                            init_lora_weights=False))


@pytest.mark.parametrize("family", ["llama", "gemma3"])
@pytest.mark.parametrize("lora", [False, True])
@pytest.mark.parametrize("chunk_rows", [None, 4])
def test_kept_loss_and_gradients_equal_the_full_softmax_restricted_to_kept_rows(family, lora, chunk_rows,
                                                                                monkeypatch):
    model = _tiny(family)
    model = _lora(model) if lora else model
    model.train()
    input_ids, attention, labels = _batch()
    kept = _kept(labels)
    if chunk_rows:  # a few positions a chunk: the 15 trained positions take four chunks
        monkeypatch.setattr(kept_loss, "LOGITS_PER_CHUNK", chunk_rows * len(kept))
    reference = _reference(model, input_ids, attention, labels, kept)
    reference.backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()

    ours = kept_vocabulary_loss(model, input_ids, attention, labels, KeptVocabulary.of(kept, VOCAB))
    ours.backward()
    assert torch.allclose(ours, reference, atol=1e-6), (ours.item(), reference.item())
    # Not the full-vocabulary loss: the restriction changes the normalisation.
    assert not torch.allclose(ours, target_only_loss(model, input_ids, attention, labels), atol=1e-3)
    assert expected, "no parameter received a gradient"
    for name, grad in expected.items():
        assert torch.allclose(dict(model.named_parameters())[name].grad, grad, atol=1e-6), name


def test_full_fine_tuning_trains_only_kept_output_rows_and_a_tied_input_embedding_stays_whole():
    input_ids, attention, labels = _batch()
    kept = _kept(labels)
    dropped = sorted(set(range(VOCAB)) - set(kept))

    llama = _tiny("llama")
    kept_vocabulary_loss(llama, input_ids, attention, labels, KeptVocabulary.of(kept, VOCAB)).backward()
    assert not llama.lm_head.weight.grad[dropped].any()
    assert llama.lm_head.weight.grad[kept].abs().sum(dim=1).gt(0).all()

    gemma = _tiny("gemma3")
    kept_vocabulary_loss(gemma, input_ids, attention, labels, KeptVocabulary.of(kept, VOCAB)).backward()
    embedding_grad = gemma.get_input_embeddings().weight.grad
    # Tied: the same matrix; tokens outside the kept set that are read as input still get their gradient.
    read_but_dropped = sorted({int(t) for t in input_ids[attention.bool()]} - set(kept))
    assert read_but_dropped and embedding_grad[read_but_dropped].abs().sum(dim=1).gt(0).all()


def test_num_items_in_batch_gives_the_sum_over_that_count():
    model = _tiny("llama")
    input_ids, attention, labels = _batch()
    kept = KeptVocabulary.of(_kept(labels), VOCAB)
    mean = kept_vocabulary_loss(model, input_ids, attention, labels, kept)
    trained = int((labels[:, 1:] != IGNORE_INDEX).sum())
    summed = kept_vocabulary_loss(model, input_ids, attention, labels, kept,
                                  num_items_in_batch=torch.tensor(2 * trained))
    assert torch.allclose(summed * 2, mean, atol=1e-6)


def test_a_label_outside_the_kept_set_is_named_in_training_and_left_out_in_evaluation():
    model = _tiny("llama")
    input_ids, attention, labels = _batch()
    outsider = int(labels[2, 9])
    kept = [i for i in _kept(labels) if i != outsider]
    names = [f"tok{i}" for i in range(VOCAB)]
    model.train()
    with pytest.raises(OutsideKeptVocabulary, match=rf"token {outsider} 'tok{outsider}' \(row 2 of the batch"):
        kept_vocabulary_loss(model, input_ids, attention, labels, KeptVocabulary.of(kept, VOCAB, names))

    model.eval()
    with torch.no_grad():
        scored = kept_vocabulary_loss(model, input_ids, attention, labels, KeptVocabulary.of(kept, VOCAB, names))
        without = labels.clone()
        without[labels == outsider] = IGNORE_INDEX
        expected = _reference(model, input_ids, attention, without, kept)
    assert torch.allclose(scored, expected, atol=1e-6)


def test_the_fallback_off_cuda_is_the_chunked_pytorch_path():
    # On CPU no fused kernel is used, whether or not Liger Kernel is installed.
    assert fused_cross_entropy_sum(torch.device("cpu")) is None
    try:
        import liger_kernel  # noqa: F401
    except ImportError:  # and on CUDA without the library, the chunked path too
        assert fused_cross_entropy_sum(torch.device("cuda")) is None


def test_restrict_vocab_false_gives_the_old_loss_exactly_and_true_the_kept_loss(tmp_path):
    from transformers import TrainingArguments

    from alma_train.train.trainer import _trainer_class

    model = _tiny("gemma3")
    input_ids, attention, labels = _batch()
    inputs = {"input_ids": input_ids, "attention_mask": attention, "labels": labels}
    trainer = _trainer_class()(model=model, args=TrainingArguments(output_dir=str(tmp_path), use_cpu=True,
                                                                   report_to=[]))
    assert trainer.kept_vocabulary is None  # restrict_vocab: false
    assert torch.equal(trainer.compute_loss(model, inputs), target_only_loss(model, input_ids, attention, labels))
    kept = KeptVocabulary.of(_kept(labels), VOCAB)
    trainer.kept_vocabulary = kept
    assert torch.equal(trainer.compute_loss(model, inputs),
                       kept_vocabulary_loss(model, input_ids, attention, labels, kept))


def test_a_training_example_outside_the_kept_set_is_named_before_training():
    from alma_train.data.parallel import ParallelPair
    from alma_train.train.config import ConfigError
    from alma_train.train.examples import TokenizedExample
    from alma_train.train.restrict import KeptChoice, check_examples_kept

    names = [f"tok{i}" for i in range(VOCAB)]
    choice = KeptChoice(ids=list(range(0, 200)), vocab_size=VOCAB, names=names, note={})
    examples = [TokenizedExample([5, 6, 7, 8], [IGNORE_INDEX, IGNORE_INDEX, 7, 8]),
                TokenizedExample([5, 6, 250, 1], [IGNORE_INDEX, IGNORE_INDEX, 250, 1])]
    pairs = [ParallelPair("de", "en", "Hallo", "Hello"), ParallelPair("de", "en", "Welt", "World")]
    check_examples_kept(examples[:1], pairs[:1], choice)
    with pytest.raises(ConfigError, match=r"token 250 'tok250' of training example 2 \(de->en, target 'World'\)"):
        check_examples_kept(examples, pairs, choice)


def test_precision_auto_is_bf16_on_a_cpu_that_multiplies_bf16_natively_and_explicit_settings_stand():
    from alma_train.train.config import load_config
    from alma_train.train.trainer import cpu_has_native_bf16, precision_of

    def config(precision: str):
        return load_config("demo-stage2", {"output_dir": "unused", "precision": precision})

    assert precision_of(config("fp32")) == "fp32"
    assert precision_of(config("bf16")) == "bf16"
    native = cpu_has_native_bf16()
    assert native == bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    if not torch.cuda.is_available():
        assert precision_of(config("auto")) == ("bf16" if native else "fp32")


def test_the_kept_loss_under_cpu_bf16_autocast_follows_fp32_and_trains_fp32_adapters_on_a_bf16_base():
    """The CPU recipe's precision (a bf16 frozen base, fp32 LoRA weights, bf16 autocast): the loss within
    bf16 rounding of fp32's, the gradient reaches every adapter weight in fp32, and the base gets none."""
    from peft import LoraConfig, get_peft_model

    input_ids, attention, labels = _batch()
    kept = KeptVocabulary.of(_kept(labels), VOCAB)
    fp32 = _tiny("gemma3")
    expected = kept_vocabulary_loss(fp32, input_ids, attention, labels, kept)
    base = _tiny("gemma3").to(torch.bfloat16)  # load_model's dtype for LoRA under bf16
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "down_proj"],
                                            lora_dropout=0.0))  # B = 0: the same function as the base
    adapters = [p for p in model.parameters() if p.requires_grad]
    assert adapters and all(p.dtype == torch.float32 for p in adapters)  # peft keeps adapters fp32
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        ours = kept_vocabulary_loss(model, input_ids, attention, labels, kept)
    assert ours.dtype == torch.float32
    assert abs(ours.item() - expected.item()) < 0.02 * expected.item(), (ours.item(), expected.item())
    ours.backward()
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.grad is not None and p.grad.dtype == torch.float32 and p.grad.abs().sum() > 0
                          for p in lora_b)
    assert all(p.grad is None for p in model.parameters() if not p.requires_grad)
