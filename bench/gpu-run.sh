#!/bin/sh
# Runs on the lent GPU machine, after bench/gpu-prepare.sh here (see there): EG on WebGPU through
# Dawn (bench/gpu-dawn.ts), then the same EG on PyTorch on the GPU and on the CPU. Output in
# $OUT/gpu.log and $OUT/torch.log. GPU_BENCH_ONLY=name,... runs a subset of bench/gpu-dawn.ts.
# Its steps are the ones run by hand on 2026-11-28 (BENCHMARKS.md); the script as a whole has not
# run on a device yet (none was lent after it was written).
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f $icd ] && export VK_DRIVER_FILES=$icd
export WEBGPU_MODULE="$PWD/.gpu/webgpu/index.js"
OUT=${OUT:-/tmp}
BENCH_TORCH_INPUTS=/tmp/torch-inputs.json timeout 300 /tmp/node .gpu/gpu.mjs 2>&1 | grep -v '^Warning' | tee "$OUT/gpu.log"
for d in cuda cpu; do BENCH_TORCH_DEVICE=$d timeout 120 python3 tools/reference/bench_eg.py public/models/exbehrt /tmp/torch-inputs.json; done 2>&1 | tee "$OUT/torch.log"
