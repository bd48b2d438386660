"""The causal-LM loss computed only where it is taken: the output layer runs on trained positions only.

Why and what it saves: docs/training.md#efficiency.
"""

from __future__ import annotations

from typing import Any

from alma_train.train.examples import IGNORE_INDEX


def causal_lm_of(model: Any) -> Any:
    """The transformers *ForCausalLM inside a model (peft wraps it; LoRA layers stay injected)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def trained_hidden(model: Any, input_ids, attention_mask, labels) -> tuple[Any, Any, Any]:
    """The decoder's last hidden states at the positions that predict a label, those labels, and the
    [batch, length - 1] mask of such positions."""
    causal_lm = causal_lm_of(model)
    hidden = causal_lm.get_decoder()(input_ids=input_ids, attention_mask=attention_mask,
                                     use_cache=False).last_hidden_state
    # Position t predicts token t + 1, as in transformers' ForCausalLMLoss.
    targets = labels[:, 1:]
    trained = targets != IGNORE_INDEX
    return hidden[:, :-1][trained], targets[trained], trained


def target_only_loss(model: Any, input_ids, attention_mask, labels, num_items_in_batch=None):
    """Cross-entropy of next-token prediction over the positions whose label is not IGNORE_INDEX.

    Equal to `model(input_ids, attention_mask=..., labels=labels).loss` (the mean over trained
    tokens; with num_items_in_batch, their sum divided by it, as transformers does for gradient
    accumulation), without ever building logits for masked positions.
    """
    import torch
    import torch.nn.functional as F

    causal_lm = causal_lm_of(model)
    selected, targets, trained = trained_hidden(model, input_ids, attention_mask, labels)
    logits = causal_lm.get_output_embeddings()(selected).float()
    softcap = getattr(causal_lm.config, "final_logit_softcapping", None)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    total = F.cross_entropy(logits, targets, reduction="sum")
    if num_items_in_batch is not None:
        if torch.is_tensor(num_items_in_batch):
            num_items_in_batch = num_items_in_batch.to(total.device)
        return total / num_items_in_batch
    return total / trained.sum().clamp(min=1)
