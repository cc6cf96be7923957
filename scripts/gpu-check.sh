#!/usr/bin/env bash
# GPU proof for the embedded engine (issue 15): doctor, engine speed GPU vs CPU on SmolLM2-135M- and
# Qwen2.5-1.5B-shaped synthetic GGUFs, and the steering exact-delta tests on the GPU build; one table.
#
#   bash scripts/gpu-check.sh            # CUDA (needs an NVIDIA driver and the CUDA 13 runtime)
#   GPU_CHECK_BACKEND=vulkan bash scripts/gpu-check.sh
#   GPU_CHECK_BACKEND=false GPU_CHECK_SHAPES=tiny bash scripts/gpu-check.sh   # self-test without a GPU
#
# Needs: node_modules installed (npm ci), the GPU build in the backend prefix (installed here when npm can
# reach the registry, or from a tarball: GPU_CHECK_TARBALL=node-llama-cpp-linux-x64-cuda-3.22.1.tgz), and
# ../shared (the fixture GGUF; STEERBENCH_SHARED to move it). Writes ~3.4 GB of synthetic GGUFs to $TMPDIR
# on the first run (reused afterwards). Other knobs: GPU_CHECK_REPS (3), GPU_CHECK_CPU_THREADS (all cores),
# GPU_CHECK_SHAPES (smollm2-135m,qwen2.5-1.5b), GPU_CHECK_STEERING_TESTS (test/llama-steering.test.ts).
# Exit 0 only when every row is ok. Results: the table on stdout, bench/results/gpu-check.json.
set -euo pipefail
cd "$(dirname "$0")/.."

backend="${GPU_CHECK_BACKEND:-cuda}"
export STEERBENCH_LLAMA_PREFIX="${STEERBENCH_LLAMA_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/steerbench/backends}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg="@node-llama-cpp/linux-x64-${backend}@3.22.1" ;;
  *) echo "gpu-check: this script is for linux-x64 (CUDA or Vulkan); on a Mac run: steerbench doctor --gpu metal --model FILE.gguf" >&2; exit 2 ;;
esac

command -v node >/dev/null || { echo "gpu-check: node is not on PATH" >&2; exit 2; }
[ -d node_modules/node-llama-cpp ] || { echo "gpu-check: node_modules is missing: run npm ci first" >&2; exit 2; }
if [ "$backend" = cuda ] && command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv,noheader >&2 || true
fi

name="${pkg%@*}"
# GPU_CHECK_BACKEND=false: the CPU-against-CPU self-test, nothing to install.
if [ "$backend" != false ] && [ ! -d "$STEERBENCH_LLAMA_PREFIX/node_modules/$name/bins" ]; then
  echo "gpu-check: installing $pkg into $STEERBENCH_LLAMA_PREFIX" >&2
  if [ -n "${GPU_CHECK_TARBALL:-}" ]; then
    npm install --prefix "$STEERBENCH_LLAMA_PREFIX" --save-exact --offline --no-audit --no-fund "$GPU_CHECK_TARBALL"
  else
    npm install --prefix "$STEERBENCH_LLAMA_PREFIX" --save-exact --no-audit --no-fund "$pkg"
  fi
fi

npm run build >&2
GPU_CHECK_BACKEND="$backend" node scripts/gpu-check.mjs
