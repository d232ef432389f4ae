#!/usr/bin/env bash
# Test setup only (et-suite never needs it to run): Tobii's own Pro SDK C libraries, 1.11.0.1
# (the line that drives the X3-120) and 2.1.0.1, as bundled in PyPI's `tittapy` wheel, with the
# libraries they link beside them, into ~/.cache/et-suite/tobii-sdk (never into the repository).
# tests/integration/tobii_real.rs runs the adapter against both. Safe to run again.
set -euo pipefail
dest="${ET_TOBII_SDK_DIR:-$HOME/.cache/et-suite/tobii-sdk}"
version="2.1.0"
if ls "$dest"/libtobii_research-*.so.1 "$dest"/libtobii_research-*.so.2 >/dev/null 2>&1; then
    exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "setup: fetching the Tobii Pro SDK libraries (tittapy $version wheel from PyPI)"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_34_x86_64 -d "$tmp" "tittapy==$version"
python3 -m zipfile -e "$tmp"/tittapy-"$version"-*.whl "$tmp/x"
mkdir -p "$dest"
cp "$tmp"/x/tittapy.libs/*.so* "$dest"/
ls "$dest"/libtobii_research-*.so.1 "$dest"/libtobii_research-*.so.2 >/dev/null
echo "setup: Tobii Pro SDK libraries in $dest"
