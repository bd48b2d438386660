"""LlamaModel: one GGUF loaded by llama.cpp (with a LoRA adapter per direction for a bundle), the only place the
engine talks to llama-cpp-python: greedy streaming with the ALMA prompt, tokenizing, beam search and batch decoders
(docs/translate.md, "Engine"; adapters: docs/adapters.md)."""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alma_core.gguf_file import ModelLoadError
from alma_core.interrupts import called_from_c
from alma_core.paths import MMAP_ENV
from alma_core.prompts import PART_TOKENS, build_prompt, clean_output, output_token_limit
from desktop.engine.batch_decode import BatchDecoder
from desktop.engine.beam import BeamSearcher
from desktop.engine.clauses import Part, split_long
from desktop.engine.confidence import LogprobRecorder
from desktop.engine.side_context import set_context_adapter
from desktop.engine.translator import TranslationCancelled

Stop = Callable[[], bool]


def resolve_gpu_layers(n_gpu_layers: int | str) -> int:
    """"auto": every layer (-1) when llama.cpp was built with GPU offload (Metal, CUDA, ...), else 0."""
    if n_gpu_layers == "auto":
        import llama_cpp

        return -1 if llama_cpp.llama_supports_gpu_offload() else 0
    return int(n_gpu_layers)


def default_threads() -> int:
    # llama.cpp scales to the physical cores; past ~8 threads memory bandwidth is the limit on CPUs.
    return max(1, min(8, os.cpu_count() or 1))


def use_mmap() -> bool:
    """Whether llama.cpp maps the GGUF instead of reading it into memory: only when $ALMA_LOCAL_MMAP=1.

    A mapped model crashes the whole process with SIGBUS when its file is truncated or overwritten in
    place (`cp new.gguf model.gguf`, a download into the same name) while loaded; a model read into
    memory keeps translating whatever happens to the file. Mapping saves memory only for models
    larger than the free RAM, so it is an opt-in.
    """
    return os.environ.get(MMAP_ENV, "").strip().lower() in ("1", "true", "yes", "on")


# llama.cpp logs these at error level although nothing is wrong (every Gemma 3 load says it uses the
# full-size sliding-window cache); llama-cpp-python prints error-level lines even with verbose=False.
_HARMLESS_LLAMA_LOG_LINES = (b"using full-size SWA cache",)
_log_filter = None


