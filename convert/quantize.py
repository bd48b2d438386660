"""Lower-bit GGUF types through llama.cpp's own quantizer (llama_model_quantize via llama-cpp-python).

llama.cpp chooses, per tensor, the mixes that make up q4_k_m / q5_k_m (some tensors one step up),
and falls back where a row does not fit the k-quant super-block; doing it through its quantizer
gives exactly the files llama.cpp's llama-quantize would.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from convert.errors import ConversionError
from convert.output_file import atomic_file

# --type name -> name of the llama_ftype constant in llama_cpp
QUANTIZED_TYPES: dict[str, str] = {
    "q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0",
    "q4_1": "LLAMA_FTYPE_MOSTLY_Q4_1",
    "q5_0": "LLAMA_FTYPE_MOSTLY_Q5_0",
    "q5_1": "LLAMA_FTYPE_MOSTLY_Q5_1",
    "q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
    "q5_k_m": "LLAMA_FTYPE_MOSTLY_Q5_K_M",
    "q6_k": "LLAMA_FTYPE_MOSTLY_Q6_K",
}


def quantize_gguf(
    source: Path,
    output: Path,
    out_type: str,
    force: bool = False,
    threads: int | None = None,
    verbose: bool = False,
) -> Path:
    """Quantize an f16/f32/bf16 GGUF to `out_type` with llama.cpp; `output` is written atomically."""
    import llama_cpp

    if out_type not in QUANTIZED_TYPES:
        raise ConversionError(
            f"--type {out_type!r} is not a llama.cpp quantization; use one of {', '.join(QUANTIZED_TYPES)}"
        )
    source, output = Path(source), Path(output)
    if not source.is_file():
        raise ConversionError(f"{source}: no such GGUF file")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, QUANTIZED_TYPES[out_type])
    params.nthread = threads or os.cpu_count() or 1
    # Refuse to quantize an already-quantized file: the result would carry both roundings.
    params.allow_requantize = False
    with atomic_file(output, force=force) as tmp:
        with _captured_stderr(enabled=not verbose) as log:
            status = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), params)
        if status != 0:
            text = log.read()
            reason = text.rpartition("failed to quantize:")[2].strip() or text.strip()[-300:]
            raise ConversionError(
                f"{source}: llama.cpp could not quantize it to {out_type}: {reason or f'status {status}'}"
            )
    return output


@contextmanager
def _captured_stderr(enabled: bool) -> Iterator[io.StringIO]:
    """Hold llama.cpp's C-level log (written to fd 2, one line per tensor) aside; yields it afterwards.

    The quantizer's log does not go through llama-cpp-python's log callback, so it is caught at the
    file-descriptor level. Its tail goes into the error message when quantizing fails.
    """
    captured = io.StringIO()
    if not enabled:
        yield captured
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.write(sink.read().decode("utf-8", errors="replace"))
            captured.seek(0)
