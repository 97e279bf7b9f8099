#!/usr/bin/env bash
# The deterministic simulator of the lease lifecycle (crates/lease-sim), in release mode.
#
#   scripts/sim.sh [SEEDS]            seeds 0..SEEDS (default 1 000 000) on every core; ends with
#                                     "N seeds, V violations" and exits non-zero when V > 0
#   scripts/sim.sh SEEDS --start S    seeds S..S+SEEDS
#   scripts/sim.sh --seed S [--trace] replay one seed: its options, its verdict, a shrunk plan
#                                     when it fails, and (with --trace) every event
#   scripts/sim.sh --scripted         the fault-class scenarios as fixed schedules
#
# Needs nothing but the Rust toolchain: no servers, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --release -q -p lease-sim
bin="${CARGO_TARGET_DIR:-target}/release/lease-sim"
case "${1:-}" in
  "") exec "$bin" --seeds 1000000 ;;
  -*) exec "$bin" "$@" ;;
  *)
    seeds="$1"
    shift
    exec "$bin" --seeds "$seeds" "$@"
    ;;
esac
