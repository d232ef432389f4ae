#!/usr/bin/env bash
# Installs what et-suite needs on Debian 12 (run as root, or with sudo available):
# the Rust toolchain if missing, HDF5 (library and tools), h5py for the interop test, Mesa's
# CPU Vulkan driver (lavapipe) and Xvfb so the presenter renders and opens windows without a GPU,
# and a font for text screens. libtorch (the networks only) is scripts/setup_libtorch.sh's,
# which the test script runs; the demo needs none.
# Safe to run again: it only installs what is missing.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup: need root (or sudo) to run: $*" >&2; exit 1; fi
}

apt_missing=()
for pkg in libhdf5-dev hdf5-tools pkg-config gcc libc6-dev python3 ca-certificates curl \
    mesa-vulkan-drivers libvulkan1 xvfb xauth fonts-dejavu-core unzip binutils; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || apt_missing+=("$pkg")
done
if [ "${#apt_missing[@]}" -gt 0 ]; then
    echo "setup: installing ${apt_missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "setup: installing the Rust toolchain (rustup, minimal profile)"
        curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
fi

# h5py for the interop test: whichever python3 is first on PATH must import it.
if ! python3 -c "import h5py, numpy" 2>/dev/null; then
    echo "setup: installing h5py for $(command -v python3)"
    if python3 -m pip --version >/dev/null 2>&1; then
        python3 -m pip install -q h5py numpy 2>/dev/null \
            || python3 -m pip install -q --break-system-packages h5py numpy
    else
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-h5py python3-numpy >/dev/null
    fi
    python3 -c "import h5py" || { echo "setup: h5py still not importable by $(command -v python3)" >&2; exit 1; }
fi
# The BIDS validator (PyPI's bids-validator-deno) for the export-bids test; et-suite never
# needs it to run.
if ! command -v bids-validator-deno >/dev/null; then
    echo "setup: installing bids-validator-deno (tests only)"
    python3 -m pip install -q "bids-validator-deno==3.0.2" 2>/dev/null \
        || python3 -m pip install -q --break-system-packages "bids-validator-deno==3.0.2"
fi
echo "setup: ok ($(cargo --version), HDF5 $(dpkg-query -W -f='${Version}' libhdf5-dev), h5py $(python3 -c 'import h5py; print(h5py.__version__)'))"
