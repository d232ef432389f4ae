#!/usr/bin/env bash
# Sets up, builds (release) and runs the simulated study: 10 participants on the default
# stimulus set, recordings and analysis in ./et-demo. Extra arguments go to `et-suite demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked
exec ./target/release/et-suite demo "$@"
