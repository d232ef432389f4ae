#!/usr/bin/env bash
# Sets up and runs every check: formatting, clippy (warnings are errors), and all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/setup_libtorch.sh
./scripts/setup_tobii_sdk.sh
./scripts/setup_lsl.sh
export PATH="$HOME/.cargo/bin:$PATH"
# Mesa wants a private runtime folder; without one it prints harmless errors.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/et-suite-xdg-$(id -u)"
    mkdir -p -m 700 "$XDG_RUNTIME_DIR"
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Both binaries: `et-suite prepare` runs et-suite-prepare from beside itself, and `cargo test`
# builds only the tested package's own binaries.
cargo build --workspace --bins --locked
cargo test --workspace --locked
