#!/usr/bin/env bash
# Gives the build a libtorch 2.11.0 (what tch 0.24 binds) at ./.libtorch, without a GPU or a
# PyTorch install: the CPU libraries and headers are cut from PyPI's torch wheel (PyPI has no
# +cpu builds; the wheel is a CUDA build whose CPU library needs only the CUDA runtime and
# CUPTI, which come from their own small wheels). The cut (~490 MB) is cached in
# $ET_CACHE (default ~/.cache/et-suite) and shared by every clone on the machine.
# On a machine with PyTorch 2.11 installed, ET_LIBTORCH=/path/to/torch (the folder holding
# lib/ and include/) is linked instead.
set -euo pipefail
cd "$(dirname "$0")/.."
VER=2.11.0
CACHE="${ET_CACHE:-$HOME/.cache/et-suite}"
DEST="$CACHE/libtorch-$VER"

if [ -n "${ET_LIBTORCH:-}" ]; then
    [ -f "$ET_LIBTORCH/lib/libtorch_cpu.so" ] || { echo "setup_libtorch: $ET_LIBTORCH/lib/libtorch_cpu.so not found" >&2; exit 1; }
    ln -sfn "$ET_LIBTORCH" .libtorch
    echo "setup_libtorch: using $ET_LIBTORCH"; exit 0
fi
if [ -f "$DEST/build-version" ] && [ "$(cat "$DEST/build-version")" = "$VER" ] && [ -f "$DEST/lib/libtorch_cpu.so" ]; then
    ln -sfn "$DEST" .libtorch
    echo "setup_libtorch: libtorch $VER ready ($DEST)"; exit 0
fi

# pip fetches the torch wheel that libtorch is cut from.
if ! python3 -m pip --version >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq python3-pip >/dev/null; else sudo apt-get install -y -qq python3-pip >/dev/null; fi
fi
WHEELS="$CACHE/wheels"
mkdir -p "$WHEELS"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
pip_download() { python3 -m pip download --no-deps -q -d "$WHEELS" "$1"; }
whl() { ls "$WHEELS"/$1 2>/dev/null | head -1 || true; }

TW=$(whl "torch-$VER-*.whl")
[ -n "$TW" ] || { echo "setup_libtorch: downloading torch $VER from PyPI (~530 MB, once)"; pip_download "torch==$VER"; TW=$(whl "torch-$VER-*.whl"); }
[ -n "$TW" ] || { echo "setup_libtorch: the torch $VER wheel did not download" >&2; exit 1; }

# torch 2.11.0 pins cuda-toolkit==13.0.2, whose cudart/cupti extras pin these:
RT="nvidia-cuda-runtime==13.0.96"
CP="nvidia-cuda-cupti==13.0.85"
[ -n "$(whl 'nvidia_cuda_runtime-13.0.96*.whl')" ] || pip_download "$RT"
[ -n "$(whl 'nvidia_cuda_cupti-13.0.85*.whl')" ] || pip_download "$CP"

OUT="$TMP/libtorch"; mkdir -p "$OUT/lib"
unzip -q "$TW" 'torch/include/*' torch/lib/libtorch_cpu.so torch/lib/libc10.so \
      torch/lib/libgomp.so.1 torch/lib/libtorch.so -d "$TMP/x"
mv "$TMP/x/torch/include" "$OUT/include"; mv "$TMP/x/torch/lib/"* "$OUT/lib/"
# The CPU library of the CUDA wheel needs exactly these two CUDA libraries.
for so in $(readelf -d "$OUT/lib/libtorch_cpu.so" | sed -n 's/.*Shared library: \[\(libcu\(dart\|pti\)\.so[^]]*\)\].*/\1/p'); do
    for w in "$(whl 'nvidia_cuda_runtime-13.0.96*.whl')" "$(whl 'nvidia_cuda_cupti-13.0.85*.whl')"; do
        unzip -q -j -o "$w" "*/$so" -d "$OUT/lib" 2>/dev/null || true
    done
    [ -f "$OUT/lib/$so" ] || { echo "setup_libtorch: $so missing from the CUDA wheels" >&2; exit 1; }
done
echo "$VER" > "$OUT/build-version"
rm -rf "$DEST"; mkdir -p "$CACHE"; mv "$OUT" "$DEST"
ln -sfn "$DEST" .libtorch
echo "setup_libtorch: libtorch $VER cut into $DEST ($(du -sh "$DEST" | cut -f1))"
