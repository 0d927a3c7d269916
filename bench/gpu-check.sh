#!/usr/bin/env bash
# GPU check, run from the unpacked bundle (see build-gpu-bundle.sh) on a machine with a
# GPU and a Vulkan driver (libvulkan1 + the vendor's ICD): prints the WebGPU adapter and
# the ResNet-32 training-step benchmark on webgpu (K = 1 and K = 16 R0, batch 128 and 512),
# then, where python3 has torch with CUDA, the same network in PyTorch: the bundled
# torch-peer.py (the project's PyTorch peer of the network, same layers and parameter
# counts), or the script given as the first argument, run per row as
# `python3 SCRIPT --device cuda --batch B --modules K --context R0 --json`.
#
#   ./gpu-check.sh [path/to/torch-peer.py]   > gpu-check.jsonl
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
node="$(command -v node || true)"
# The bundled Node.js unless the machine has Node >= 20.19 already.
if [ -z "$node" ] || ! "$node" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; then node="$here/node"; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2
"$node" "$here/gpu-bench.mjs" --backend webgpu --batches "${BATCHES:-128,512}" --steps "${STEPS:-3}"
status=$?
script="${1:-$here/torch-peer.py}"
if python3 -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  for b in $(echo "${BATCHES:-128,512}" | tr , " "); do
    for k in 1 16; do
      python3 "$script" --device cuda --batch "$b" --modules "$k" --context R0 --steps "${STEPS:-3}" --json || status=1
    done
  done
else
  echo "gpu-check: python3 has no torch with CUDA here: PyTorch side skipped" >&2
fi
exit $status
