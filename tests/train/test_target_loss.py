"""The target-only loss equals transformers' own causal-LM loss, and its gradients too.

Tiny random models built here (a llama and a gemma3 with logit soft-capping), plain and LoRA-wrapped;
batches with a masked prompt, trained targets and right padding, as stage 2 builds them.
"""

from __future__ import annotations

import pytest
import torch

from alma_train.train.examples import IGNORE_INDEX
from alma_train.train.target_loss import target_only_loss


def _tiny(family: str):
    torch.manual_seed(0)
    if family == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        return LlamaForCausalLM(LlamaConfig(vocab_size=300, hidden_size=32, intermediate_size=64,
                                            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2))
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    config = Gemma3TextConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=8,
                              final_logit_softcapping=0.5, attn_implementation="eager")
    return Gemma3ForCausalLM(config)


def _batch():
    torch.manual_seed(1)
    input_ids = torch.randint(5, 300, (3, 12))
    attention = torch.ones_like(input_ids)
    labels = input_ids.clone()
    labels[:, :5] = IGNORE_INDEX  # the prompt
    attention[1, 9:] = 0  # right padding of the second example
    labels[1, 9:] = IGNORE_INDEX
    labels[2, :8] = IGNORE_INDEX  # a long prompt
    return input_ids, attention, labels


@pytest.mark.parametrize("family", ["llama", "gemma3"])
@pytest.mark.parametrize("lora", [False, True])
def test_target_only_loss_and_gradients_equal_the_full_loss(family, lora):
    model = _tiny(family)
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["down_proj"],
                                                 lora_dropout=0.0, init_lora_weights=False))
    model.train()
    input_ids, attention, labels = _batch()
    reference = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
    reference.backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()

    ours = target_only_loss(model, input_ids, attention, labels)
    ours.backward()
    assert torch.allclose(ours, reference, atol=1e-5), (ours.item(), reference.item())
    assert expected, "no parameter received a gradient"
    for name, grad in expected.items():
        assert torch.allclose(dict(model.named_parameters())[name].grad, grad, atol=1e-5), name


def test_num_items_in_batch_gives_the_sum_over_that_count():
    model = _tiny("llama")
    input_ids, attention, labels = _batch()
    mean = target_only_loss(model, input_ids, attention, labels)
    trained = int((labels[:, 1:] != IGNORE_INDEX).sum())
    summed = target_only_loss(model, input_ids, attention, labels, num_items_in_batch=torch.tensor(2 * trained))
    assert torch.allclose(summed * 2, mean, atol=1e-6)
