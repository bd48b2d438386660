"""Lower-bit GGUF types through llama.cpp's own quantizer (llama_model_quantize via llama-cpp-python, in a
child process), giving the files llama-quantize would (docs/convert.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from alma_core.atomic import atomic_path
from convert.errors import ConversionError, check_output_free

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
    """Quantize an f16/f32/bf16 GGUF to `out_type` with llama.cpp; `output` is written atomically.

    The quantizer runs in a child process (`python -m convert.quantize`): llama_model_quantize is one
    C call of minutes on a large model, during which this process could not act on SIGTERM or Ctrl-C.
    An interruption kills the child, waits for it, and only then removes the temporary file, so no
    writer is left to recreate it.
    """
    if out_type not in QUANTIZED_TYPES:
        raise ConversionError(
            f"--type {out_type!r} is not a llama.cpp quantization; use one of {', '.join(QUANTIZED_TYPES)}"
        )
    source, output = Path(source), Path(output)
    if not source.is_file():
        raise ConversionError(f"{source}: no such GGUF file")
    nthread = threads or os.cpu_count() or 1
    check_output_free(output, force)
    with atomic_path(output, suffix=".tmp") as tmp:
        command = [sys.executable, "-m", "convert.quantize", str(source.resolve()), str(tmp.resolve()), out_type,
                   str(nthread)]
        # Run from the folder holding this package, so `-m convert.quantize` is this file and not a
        # `convert` folder in the user's working directory. subprocess.run kills and reaps the child
        # when an exception (our Interrupted) reaches it.
        result = subprocess.run(command, cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL,
                                stderr=None if verbose else subprocess.PIPE, check=False)
        if result.returncode != 0:
            text = (result.stderr or b"").decode("utf-8", errors="replace")
            reason = text.rpartition("failed to quantize:")[2].strip() or text.strip()[-300:]
            raise ConversionError(
                f"{source}: llama.cpp could not quantize it to {out_type}: {reason or f'status {result.returncode}'}"
            )
    return output


def _quantize_in_this_process(source: str, output: str, out_type: str, nthread: int) -> int:
    """The child's work: llama.cpp's quantizer; returns its status (0 when done)."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, QUANTIZED_TYPES[out_type])
    params.nthread = nthread
    # Refuse to quantize an already-quantized file: the result would carry both roundings.
    params.allow_requantize = False
    # llama.cpp logs per tensor to fd 2, and "failed to quantize: <reason>" when it refuses.
    return llama_cpp.llama_model_quantize(source.encode(), output.encode(), params)


if __name__ == "__main__":
    # Ctrl-C reaches the whole process group: die at once instead of after the C call returns
    # (the parent removes the temporary output).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _source, _output, _type, _threads = sys.argv[1:5]
    sys.exit(1 if _quantize_in_this_process(_source, _output, _type, int(_threads)) else 0)