def _filter_llama_log() -> None:
    """Route llama.cpp's log through llama-cpp-python's own printer, minus the harmless lines above.

    Installed once per process; everything else (real load errors included) is printed as before.
    """
    global _log_filter
    if _log_filter is not None:
        return
    import ctypes

    import llama_cpp
    from llama_cpp import _logger

    @llama_cpp.llama_log_callback
    @called_from_c  # a signal landing in here is delivered again outside it (alma_core.interrupts)
    def log_filter(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if not any(line in text for line in _HARMLESS_LLAMA_LOG_LINES):
            _logger.llama_log_callback(level, text, user_data)

    _log_filter = log_filter  # keep the ctypes callback alive as long as llama.cpp may call it
    llama_cpp.llama_log_set(log_filter, ctypes.c_void_p(0))


class LlamaModel:
    """A GGUF in llama.cpp with the engine's settings; counts sentences decoded (calls) and tokens.

    adapters: direction (src, tgt) -> a GGUF LoRA adapter file (a bundle's); each file is loaded once
    (llama_adapter_lora_init) and set on whichever context decodes that direction (llama_set_adapters_lora),
    a direction without one runs on the base alone. The weights are never loaded again for a switch.

    One lock serializes the main context and the beam-search context (llama.cpp contexts are not
    thread-safe); batch decoders have their own context per call.
    """

    def __init__(self, path: Path, n_ctx: int, n_threads: int, n_gpu_layers: int, max_new_tokens: int,
                 adapters: Mapping[tuple[str, str], Path] | None = None) -> None:
        from llama_cpp import Llama

        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.max_new_tokens = max_new_tokens
        self.calls = 0
        self.tokens = 0
        self.lock = threading.RLock()
        self._searcher: Any = None  # desktop.engine.beam.BeamSearcher, made by the first n_best()
        self._directions = dict(adapters or {})
        self._adapters: dict[Path, Any] = {}  # adapter file -> llama_adapter_lora pointer
        self._active: Path | None = None  # the adapter set on the main context
        _filter_llama_log()
        try:
            self._llama = Llama(str(path), n_ctx=n_ctx, n_threads=n_threads, n_gpu_layers=n_gpu_layers,
                                verbose=False, seed=0, use_mmap=use_mmap())
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(f"{path}: llama.cpp could not load the model ({exc})") from None
        try:
            for adapter in dict.fromkeys(self._directions.values()):
                self._adapters[adapter] = self._load_adapter(adapter)
        except ModelLoadError:
            self.close()
            raise

    # -- adapters --------------------------------------------------------------------------------

    def _load_adapter(self, path: Path) -> Any:
        import llama_cpp

        pointer = llama_cpp.llama_adapter_lora_init(self._llama._model.model, str(path).encode("utf-8"))
        if not pointer:  # llama.cpp logs why (wrong base, not an adapter, missing tensors)
            raise ModelLoadError(f"{path}: llama.cpp could not load the LoRA adapter on this base model")
        return pointer

    def adapter_for(self, src: str, tgt: str) -> Path | None:
        """The adapter file that translates src->tgt, or None (the base alone)."""
        return self._directions.get((src, tgt))

    def adapter_pointer(self, src: str, tgt: str) -> int | None:
        """The address of the loaded adapter of src->tgt (None: the base alone); the same for the model's life."""
        adapter = self.adapter_for(src, tgt)
        return None if adapter is None else ctypes.cast(self._adapters[adapter], ctypes.c_void_p).value

    @property
    def active_adapter(self) -> Path | None:
        """The adapter set on the main context now (None: the base alone)."""
        return self._active

    def _use_direction(self, src: str, tgt: str) -> None:
        """Set src->tgt's adapter on the main context (a no-op when it is set). A switch forgets the
        context's tokens: llama-cpp-python reuses the longest common prompt prefix of the last call, and
        those KV cells were computed under the other adapter (the ALMA prompt's shared beginning would
        otherwise keep the previous direction's adapter in it)."""
        adapter = self.adapter_for(src, tgt)
        if adapter == self._active:
            return
        set_context_adapter(self._llama._ctx.ctx, self._adapters.get(adapter) if adapter else None)
        self._llama.reset()
        self._active = adapter

    # -- tokens ----------------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        """text's tokens, without a BOS and without special tokens."""
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def detokenize(self, tokens: list[int]) -> str:
        return self._llama.detokenize(tokens).decode("utf-8", errors="ignore")

    def token_limit(self, sentence: str) -> int:
        """New tokens allowed for this sentence: a few times its own length, at most max_new_tokens
        (a model that rambles on costs the user time and puts junk in the output)."""
        return output_token_limit(len(self.tokenize(sentence)), self.max_new_tokens)

    def parts(self, sentence: str, src: str, tgt: str) -> list[Part]:
        """The sentence as one Part, or cut at clause boundaries into parts the model translates well:
        at most PART_TOKENS tokens each (alma_core.prompts), and prompts that leave room for the output
        in n_ctx (desktop.engine.clauses)."""
        room = self.n_ctx - self.max_new_tokens

        def fits(text: str) -> bool:
            return (len(self.tokenize(text)) <= PART_TOKENS
                    and len(self.tokenize(build_prompt(src, tgt, text))) <= room)

        return split_long(sentence, fits)

    # -- decoding --------------------------------------------------------------------------------

    def stream(self, sentence: str, src: str, tgt: str, stop: Stop, forcer: Any = None,
               grammar: str | None = None, token_logprobs: list[float] | None = None,
               cut: list[bool] | None = None) -> Iterator[str]:
        """Stream the model's greedy translation of one sentence, cut as clean_output cuts it.

        forcer: a llama-cpp-python logits processor (terminology forcing); grammar: GBNF text the
        output must match. token_logprobs: extended with the log-probability of each token chosen.
        cut: appended True when the output stopped at its token limit (token_limit: the translation
        may be missing its end), False when the model ended it. stop() is checked between tokens
        (TranslationCancelled).

        clean_output keeps the first non-empty line, stripped: leading whitespace is dropped here,
        trailing whitespace is held back until more text follows, and generation stops at the first
        line break after the text began.
        """
        from llama_cpp import LlamaGrammar, LogitsProcessorList

        prompt = build_prompt(src, tgt, sentence)
        raw: list[str] = []
        streamed: list[str] = []
        pending = ""
        started = False
        finish = None  # llama.cpp's finish reason, "length" at the token limit
        processors = [forcer] if forcer is not None else []
        recorder = LogprobRecorder(processors) if token_logprobs is not None else None
        if recorder is not None:
            processors = [recorder]
        with self.lock:
            self._use_direction(src, tgt)
            self.calls += 1
            stream = self._llama.create_completion(
                prompt, max_tokens=self.token_limit(sentence), temperature=0.0, top_k=1, stream=True,
                logits_processor=LogitsProcessorList(processors) if processors else None,
                grammar=LlamaGrammar.from_string(grammar, verbose=False) if grammar is not None else None,
            )
            try:
                for chunk in stream:
                    if stop():
                        raise TranslationCancelled("translation cancelled")
                    self.tokens += 1
                    finish = chunk["choices"][0].get("finish_reason") or finish
                    text = chunk["choices"][0]["text"]
                    raw.append(text)
                    if not started:
                        text = text.lstrip()
                        if not text:
                            continue
                        started = True
                    lines = text.splitlines()
                    first = lines[0] if lines else ""
                    body = pending + first
                    kept = body.rstrip()
                    pending = body[len(kept):]
                    if kept:
                        streamed.append(kept)
                        yield kept
                    if first != text:  # a line break: the translation line is complete
                        finish = "stop"
                        break
            finally:
                stream.close()
                if recorder is not None and token_logprobs is not None:
                    token_logprobs.extend(recorder.logprobs)
        if cut is not None:
            cut.append(finish == "length")
        # The streamed cut and the shared cut agree; the shared one is the reference.
        cleaned = clean_output("".join(raw), tgt)
        if cleaned != "".join(streamed) and cleaned.startswith("".join(streamed)):
            yield cleaned[len("".join(streamed)):]

    def n_best(self, sentence: str, src: str, tgt: str, beams: int, stop: Stop) -> list[str]:
        """Beam search's raw outputs for one sentence, best first (InterruptedError when stop())."""
        with self.lock:
            searcher = self._beam_searcher(beams)
            adapter = self.adapter_for(src, tgt)
            searcher.set_adapter(self._adapters[adapter] if adapter else None)
            self.calls += 1
            hypotheses = searcher.search(build_prompt(src, tgt, sentence), self.token_limit(sentence), stop=stop)
            self.tokens += sum(len(h.tokens) for h in hypotheses)
            return searcher.texts(hypotheses)

    def _beam_searcher(self, beams: int) -> Any:
        """The beam-search context, made on first use (and again for more beams); it has its own KV
        cache, room for the longest prompt plus `beams` outputs."""
        searcher = self._searcher
        if searcher is None or searcher.beams < beams:
            if searcher is not None:
                searcher.close()
            self._searcher = None
            n_ctx = self.n_ctx + (beams - 1) * self.max_new_tokens
            self._searcher = BeamSearcher(self._llama, beams, -(-n_ctx // 256) * 256, self.n_threads)
        return self._searcher

    @contextmanager
    def batch_decoder(self, max_sequences: int, n_ctx: int, src: str, tgt: str) -> Iterator[BatchDecoder]:
        """A batch decoder on these weights for src->tgt (its own context with the direction's adapter,
        freed at exit)."""
        decoder = BatchDecoder(self._llama, max_sequences=max_sequences, n_ctx=n_ctx, n_threads=self.n_threads)
        adapter = self.adapter_for(src, tgt)
        if adapter is not None:
            decoder.set_adapter(self._adapters[adapter])
        try:
            yield decoder
        finally:
            decoder.close()

    def close(self) -> None:
        """Free the model now rather than at garbage collection: the contexts first, then the adapters they
        point to, then the weights."""
        import llama_cpp

        with self.lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
            if self._adapters:
                context = getattr(self._llama, "_ctx", None)
                if context is not None and context.ctx is not None:
                    set_context_adapter(context.ctx, None)
                for pointer in self._adapters.values():
                    llama_cpp.llama_adapter_lora_free(pointer)
                self._adapters.clear()
                self._active = None
            self._llama.close()


class DirectionDecoder:
    """What term decoding needs of the model for one sentence: greedy decoding of a text in one
    direction (forced or under a grammar) and the tokenizer. Each output's token log-probabilities are
    kept in `scored`, and whether it stopped at its token limit in `cut`, so the caller can find those
    of the output it keeps."""

    def __init__(self, model: LlamaModel, src: str, tgt: str, stop: Stop) -> None:
        self._model = model
        self._src, self._tgt, self._stop = src, tgt, stop
        self.scored: dict[str, list[float]] = {}
        self.cut: dict[str, bool] = {}

    def generate(self, text: str, forcer: Any = None, grammar: str | None = None) -> str:
        logprobs: list[float] = []
        cut: list[bool] = []
        output = "".join(self._model.stream(text, self._src, self._tgt, self._stop, forcer=forcer,
                                            grammar=grammar, token_logprobs=logprobs, cut=cut))
        self.scored[output] = logprobs
        self.cut[output] = any(cut)
        return output

    def tokenize(self, text: str) -> list[int]:
        return self._model.tokenize(text)

    def detokenize(self, tokens: list[int]) -> str:
        return self._model.detokenize(tokens)
