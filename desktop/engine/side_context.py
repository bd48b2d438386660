"""A second llama.cpp context on the weights a llama_cpp.Llama has loaded, holding several sequences.

Beam search and batched decoding both decode through it (docs/translate.md, "Speed").
"""

from __future__ import annotations

import ctypes
from typing import Any


class DecodeError(RuntimeError):
    """llama.cpp refused a decode (e.g. out of KV cache cells)."""


def set_context_adapter(ctx: Any, adapter: Any) -> None:
    """Put one loaded LoRA adapter (a llama_adapter_lora pointer, scale 1: the file's alpha / rank
    applies) on a llama.cpp context, or none (adapter None). llama.cpp changes nothing when it is set."""
    import llama_cpp

    if adapter is None:
        code = llama_cpp.llama_set_adapters_lora(ctx, None, 0, None)
    else:
        adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter)
        code = llama_cpp.llama_set_adapters_lora(ctx, adapters, 1, (ctypes.c_float * 1)(1.0))
    if code != 0:
        raise DecodeError(f"llama_set_adapters_lora failed ({code})")


class SideContext:
    """n_ctx KV cells shared by up to n_seq_max sequences, on `llama`'s weights.

    The engine's own context settings (threads, attention kernel, RoPE scaling) are copied: llama.cpp's
    defaults differ (automatic flash attention was 10x slower on a CPU). swa_full: sliding-window models
    (Gemma 3) keep every cell, so cells copied to another sequence stay valid.
    """

    def __init__(self, llama: Any, n_ctx: int, n_seq_max: int, n_threads: int | None = None,
                 n_batch: int = 512, batch_capacity: int | None = None) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self.llama = llama
        params = llama_cpp.llama_context_params.from_buffer_copy(llama.context_params)
        params.n_ctx = n_ctx
        params.n_batch = n_batch
        params.n_ubatch = n_batch
        params.n_seq_max = n_seq_max
        params.kv_unified = True
        params.swa_full = True
        if n_threads:
            params.n_threads = n_threads
            params.n_threads_batch = n_threads
        self.n_ctx = n_ctx
        self.n_batch = n_batch
        self._ctx = _internals.LlamaContext(model=llama._model, params=params, verbose=False)
        self.memory = llama_cpp.llama_get_memory(self._ctx.ctx)
        self._batch = llama_cpp.llama_batch_init(max(n_batch, batch_capacity or 0), 0, 1)
        self._vocab = llama_cpp.llama_model_get_vocab(llama._model.model)
        self.n_vocab = llama.n_vocab()
        self.adapter: Any = None  # the LoRA adapter set on this context (set_adapter)

    def set_adapter(self, adapter: Any) -> None:
        """Decode with this LoRA adapter from now on (None: the base alone); cells decoded before are
        dropped, as they were computed under the previous one."""
        if adapter is not self.adapter:
            set_context_adapter(self._ctx.ctx, adapter)
            self.clear()
            self.adapter = adapter

    def close(self) -> None:
        import llama_cpp

        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        self._ctx.close()

    def prompt_tokens(self, prompt: str) -> list[int]:
        """The prompt's tokens exactly as Llama.create_completion makes them (BOS where the model adds one)."""
        bos = self.llama.token_bos()
        head = [bos] if bos != -1 and self.llama._model.add_bos_token() else []
        return head + self.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def decode(self, items: list[tuple[int, int, int, bool]]) -> None:
        """Decode (token, position, sequence, wants logits) items as one batch."""
        import llama_cpp

        batch = self._batch
        batch.n_tokens = len(items)
        for i, (token, pos, seq, logits) in enumerate(items):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = 1 if logits else 0
        code = llama_cpp.llama_decode(self._ctx.ctx, batch)
        if code != 0:
            raise DecodeError(f"llama_decode failed ({code}) with {len(items)} tokens")

    def logits(self, row: int) -> Any:
        """The logits of a batch row that asked for them (-1: the last), as a numpy view (valid until
        the next decode)."""
        import llama_cpp
        import numpy as np

        pointer = llama_cpp.llama_get_logits_ith(self._ctx.ctx, row)
        return np.ctypeslib.as_array(ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(self.n_vocab,))

    def is_end(self, token: int) -> bool:
        """Whether the token ends generation (EOS, end of turn)."""
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def clear(self) -> None:
        import llama_cpp

        llama_cpp.llama_memory_clear(self.memory, True)

    def drop(self, seq: int) -> None:
        """Free every cell of sequence `seq`."""
        import llama_cpp

        llama_cpp.llama_memory_seq_rm(self.memory, seq, -1, -1)

    def copy(self, source: int, target: int, end: int = -1) -> None:
        """Give sequence `target` the cells of `source` up to position `end` (-1: all)."""
        import llama_cpp

        llama_cpp.llama_memory_seq_cp(self.memory, source, target, 0 if end >= 0 else -1, end)

    def text(self, tokens: list[int]) -> str:
        return self.llama.detokenize(tokens).decode("utf-8", errors="ignore")
