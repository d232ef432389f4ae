#!/usr/bin/env bash
# Sets up, builds and runs the simulated study: 10 participants on the default stimulus set,
# recordings and analysis in ./et-demo (a rerun replaces the demo's own recordings). Extra
# arguments go to `et-suite demo`.
# The build is the test build (about 5 min the first time on 2 cores, shared with
# ./scripts/test.sh); ET_RELEASE=1 builds optimised instead (about 25 min, polars dominates).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
if [ "${ET_RELEASE:-0}" = "1" ]; then
    cargo build --release --locked
    exec "${CARGO_TARGET_DIR:-target}/release/et-suite" demo --force "$@"
fi
cargo build --locked
exec "${CARGO_TARGET_DIR:-target}/debug/et-suite" demo --force "$@"
