"""The causal-LM loss computed only where it is taken: the output layer runs on trained positions only.

transformers' causal-LM forward projects every position onto the whole vocabulary and only then
drops the masked ones. With Gemma 3's 262,144-token vocabulary that is the biggest tensor of a step
(batch 8 x 256 positions x 262,144 x 4 bytes = 2.1 GB of logits, as much again for their gradient),
and in stage 2 most positions are the prompt, which is masked anyway. Here the decoder runs as
usual, the hidden states of the positions whose next token carries loss are gathered, and only they
go through the output layer: the same loss, a fraction of the memory and of the output-layer work.
"""

from __future__ import annotations

from typing import Any

from alma_train.train.examples import IGNORE_INDEX


def causal_lm_of(model: Any) -> Any:
    """The transformers *ForCausalLM inside a model (peft wraps it; LoRA layers stay injected)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def target_only_loss(model: Any, input_ids, attention_mask, labels, num_items_in_batch=None):
    """Cross-entropy of next-token prediction over the positions whose label is not IGNORE_INDEX.

    Equal to `model(input_ids, attention_mask=..., labels=labels).loss` (the mean over trained
    tokens; with num_items_in_batch, their sum divided by it, as transformers does for gradient
    accumulation), without ever building logits for masked positions.
    """
    import torch
    import torch.nn.functional as F

    causal_lm = causal_lm_of(model)
    hidden = causal_lm.get_decoder()(input_ids=input_ids, attention_mask=attention_mask,
                                     use_cache=False).last_hidden_state
    # Position t predicts token t + 1, as in transformers' ForCausalLMLoss.
    targets = labels[:, 1:]
    trained = targets != IGNORE_INDEX
    selected = hidden[:, :-1][trained]
    logits = causal_lm.get_output_embeddings()(selected).float()
    softcap = getattr(causal_lm.config, "final_logit_softcapping", None)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    total = F.cross_entropy(logits, targets[trained], reduction="sum")
    if num_items_in_batch is not None:
        if torch.is_tensor(num_items_in_batch):
            num_items_in_batch = num_items_in_batch.to(total.device)
        return total / num_items_in_batch
    return total / trained.sum().clamp(min=1)
