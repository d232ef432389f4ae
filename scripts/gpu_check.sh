#!/usr/bin/env bash
# The device machine's check (issue 6): ours against PyTorch eager on the same GPU.
# Build here first:   cargo build --release -p et-models --example gpu_bench
#                     mkdir -p .gpu && cp target/release/examples/gpu_bench .gpu/
# then run on the device with carry [".gpu"]:   bash scripts/gpu_check.sh 2>&1 | tee gpu.log
# The binary links the CPU libtorch cut here and uses the machine's PyTorch 2.11 libraries
# (LD_LIBRARY_PATH = its torch/lib and nvidia/*/lib); it loads libtorch_cuda.so itself.
set -u
cd "$(dirname "$0")/.." || exit 1
TORCH_VENV=${TORCH_VENV:-/opt/torch/.venv}
SP=$(ls -d "$TORCH_VENV"/lib/python3*/site-packages 2>/dev/null | head -1)
NV=""
for d in "$SP"/nvidia/*/lib; do [ -d "$d" ] && NV=$NV:$d; done
export LD_LIBRARY_PATH=$SP/torch/lib$NV${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null
echo "== ours (tch 0.24)"
timeout 400 ./.gpu/gpu_bench --device cuda:0 --iters 30; echo "rc=$?"
echo "== PyTorch eager"
timeout 150 "$TORCH_VENV/bin/python3" models/scripts/gpu_reference.py --iters 30; echo "rc=$?"
