#!/usr/bin/env bash
# Builds the GPU check bundle (`npm run bundle:gpu`): one JS file (bench/gpu-bench.ts
# and everything it imports, tfjs included), dawn.node in a minimal copy of the
# `webgpu` package, this machine's Node.js binary, bench/gpu-check.sh and the PyTorch
# peer bench/torch-peer.py, packed as
# dist/contsup-gpu-check.tar.xz. For a Linux x64 machine with a GPU and no registry access.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((60 * 1024 * 1024))
out=dist/contsup-gpu-check
dawn=node_modules/webgpu/dist/linux-x64/dawn.node
[ -f "$dawn" ] || { echo "build-gpu-bundle: $dawn is missing (npm install webgpu: it is an optional dependency)" >&2; exit 1; }
rm -rf "$out" "$out.tar.xz"
mkdir -p "$out/node_modules/webgpu/dist/linux-x64"
GPU_BUNDLE_OUT="$out/gpu-bench.mjs" npx rolldown -c bench/gpu-bundle.config.mjs >&2
# dawn.node is loaded at run time by the package's own index.js (it imports only node: builtins).
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$out/node_modules/webgpu/"
cp "$dawn" "$out/node_modules/webgpu/dist/linux-x64/"
# For machines without Node.js (or an older one): the binary that runs this build.
cp "$(node -p process.execPath)" "$out/node"
cp bench/gpu-check.sh bench/torch-peer.py "$out/"
tar -C dist -cf - contsup-gpu-check | xz -6 -T2 > "$out.tar.xz"
size=$(stat -c %s "$out.tar.xz")
echo "dist/contsup-gpu-check.tar.xz: $((size / 1024 / 1024)) MiB ($size bytes); unpack and run: tar -xJf contsup-gpu-check.tar.xz && contsup-gpu-check/gpu-check.sh"
[ "$size" -le "$limit" ] || { echo "build-gpu-bundle: the bundle is over 60 MiB" >&2; exit 1; }
