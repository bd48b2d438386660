"""The loss over the kept vocabulary (restrict_vocab): the output layer runs on trained positions only, over
the rows of the tokens the shipped model keeps, a chunk of positions at a time (docs/training.md#efficiency).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from alma_train.train.examples import IGNORE_INDEX
from alma_train.train.target_loss import causal_lm_of, trained_hidden

# Logits computed at once (positions x kept tokens): 2**26 fp32 values are 256 MiB, and as much again
# for their gradient; with Gemma's 102k kept tokens that is ~650 positions a chunk. A stage-2 batch of
# 8 sentences fits one chunk; a stage-1 batch (8 x 512 positions) takes about seven.
LOGITS_PER_CHUNK = 2 ** 26


class OutsideKeptVocabulary(ValueError):
    """A trained label whose token the kept vocabulary lacks; the message names the token and the row."""


@dataclass(frozen=True)
class KeptVocabulary:
    """The kept token ids (ascending) and, for each id of the full vocabulary, its kept index (-1: trimmed)."""

    ids: Any  # LongTensor [kept]
    index: Any  # LongTensor [vocab], -1 where not kept
    names: Sequence[str] = ()  # token texts by full id, for error messages
    # The kept rows of a frozen output layer (LoRA), cut once instead of every step.
    _frozen_rows: dict = field(default_factory=dict, compare=False, repr=False)
    _on_device: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, ids: Sequence[int], vocab_size: int, names: Sequence[str] = ()) -> KeptVocabulary:
        import torch

        kept = torch.as_tensor(sorted(set(ids)), dtype=torch.long)
        index = torch.full((vocab_size,), -1, dtype=torch.long)
        index[kept] = torch.arange(len(kept))
        return cls(kept, index, names)

    def to(self, device) -> KeptVocabulary:
        if self.ids.device == device:
            return self
        if device not in self._on_device:  # once: the trainer moves no tensor of ours between steps
            self._on_device[device] = KeptVocabulary(self.ids.to(device), self.index.to(device), self.names)
        return self._on_device[device]

    def rows(self, weight):
        """weight's kept rows; the gradient of a trained weight reaches those rows only."""
        if weight.requires_grad:
            return weight.index_select(0, self.ids)
        key = (weight.data_ptr(), weight._version, weight.dtype, weight.device)
        if key not in self._frozen_rows:
            self._frozen_rows.clear()
            self._frozen_rows[key] = weight.index_select(0, self.ids)
        return self._frozen_rows[key]

    def name(self, token_id: int) -> str:
        return repr(self.names[token_id]) if token_id < len(self.names) else "?"


def _chunk_rows(kept: int) -> int:
    return max(1, LOGITS_PER_CHUNK // max(kept, 1))


def _chunk_logits(hidden, weight, softcap: float | None):
    """fp32 logits of a chunk (softcapped as Gemma does) and tanh's value for the soft-capping gradient."""
    import torch
    import torch.nn.functional as F

    logits = F.linear(hidden, weight).float()
    if not softcap:
        return logits, None
    capped = torch.tanh(logits / softcap)
    return capped * softcap, capped


def _chunked_loss_function():
    import torch

    class ChunkedLinearCrossEntropy(torch.autograd.Function):
        """Sum of cross-entropies of hidden @ weight.T, one chunk of positions at a time.

        The gradients are computed in the forward pass, chunk by chunk (as Liger's fused linear
        cross-entropy does), so no chunk's logits outlive it and backward does not recompute them:
        the same three matrix products per chunk as an unchunked loss, a fraction of its memory.
        """

        @staticmethod
        def forward(ctx, hidden, weight, targets, softcap, rows):
            need_h, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
            grad_h = torch.zeros_like(hidden) if need_h else None
            grad_w = torch.zeros_like(weight, dtype=torch.float32) if need_w else None
            total = torch.zeros((), dtype=torch.float32, device=hidden.device)
            for start in range(0, hidden.shape[0], rows):
                h, t = hidden[start:start + rows], targets[start:start + rows]
                logits, capped = _chunk_logits(h, weight, softcap)
                lse = torch.logsumexp(logits, dim=-1)
                total += (lse - logits.gather(1, t[:, None]).squeeze(1)).sum()
                if not (need_h or need_w):
                    continue
                # d loss / d logits = softmax - one-hot, computed in place of the logits.
                grad = logits.sub_(lse[:, None]).exp_()
                grad[torch.arange(len(t), device=t.device), t] -= 1
                if capped is not None:
                    grad.mul_(1 - capped * capped)
                # The products in the dtype the logits' product ran in (bf16 under autocast).
                dtype = (torch.get_autocast_dtype(h.device.type) if torch.is_autocast_enabled(h.device.type)
                         else h.dtype)
                grad = grad.to(dtype)
                if need_h:
                    grad_h[start:start + rows] = grad @ weight.to(dtype)
                if need_w:
                    grad_w += (grad.T @ h.to(dtype)).float()
            ctx.save_for_backward(grad_h if need_h else None, grad_w if need_w else None)
            ctx.weight_dtype = weight.dtype
            return total

        @staticmethod
        def backward(ctx, grad_output):
            grad_h, grad_w = ctx.saved_tensors
            if grad_h is not None:
                grad_h = grad_h * grad_output.to(grad_h.dtype)
            if grad_w is not None:
                grad_w = (grad_w * grad_output).to(ctx.weight_dtype)
            return grad_h, grad_w, None, None, None

    return ChunkedLinearCrossEntropy


def chunked_cross_entropy_sum(hidden, weight, targets, softcap: float | None = None, rows: int | None = None):
    """sum over positions of -log softmax(hidden @ weight.T)[target], a chunk of positions at a time."""
    import torch

    rows = rows or _chunk_rows(weight.shape[0])
    if torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad):
        return _chunked_loss_function().apply(hidden, weight, targets, softcap, rows)
    total = torch.zeros((), dtype=torch.float32, device=hidden.device)
    for start in range(0, hidden.shape[0], rows):
        logits, _ = _chunk_logits(hidden[start:start + rows], weight, softcap)
        total += torch.nn.functional.cross_entropy(logits, targets[start:start + rows], reduction="sum")
    return total


