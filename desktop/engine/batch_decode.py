"""Greedy translation of many sentences at once: one llama.cpp context, one sequence per sentence, continuous
batching on a side context (docs/translate.md#speed-a-trimmed-vocabulary-and-documents-in-batches)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from alma_core.prompts import has_complete_line
from desktop.engine.side_context import DecodeError, SideContext

DEFAULT_SEQUENCES = 16
DEFAULT_CELLS = 4096


BatchDecodeError = DecodeError


@dataclass(frozen=True)
class Decoded:
    """One prompt's raw output and the mean log-probability of its tokens (None: no token); truncated:
    it stopped at its token limit, before an end token or a complete line (its end may be missing)."""

    text: str
    logprob: float | None
    tokens: int = 0
    truncated: bool = False


@dataclass
class _Slot:
    index: int  # which prompt
    pending: list[int]  # prompt tokens not yet decoded
    position: int = 0  # next position in the sequence
    limit: int = 0  # new tokens allowed
    reserved: int = 0  # cells this sentence may use
    output: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)  # log P of each token chosen (the confidence)
    batch_row: int = -1  # row of the last decode whose logits are this slot's


class BatchDecoder:
    """Greedy decoding of many prompts with the weights of a loaded llama_cpp.Llama."""

    def __init__(self, llama: Any, max_sequences: int = DEFAULT_SEQUENCES, n_ctx: int = DEFAULT_CELLS,
                 n_threads: int | None = None, n_batch: int = 512) -> None:
        self.max_sequences = max_sequences
        # One sequence more than sentences: the last holds the prompts' shared beginning.
        self._side = SideContext(llama, n_ctx, max_sequences + 1, n_threads, n_batch)
        self.n_ctx = n_ctx
        self.n_batch = n_batch

    def close(self) -> None:
        self._side.close()

    def set_adapter(self, adapter: Any) -> None:
        """Decode with this LoRA adapter (a llama_adapter_lora pointer; None: the base alone)."""
        self._side.set_adapter(adapter)

    def prompt_tokens(self, prompt: str) -> list[int]:
        """The prompt's tokens exactly as Llama.create_completion makes them."""
        return self._side.prompt_tokens(prompt)

    def fits(self, prompt_tokens: int, limit: int) -> bool:
        """Whether one sentence of this size can be decoded here at all."""
        return prompt_tokens + limit <= self.n_ctx

    def decode(self, prompts: Sequence[str], limits: Sequence[int],
               stop: Callable[[], bool] | None = None,
               on_done: Callable[[int, Decoded], None] | None = None) -> list[Decoded]:
        """The raw greedy output of every prompt (up to its first complete line, an end token or its limit).

        on_done(index, decoded) is called as each prompt finishes (in finishing order); stop() is checked
        before every step and raises InterruptedError when true. Prompts that do not fit (fits()) raise
        ValueError: the caller decodes those one at a time.
        """
        side = self._side
        tokens = [side.prompt_tokens(prompt) for prompt in prompts]
        for index, (prompt, limit) in enumerate(zip(tokens, limits, strict=True)):
            if not self.fits(len(prompt), limit):
                raise ValueError(f"prompt {index}: {len(prompt)} tokens + {limit} do not fit in {self.n_ctx} cells")
        results: list[Decoded | None] = [None] * len(tokens)
        waiting = list(range(len(tokens)))
        waiting.reverse()  # pop() takes them in order
        slots: dict[int, _Slot] = {}  # sequence id -> running sentence
        free = list(range(self.max_sequences - 1, -1, -1))
        side.clear()
        try:
            # The ALMA prompt's words before the sentence are the same for every sentence of a direction:
            # read once into their own sequence, then shared by every sentence (a copy only tags cells).
            prefix = self._shared_prefix(tokens)
            used_cells = len(prefix)
            while waiting or slots:
                if stop is not None and stop():
                    raise InterruptedError
                # Admit new sentences while there is a sequence, room in the cells and in this batch.
                while waiting and free:
                    index = waiting[-1]
                    need = len(tokens[index]) + limits[index]
                    if used_cells + need > self.n_ctx and slots:
                        break
                    waiting.pop()
                    seq = free.pop()
                    shared = len(prefix)
                    if shared:
                        side.copy(self.max_sequences, seq, shared)
                    slots[seq] = _Slot(index, list(tokens[index][shared:]), position=shared,
                                       limit=limits[index], reserved=need - shared)
                    used_cells += need - shared
                items = self._fill_batch(slots)
                side.decode(items)
                for seq, slot in list(slots.items()):
                    if slot.pending or slot.batch_row < 0:
                        continue  # its prompt is still being read
                    token, logprob = self._greedy(slot.batch_row)
                    slot.batch_row = -1
                    slot.logprobs.append(logprob)  # the stop token counts too, as in the engine's confidence
                    truncated = False
                    if side.is_end(token):
                        finished = True
                    else:
                        slot.output.append(token)
                        finished = has_complete_line(side.text(slot.output))
                        if not finished and len(slot.output) >= slot.limit:
                            finished = truncated = True
                    if finished:
                        text = Decoded(side.text(slot.output),
                                       sum(slot.logprobs) / len(slot.logprobs) if slot.logprobs else None,
                                       len(slot.output), truncated)
                        results[slot.index] = text
                        side.drop(seq)
                        used_cells -= slot.reserved
                        del slots[seq]
                        free.append(seq)
                        if on_done is not None:
                            on_done(slot.index, text)
        finally:
            side.clear()
        return [decoded or Decoded("", None) for decoded in results]

    def _shared_prefix(self, tokens: list[list[int]]) -> list[int]:
        """Decode the tokens every prompt begins with (all but each prompt's last) into the prefix
        sequence; returns them ([] when there are none worth sharing)."""
        if len(tokens) < 2:
            return []
        prefix = tokens[0][:-1]
        for other in tokens[1:]:
            common = 0
            for a, b in zip(prefix, other[:-1], strict=False):
                if a != b:
                    break
                common += 1
            prefix = prefix[:common]
        if len(prefix) < 2:
            return []
        for start in range(0, len(prefix), self.n_batch):
            chunk = prefix[start:start + self.n_batch]
            self._side.decode([(token, start + i, self.max_sequences, False) for i, token in enumerate(chunk)])
        return prefix

    def _fill_batch(self, slots: dict[int, _Slot]) -> list[tuple[int, int, int, bool]]:
        """This step's (token, position, sequence, wants logits) items: the next token of every sentence
        that is generating, then as much prompt as the batch holds (a long prompt over several steps)."""
        items: list[tuple[int, int, int, bool]] = []
        owners: list[_Slot] = []
        for seq, slot in slots.items():
            if not slot.pending and slot.output:
                items.append((slot.output[-1], slot.position, seq, True))
                owners.append(slot)
                slot.position += 1
        for seq, slot in slots.items():
            room = self.n_batch - len(items)
            if not slot.pending or room <= 0:
                continue
            chunk, slot.pending = slot.pending[:room], slot.pending[room:]
            for i, token in enumerate(chunk):
                last = not slot.pending and i == len(chunk) - 1
                items.append((token, slot.position, seq, last))
                owners.append(slot if last else None)
                slot.position += 1
        for row, owner in enumerate(owners):
            if owner is not None:
                owner.batch_row = row
        return items

    def _greedy(self, row: int) -> tuple[int, float]:
        """The argmax token of a batch row's logits and its log-probability."""
        import numpy as np

        logits = self._side.logits(row)
        token = int(np.argmax(logits))
        top = float(logits[token])
        return token, -float(np.log(np.sum(np.exp(logits.astype(np.float64) - top))))
