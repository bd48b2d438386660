"""n-best translations by beam search in llama.cpp, all beams in one batch sharing the prompt's KV cache.

How beams share the cache, are ranked and end: docs/post_editing.md#how-alternatives-are-found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alma_core.prompts import has_complete_line
from desktop.engine.confidence import log_softmax
from desktop.engine.side_context import DecodeError, SideContext

# Candidates taken per beam at each step: 2 x beams, as transformers does, so that beams ending in
# an end token do not leave too few running ones.
_CANDIDATES_PER_BEAM = 2


BeamSearchError = DecodeError


@dataclass
class Hypothesis:
    tokens: list[int]
    score: float  # sum of token log-probabilities

    @property
    def normalized(self) -> float:
        return self.score / max(1, len(self.tokens))


class BeamSearcher:
    """Beam search with the weights of a loaded llama_cpp.Llama, in its own context.

    beams: the number of running hypotheses; n_ctx: KV cells for the prompt plus beams x the output
    limit. The context costs memory like the engine's own, so the engine creates it on first use.
    """

    def __init__(self, llama: Any, beams: int, n_ctx: int, n_threads: int) -> None:
        self.llama = llama
        self.beams = beams
        # Beams live in sequences [0, beams) and [beams, 2 x beams) in turn.
        self._side = SideContext(llama, n_ctx, 2 * beams, n_threads, n_batch=min(n_ctx, 512),
                                 batch_capacity=2 * beams)
        self.n_batch = self._side.n_batch
        self.n_vocab = self._side.n_vocab
        self.n_ctx = n_ctx

    def close(self) -> None:
        self._side.close()

    def set_adapter(self, adapter: Any) -> None:
        """Search with this LoRA adapter (a llama_adapter_lora pointer; None: the base alone)."""
        self._side.set_adapter(adapter)

    def _logprobs(self, index: int) -> Any:
        return log_softmax(self._side.logits(index))

    # -- search ------------------------------------------------------------------------------------

    def search(self, prompt: str, max_new_tokens: int, stop: Callable[[], bool] | None = None) -> list[Hypothesis]:
        """The finished hypotheses, best (highest normalized score) first.

        stop: checked before every step; when true the search raises InterruptedError.
        """
        import numpy as np

        side = self._side
        side.clear()
        prompt_tokens = side.prompt_tokens(prompt)
        if len(prompt_tokens) + self.beams * max_new_tokens > self.n_ctx:
            max_new_tokens = max(1, (self.n_ctx - len(prompt_tokens)) // self.beams)
        for start in range(0, len(prompt_tokens), self.n_batch):
            if stop is not None and stop():
                raise InterruptedError
            chunk = prompt_tokens[start:start + self.n_batch]
            last = start + len(chunk) == len(prompt_tokens)
            side.decode([(token, start + i, 0, last and i == len(chunk) - 1) for i, token in enumerate(chunk)])
        n_prompt = len(prompt_tokens)
        running = [Hypothesis([], 0.0)]
        running_logprobs = [self._logprobs(-1)]  # the prompt's last token
        base = 0  # running beam j lives in sequence base + j
        finished: list[Hypothesis] = []
        width = _CANDIDATES_PER_BEAM * self.beams
        for _ in range(max_new_tokens):
            if stop is not None and stop():
                raise InterruptedError
            candidates: list[tuple[float, int, int]] = []
            for parent, logprobs in enumerate(running_logprobs):
                top = np.argpartition(logprobs, -width)[-width:]
                score = running[parent].score
                candidates.extend((score + float(logprobs[t]), parent, int(t)) for t in top)
            # Highest score first; ties by parent then token id, so the order never depends on numpy.
            candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
            survivors: list[tuple[int, Hypothesis]] = []
            for score, parent, token in candidates:
                hypothesis = Hypothesis([*running[parent].tokens, token], score)
                if side.is_end(token) or has_complete_line(self._text(hypothesis)):
                    finished.append(hypothesis)
                else:
                    survivors.append((parent, hypothesis))
                    if len(survivors) == self.beams:
                        break
            if not survivors or self._done(finished, survivors):
                break
            other = self.beams - base
            for j, (parent, _) in enumerate(survivors):
                side.drop(other + j)
                side.copy(base + parent, other + j)
            for j in range(len(running)):
                side.drop(base + j)
            side.decode([(hyp.tokens[-1], n_prompt + len(hyp.tokens) - 1, other + j, True)
                          for j, (_, hyp) in enumerate(survivors)])
            running = [hyp for _, hyp in survivors]
            running_logprobs = [self._logprobs(j) for j in range(len(running))]
            base = other
        else:
            finished.extend(running)  # the output limit: what runs is as finished as it gets
        if not finished:
            finished = running
        side.clear()
        return sorted(finished, key=lambda h: -h.normalized)

    def _done(self, finished: list[Hypothesis], running: list[tuple[int, Hypothesis]]) -> bool:
        """transformers' heuristic: beams hypotheses are finished and the best running one, normalized
        by its current length, cannot beat the worst of them any more."""
        if len(finished) < self.beams:
            return False
        worst = sorted(h.normalized for h in finished)[-self.beams]
        return max(h.normalized for _, h in running) <= worst

    def _text(self, hypothesis: Hypothesis) -> str:
        return self._side.text(hypothesis.tokens)

    def texts(self, hypotheses: list[Hypothesis]) -> list[str]:
        """The decoded outputs of the hypotheses, in order."""
        return [self._text(h) for h in hypotheses]
