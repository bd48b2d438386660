"""Check a GGUF (optionally with a LoRA adapter GGUF) against the HF model it came from (with the peft adapter
merged): the same token ids, then the same next-token logits (docs/convert.md, "Verify")."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from alma_core.prompts import build_prompt
from convert.checkpoint import Checkpoint
from convert.errors import ConversionError
from convert.lora_adapter import adapter_checkpoint, lora_file_type, read_adapter_config

VERIFY_TEXTS: tuple[str, ...] = (
    "The committee met on Tuesday. It approved the budget, but two members voted against it. "
    "A final report is expected in March.",
    "Das Wetter war schlecht, also blieben wir zu Hause. Am Abend lasen wir Bücher und tranken Tee.",
    "Včera jsem byl v knihovně. Půjčil jsem si tři knihy o historii Prahy.",
    "Мы долго ждали автобус. Наконец он пришёл, и мы поехали в центр города.",
    "我们明天去北京。那里的天气很好，我们打算参观博物馆。",
    build_prompt("de", "en", "Ich habe heute keine Zeit. Können wir uns morgen treffen?"),
)

UNQUANTIZED_FILE_TYPES = {0: "f32", 1: "f16"}  # general.file_type values that must match top-1 exactly
# Two next-token logits closer than this in the HF model are a tie: f16 weights and activations move
# logits by a few hundredths, so which of two tied tokens wins is rounding noise, not a conversion
# error. Such positions are reported (count and gap), and are the only top-1 misses an f16 file may have.
TIE_TOLERANCE = 0.01


@dataclass
class TextResult:
    text: str
    hf_ids: list[int]
    gguf_ids: list[int]
    max_abs_diff: float = math.nan
    top1_agreement: float = math.nan
    mean_kl: float = math.nan
    # positions where the top-1 tokens differ, with the HF logit gap between the two tokens
    top1_misses: list[tuple[int, float]] = field(default_factory=list)

    @property
    def real_misses(self) -> list[tuple[int, float]]:
        return [(pos, gap) for pos, gap in self.top1_misses if gap >= TIE_TOLERANCE]

    @property
    def tokens_match(self) -> bool:
        return self.hf_ids == self.gguf_ids


@dataclass
class VerifyReport:
    gguf_path: Path
    file_type: str
    results: list[TextResult] = field(default_factory=list)
    lora_path: Path | None = None
    lora_type: str | None = None  # the adapter's matrices' type (f32, f16, q8_0) when there is one

    @property
    def tokens_match(self) -> bool:
        return all(r.tokens_match for r in self.results)

    @property
    def positions(self) -> int:
        return sum(len(r.hf_ids) for r in self.results if r.tokens_match)

    def _weighted(self, attr: str) -> float:
        pairs = [(getattr(r, attr), len(r.hf_ids)) for r in self.results if r.tokens_match]
        total = sum(n for _, n in pairs)
        return sum(v * n for v, n in pairs) / total if total else math.nan

    @property
    def top1_agreement(self) -> float:
        return self._weighted("top1_agreement")

    @property
    def mean_kl(self) -> float:
        return self._weighted("mean_kl")

    @property
    def max_abs_diff(self) -> float:
        values = [r.max_abs_diff for r in self.results if r.tokens_match]
        return max(values) if values else math.nan

    @property
    def near_ties(self) -> list[tuple[int, float]]:
        return [m for r in self.results if r.tokens_match for m in r.top1_misses if m[1] < TIE_TOLERANCE]

    @property
    def real_top1_misses(self) -> int:
        return sum(len(r.real_misses) for r in self.results if r.tokens_match)

    @property
    def must_match_top1(self) -> bool:
        unquantized = UNQUANTIZED_FILE_TYPES.values()
        return self.file_type in unquantized and (self.lora_type is None or self.lora_type in unquantized)

    @property
    def passed(self) -> bool:
        if not self.tokens_match:
            return False
        return not self.must_match_top1 or self.real_top1_misses == 0

    def summary(self) -> str:
        lines = [f"verify {self.gguf_path.name} ({self.file_type})"]
        if self.lora_path is not None:
            lines[0] += f" + adapter {self.lora_path.name} ({self.lora_type})"
        for i, r in enumerate(self.results, 1):
            if r.tokens_match:
                lines.append(
                    f"  text {i}: {len(r.hf_ids):3d} tokens match; max|diff| {r.max_abs_diff:.4f}  "
                    f"top-1 {100 * r.top1_agreement:.1f}%  mean KL {r.mean_kl:.6f}"
                )
            else:
                first = next(
                    (j for j, (a, b) in enumerate(zip(r.hf_ids, r.gguf_ids, strict=False)) if a != b),
                    min(len(r.hf_ids), len(r.gguf_ids)),
                )
                lines.append(
                    f"  text {i}: TOKENS DIFFER at position {first}: HF {r.hf_ids[first : first + 5]} vs "
                    f"llama.cpp {r.gguf_ids[first : first + 5]} ({len(r.hf_ids)} vs {len(r.gguf_ids)} tokens)"
                )
        lines.append(
            f"  all: {self.positions} positions; max|diff| {self.max_abs_diff:.4f}  "
            f"top-1 {100 * self.top1_agreement:.2f}%  mean KL {self.mean_kl:.6f}"
        )
        if self.near_ties:
            gaps = ", ".join(f"{gap:.4f}" for _, gap in self.near_ties)
            lines.append(
                f"  {len(self.near_ties)} top-1 miss(es) at near-ties (HF's own logits of the two tokens "
                f"{gaps} apart, under {TIE_TOLERANCE})"
            )
        verdict = "PASS" if self.passed else "FAIL"
        rule = (
            "tokens equal and top-1 equal at every position but near-ties"
            if self.must_match_top1
            else "tokens equal"
        )
        lines.append(f"  {verdict} ({rule})")
        return "\n".join(lines)


def file_type_name(value: int) -> str:
    """The --type name of a general.file_type value (e.g. 1 -> "f16", 7 -> "q8_0")."""
    import gguf

    try:
        return gguf.LlamaFileType(value).name.removeprefix("MOSTLY_").removeprefix("ALL_").lower()
    except ValueError:
        return str(value)


class HFReference:
    """The HF side of a verify: tokenizer ids and fp32 logits per text, computed once and kept.

    Verifying several GGUF types of one model (tests, the benchmark) reuses one reference. With
    `adapter_dir` (a peft LoRA folder) the model is the base with the adapter merged (peft's merge_and_unload).
    """

    def __init__(self, model_dir: Path, adapter_dir: Path | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").is_file():
            raise ConversionError(f"{model_dir}: no config.json (is this a Hugging Face model directory?)")
        Checkpoint(self.model_dir)  # refuses pickled-only or corrupt weights with a clear message
        # A SentencePiece model without tokenizer.json is read by the slow tokenizer, which is
        # SentencePiece itself (building a fast one from it needs protobuf and can differ).
        slow = (self.model_dir / "tokenizer.model").is_file() and not (
            self.model_dir / "tokenizer.json"
        ).is_file()
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), use_fast=not slow)
        model = AutoModelForCausalLM.from_pretrained(
            str(self.model_dir), dtype=torch.float32, use_safetensors=True, trust_remote_code=False
        )
        self.adapter_dir = Path(adapter_dir) if adapter_dir is not None else None
        if self.adapter_dir is not None:
            from peft import PeftModel

            read_adapter_config(self.adapter_dir)
            adapter_checkpoint(self.adapter_dir)  # safetensors only: peft would unpickle a .bin
            model = PeftModel.from_pretrained(model, str(self.adapter_dir)).merge_and_unload()
        self.model = model.eval()
        self._cache: dict[str, tuple[list[int], np.ndarray]] = {}

    def ids_and_logits(self, text: str) -> tuple[list[int], np.ndarray]:
        import torch

        if text not in self._cache:
            ids = list(self.tokenizer.encode(text))
            with torch.no_grad():
                logits = self.model(torch.tensor([ids])).logits[0].float().numpy()
            self._cache[text] = (ids, logits)
        return self._cache[text]


def verify_gguf(
    model_dir: Path,
    gguf_path: Path,
    texts: Sequence[str] = VERIFY_TEXTS,
    threads: int = 2,
    reference: HFReference | None = None,
    lora: Path | None = None,
    lora_source: Path | None = None,
) -> VerifyReport:
    """Compare `gguf_path` with the HF model in `model_dir` on `texts`.

    With `lora` (a GGUF LoRA adapter, applied by llama.cpp at run time) the HF side is `model_dir` with the
    peft adapter `lora_source` merged; both or neither must be given.
    """
    from llama_cpp import Llama

    gguf_path = Path(gguf_path)
    if not gguf_path.is_file():
        raise ConversionError(f"{gguf_path}: no such GGUF file")
    if (lora is None) != (lora_source is None):
        raise ConversionError("--lora and --lora-source go together: the GGUF adapter and the peft folder it came from")
    lora = Path(lora) if lora is not None else None
    if lora is not None and not lora.is_file():
        raise ConversionError(f"{lora}: no such adapter file")
    if reference is not None and reference.adapter_dir != (Path(lora_source) if lora_source else None):
        raise ValueError("the reference was built for another adapter")
    reference = reference or HFReference(model_dir, lora_source)
    expected = [reference.ids_and_logits(text) for text in texts]
    n_ctx = max(64, max(len(ids) for ids, _ in expected) + 8)
    try:
        llama = Llama(str(gguf_path), n_ctx=n_ctx, n_threads=threads, logits_all=True, verbose=False,
                      lora_path=str(lora) if lora is not None else None)
    except RuntimeError as error:
        if lora is None:
            raise
        # llama.cpp says only "failed"; its log (verbose) names the cause, e.g. another architecture
        raise ConversionError(f"{lora}: llama.cpp cannot apply this adapter to {gguf_path} ({error})") from error
    report = VerifyReport(gguf_path, file_type_name(int(llama.metadata.get("general.file_type", -1))),
                          lora_path=lora, lora_type=lora_file_type(lora) if lora is not None else None)
    try:
        for text, (ids, hf_logits) in zip(texts, expected, strict=True):
            # add_bos=True means "add what the model's vocabulary says to add", as HF's encode does.
            result = TextResult(text, ids, llama.tokenize(text.encode("utf-8"), add_bos=True, special=False))
            report.results.append(result)
            if not result.tokens_match:
                continue
            llama.reset()
            llama.eval(ids)
            gguf_logits = np.asarray(llama.scores[: len(ids)], dtype=np.float32)
            _compare_logits(result, hf_logits[:, : gguf_logits.shape[1]], gguf_logits)
    finally:
        llama.close()
    return report


def _compare_logits(result: TextResult, hf: np.ndarray, gguf_logits: np.ndarray) -> None:
    result.max_abs_diff = float(np.max(np.abs(hf - gguf_logits)))
    hf_top, gguf_top = hf.argmax(-1), gguf_logits.argmax(-1)
    result.top1_agreement = float(np.mean(hf_top == gguf_top))
    for pos in np.nonzero(hf_top != gguf_top)[0]:
        gap = float(hf[pos, hf_top[pos]] - hf[pos, gguf_top[pos]])
        result.top1_misses.append((int(pos), gap))
    log_p = _log_softmax(hf.astype(np.float64))
    log_q = _log_softmax(gguf_logits.astype(np.float64))
    result.mean_kl = float(np.mean(np.sum(np.exp(log_p) * (log_p - log_q), axis=-1)))


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
