#!/bin/bash
# Last call on a lent CUDA machine (see docs/gpu.md): `make model` (alma-train build-translator) on the
# GPU, then the CUDA build of llama.cpp translating, CPU vs GPU on the same machine. Needs setup.sh and
# the four Gemma 3 chunk folders (.devcarry/p1..p4) carried in the calls before; p4 comes with this one.
set -u
R=$PWD
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export PYTHONPATH=/tmp/site:$R PYTHONUNBUFFERED=1 ALMA_LOCAL_CACHE=/tmp/alma-cache HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
cp -r "$R"/.devcarry/p4/* /tmp/site/ 2>/dev/null
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT"/gpu.txt
nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader -lms 1000 > "$OUT"/gpu-samples.csv &
# Install llama-cpp-python as soon as its build ends (the CPU wheel if the CUDA build failed): the build
# needs it only from the convert step on, so training starts at once.
( while [ ! -f /tmp/llama-build.done ]; do sleep 2; done
  if [ "$(cat /tmp/llama-build.done)" = 0 ]; then w=/tmp/llwheel/llama_cpp_python-*.whl; else w=/tmp/cpu/*.whl; fi
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site $w && touch /tmp/llama-installed
) &
build() { timeout "$1" python3 -m alma_train.cli build-translator --work-dir /tmp/bt --data-dir /tmp/data \
            --output /tmp/bt/translator.gguf; }
start=$(date +%s)
build 330 2>&1 | tee "$OUT"/build.log
if [ ! -f /tmp/bt/translator.gguf ]; then  # convert needs llama_cpp: wait for it, then the build resumes
  for i in $(seq 1 90); do [ -f /tmp/llama-installed ] && break; sleep 2; done
  build 200 2>&1 | tee -a "$OUT"/build.log
fi
echo "build-translator wall: $(( $(date +%s) - start )) s" | tee -a "$OUT"/build.log
cat /tmp/llama-build.done; grep -E "^-- |error|Error" /tmp/llama-build.log | tail -15 > "$OUT"/llama-build-tail.log
python3 -c "import llama_cpp; print('llama_cpp', llama_cpp.__version__, 'gpu offload', llama_cpp.llama_supports_gpu_offload())"
python3 benchmarks/gpu_translate.py --model /tmp/bt/translator.gguf --data-dir /tmp/data --sentences 100 \
  --json "$OUT"/speed.json 2>&1 | grep -v "^llama\|^load\|^print_info" | tail -12
python3 -m desktop.cli --model /tmp/bt/translator.gguf --from de --to en desktop/samples/sample.de.md -o - 2>&1 | head -8
kill %1 2>/dev/null; true