def fused_cross_entropy_sum(device) -> Any:
    """Liger Kernel's fused linear cross-entropy (sum) on a CUDA device when the library is installed,
    else None: the chunked PyTorch path is used (always on CPU)."""
    if getattr(device, "type", str(device)) != "cuda":
        return None
    try:
        from liger_kernel.transformers.functional import liger_fused_linear_cross_entropy
    except ImportError:
        return None

    def loss(hidden, weight, targets, softcap: float | None = None):
        return liger_fused_linear_cross_entropy(hidden, weight, targets, reduction="sum", softcap=softcap)

    return loss


def output_weight(causal_lm: Any):
    """The output layer's weight (the tied input embedding where tied); refuses a layer it cannot cut."""
    import torch

    layer = causal_lm.get_output_embeddings()
    if type(layer) is not torch.nn.Linear:
        raise ValueError(f"restrict_vocab: the output layer is a {type(layer).__name__}, not a plain Linear "
                         "(LoRA on lm_head is not supported with a restricted vocabulary)")
    if layer.bias is not None:
        raise ValueError("restrict_vocab: an output layer with a bias is not supported")
    return layer.weight


def kept_vocabulary_loss(model: Any, input_ids, attention_mask, labels, kept: KeptVocabulary,
                         num_items_in_batch=None, use_fused: bool = True):
    """Cross-entropy of next-token prediction over the positions with a label, normalised over the kept
    tokens only: equal to log-softmax over the kept rows of the output layer, labels remapped to kept ids.

    Training: a label outside the kept set raises OutsideKeptVocabulary naming the token and the row.
    Evaluation (model not training): such positions are left out (the trimmed model cannot produce the
    token at all), so that a validation set the kept set was not cut to fit can still be scored.
    Normalisation as target_only_loss: the mean over counted tokens, or their sum / num_items_in_batch.
    """
    import torch

    causal_lm = causal_lm_of(model)
    selected, targets, trained = trained_hidden(model, input_ids, attention_mask, labels)
    kept = kept.to(targets.device)
    remapped = kept.index[targets]
    outside = remapped < 0
    if bool(outside.any()):
        if model.training:
            rows = trained.nonzero()[outside]
            row, position = (int(v) for v in rows[0])
            token = int(targets[outside][0])
            raise OutsideKeptVocabulary(
                f"restrict_vocab: token {token} {kept.name(token)} (row {row} of the batch, label position "
                f"{position + 1}) is not in the kept vocabulary; the kept set must be chosen on the training "
                "data (convert.kept_vocab.kept_token_ids)")
        selected, remapped = selected[~outside], remapped[~outside]
    weight = kept.rows(output_weight(causal_lm))
    softcap = getattr(causal_lm.config, "final_logit_softcapping", None) or None
    fused = fused_cross_entropy_sum(selected.device) if use_fused else None
    if fused is not None and selected.shape[0]:
        total = fused(selected, weight, remapped, softcap)
    else:
        total = chunked_cross_entropy_sum(selected, weight, remapped, softcap)
    if num_items_in_batch is not None:
        if torch.is_tensor(num_items_in_batch):
            num_items_in_batch = num_items_in_batch.to(total.device)
        return total / num_items_in_batch
    return total / max(int(remapped.shape[0]), 1)


def check_labels_kept(labels: Sequence[int], kept_ids: set[int]) -> int | None:
    """The first trained label outside the kept set, or None."""
    return next((label for label in labels if label != IGNORE_INDEX and label not in kept_ids), None)
