"""Translating test sets with a model: transformers beam search (HF folders) or llama.cpp (GGUF files, a GGUF
with a GGUF LoRA adapter, bundles: docs/adapters.md).

Same prompt and cut for both; decoding settings and the first-line stop: docs/evaluation.md#what-it-does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from alma_core.bundle import Bundle, BundleAdapter, is_bundle, load_bundle
from alma_core.prompts import (
    OUTPUT_LENGTH_FACTOR,
    build_prompt,
    clean_output,
    has_complete_line,
    output_token_limit,
)
from desktop.engine.side_context import set_context_adapter


@dataclass(frozen=True)
class DecodingSettings:
    """How hypotheses are produced; recorded in every report."""

    beams: int = 5
    max_new_tokens: int = 256
    batch_size: int = 8
    line_stop: bool = True
    # Output tokens allowed per source token (prompts.output_token_limit); 0: only max_new_tokens.
    length_factor: float = OUTPUT_LENGTH_FACTOR


class Translator(Protocol):
    """Translates a list of source segments from src to tgt; returns the cut outputs."""

    description: dict

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]: ...


class HFTranslator:
    """An HF causal LM (+ optional PEFT adapter) decoded with transformers beam search."""

    def __init__(self, model_dir: Path, settings: DecodingSettings, adapter: Path | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        from alma_train.train.tokenizer import load_tokenizer

        self.settings = settings
        self.tokenizer = load_tokenizer(model_dir)
        # Left padding: every prompt in a batch then ends at the same position, where generation starts.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if self.device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, use_safetensors=True,
                                                     trust_remote_code=False)
        if adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter))
        self.model = model.to(self.device).eval()
        self._newline_ids = self._tokens_with_newline()
        self.description = {"kind": "hf", "path": str(model_dir), "adapter": str(adapter) if adapter else None,
                            "dtype": str(dtype).removeprefix("torch."), "device": self.device}

    def _tokens_with_newline(self) -> set[int]:
        vocab_size = len(self.tokenizer)
        pieces = self.tokenizer.convert_ids_to_tokens(list(range(vocab_size)))
        ids = set()
        for token_id, piece in enumerate(pieces):
            # Byte-level BPE spells "\n" as "Ċ"; SentencePiece keeps it or uses the byte token <0x0A>.
            if piece and ("\n" in piece or "Ċ" in piece or piece == "<0x0A>"):
                ids.add(token_id)
        return ids

    def _line_stop(self, prompt_length: int):
        import torch
        from transformers import StoppingCriteria

        tokenizer, newline_ids = self.tokenizer, self._newline_ids

        class FirstLineComplete(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
                last = input_ids[:, -1].tolist()
                for row, token_id in enumerate(last):
                    # Decoding only rows whose last token holds a newline keeps this cheap.
                    if token_id in newline_ids:
                        text = tokenizer.decode(input_ids[row, prompt_length:], skip_special_tokens=True)
                        done[row] = has_complete_line(text)
                return done

        return FirstLineComplete()

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        import torch
        from transformers import StoppingCriteriaList

        outputs: list[str] = []
        size = max(1, self.settings.batch_size)
        for start in range(0, len(texts), size):
            prompts = [build_prompt(src, tgt, text) for text in texts[start:start + size]]
            batch = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=True,
                                   return_token_type_ids=False)
            batch = {k: v.to(self.device) for k, v in batch.items()}
            prompt_length = batch["input_ids"].shape[1]
            longest = max(len(self.tokenizer(t, add_special_tokens=False)["input_ids"])
                          for t in texts[start:start + size])
            stopping = StoppingCriteriaList([self._line_stop(prompt_length)]) if self.settings.line_stop else None
            with torch.inference_mode():
                generated = self.model.generate(
                    **batch,
                    num_beams=self.settings.beams,
                    do_sample=False,
                    max_new_tokens=output_token_limit(longest, self.settings.max_new_tokens,
                                                      self.settings.length_factor),
                    eos_token_id=self.tokenizer.eos_token_id,
                    pad_token_id=self.tokenizer.pad_token_id,
                    stopping_criteria=stopping,
                    # Unset sampling knobs a model's generation_config may carry, so greedy/beam stays pure.
                    temperature=None, top_p=None, top_k=None,
                )
            continuations = self.tokenizer.batch_decode(generated[:, prompt_length:], skip_special_tokens=True)
            outputs.extend(clean_output(text, tgt) for text in continuations)
        return outputs


class GGUFTranslator:
    """A GGUF model decoded greedily with llama.cpp (how the desktop app runs it), optionally with one GGUF
    LoRA adapter (alma-convert lora) applied at scale 1 for every direction."""

    def __init__(self, gguf_path: Path, settings: DecodingSettings, n_ctx: int = 2048,
                 n_threads: int | None = None, adapter: Path | None = None) -> None:
        import os

        from llama_cpp import Llama

        self.settings = settings
        threads = n_threads or max(1, min(8, os.cpu_count() or 1))
        self.llama = Llama(str(gguf_path), n_ctx=n_ctx, n_threads=threads, verbose=False, seed=0,
                           lora_path=str(adapter) if adapter else None)
        self.description = {"kind": "gguf", "path": str(gguf_path), "adapter": str(adapter) if adapter else None,
                            "n_ctx": n_ctx}

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        from llama_cpp import StoppingCriteriaList

        outputs: list[str] = []
        for text in texts:
            prompt = build_prompt(src, tgt, text)
            source_tokens = len(self.llama.tokenize(text.encode("utf-8"), add_bos=False))
            result = self.llama.create_completion(
                prompt,
                max_tokens=output_token_limit(source_tokens, self.settings.max_new_tokens,
                                              self.settings.length_factor),
                temperature=0.0,
                top_k=1,
                repeat_penalty=1.0,
                stopping_criteria=StoppingCriteriaList([_LlamaFirstLine(self.llama)]) if self.settings.line_stop else None,
            )
            outputs.append(clean_output(result["choices"][0]["text"], tgt))
        return outputs


class BundleTranslator:
    """A bundle decoded as a GGUF is: its base loaded once by llama.cpp, each direction with its adapter set
    on the context (the engine's switch, no reload); a direction without an adapter runs on the base alone.

    The description names the bundle, its base and, per direction translated, the adapter that did it.
    """

    def __init__(self, root: Path, settings: DecodingSettings, n_ctx: int = 2048,
                 n_threads: int | None = None) -> None:
        import llama_cpp

        self.bundle: Bundle = load_bundle(root)  # the sha256 of the base and of every adapter checked
        self._base = GGUFTranslator(self.bundle.base_path, settings, n_ctx, n_threads)
        self.llama = self._base.llama
        self._pointers: dict[str, object] = {}  # adapter file (bundle-relative) -> llama_adapter_lora
        for adapter in self.bundle.adapters:
            path = self.bundle.adapter_path(adapter)
            pointer = llama_cpp.llama_adapter_lora_init(self.llama._model.model, str(path).encode("utf-8"))
            if not pointer:  # llama.cpp logs why (wrong base, not an adapter)
                self.close()
                raise ValueError(f"{path}: llama.cpp could not load the LoRA adapter on the bundle's base "
                                 f"{self.bundle.base_path}")
            self._pointers[adapter.file] = pointer
        self._active: BundleAdapter | None = None
        self.description = {
            "kind": "bundle", "path": str(self.bundle.root), "name": self.bundle.name,
            "base": str(self.bundle.base_path), "base_sha256": self.bundle.base.sha256, "adapter": None,
            "n_ctx": n_ctx, "directions": {},  # filled per direction translated
        }

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        adapter = self.bundle.adapter_for(src, tgt)
        if adapter != self._active:
            set_context_adapter(self.llama._ctx.ctx, self._pointers[adapter.file] if adapter else None)
            # llama-cpp-python reuses the last prompt's KV cells for a common prefix; those were computed
            # under the other adapter (the ALMA prompt's beginning is shared across directions).
            self.llama.reset()
            self._active = adapter
        self.description["directions"][f"{src}-{tgt}"] = (
            {"adapter": adapter.file, "sha256": adapter.sha256, "language": adapter.language} if adapter else
            {"adapter": None, "note": "no adapter for this direction: the base translates it alone (zero-shot)"})
        return self._base.translate(texts, src, tgt)

    def close(self) -> None:
        """Free the adapters, then the weights (the context points to the adapter set on it)."""
        import llama_cpp

        if self._pointers:
            set_context_adapter(self.llama._ctx.ctx, None)
            for pointer in self._pointers.values():
                llama_cpp.llama_adapter_lora_free(pointer)
            self._pointers.clear()
            self._active = None
        self.llama.close()


class _LlamaFirstLine:
    """llama.cpp stopping criterion: true once the output holds a complete non-empty line."""

    def __init__(self, llama) -> None:
        self.llama = llama
        self.start: int | None = None

    def __call__(self, input_ids, logits) -> bool:
        # llama-cpp-python passes the tokens evaluated so far; on the first call that is exactly the
        # prompt, which fixes where the output starts.
        if self.start is None:
            self.start = len(input_ids)
        tail = self.llama.detokenize(list(input_ids[self.start:])).decode("utf-8", errors="ignore")
        return has_complete_line(tail)


def load_translator(model: Path, settings: DecodingSettings, adapter: Path | None = None) -> Translator:
    """An HF folder (config.json + safetensors; adapter: a peft folder), a .gguf file (adapter: a GGUF LoRA
    adapter file) or a bundle folder; raises FileNotFoundError/ValueError (BundleError for a bad bundle)."""
    if model.is_file() and model.suffix.lower() == ".gguf":
        if adapter is not None and not (adapter.is_file() and adapter.suffix.lower() == ".gguf"):
            raise ValueError(f"--adapter {adapter}: a GGUF model takes a GGUF LoRA adapter file "
                             f"(alma-convert lora makes one from a peft folder)")
        return GGUFTranslator(model, settings, adapter=adapter)
    if is_bundle(model):
        if adapter is not None:
            raise ValueError(f"--adapter does not apply to the bundle {model}: it has an adapter per language")
        return BundleTranslator(model, settings)
    if model.is_dir():
        if not (model / "config.json").is_file():
            raise FileNotFoundError(f"model folder {model} has no config.json")
        if not any(model.glob("*.safetensors")):
            raise FileNotFoundError(f"model folder {model} has no .safetensors weights (pickled .bin is not loaded)")
        if adapter is not None and not (adapter / "adapter_config.json").is_file():
            raise FileNotFoundError(f"adapter folder {adapter} has no adapter_config.json")
        return HFTranslator(model, settings, adapter)
    if model.exists():
        raise ValueError(f"model {model} is neither an HF model folder nor a .gguf file")
    raise FileNotFoundError(f"model not found: {model}")
