#!/usr/bin/env bash
# Mutation testing of lease-core's lifecycle and operation modules, with lease-core's own tests
# and the simulator's (the scripted schedules and LEASE_SIM_TEST_SEEDS seeds, default 500) as the
# test suite. Needs cargo-mutants (`cargo install cargo-mutants --locked`). Results land in
# mutants.out/ (ignored by git); docs/correctness.md records the last figures.
#
#   scripts/mutants.sh [lifecycle|operations|all] [extra cargo-mutants options]
#
# About 350 mutants, two hours on two cores (`-j 2`); `--iterate` re-tests only the mutants not
# caught by an earlier run. Not part of scripts/test.sh. The simulator's package is added to the
# test command after `--` (cargo-mutants 27.1 ran only the mutated package's tests when given
# --test-package).
set -euo pipefail
cd "$(dirname "$0")/.."
scope="${1:-all}"
shift || true
files=()
case "$scope" in
  lifecycle) files=(-f 'crates/lease-core/src/lifecycle/*.rs') ;;
  operations)
    for f in acquire refresh release inspect commit planner guard; do
      files+=(-f "crates/lease-core/src/$f.rs")
    done
    ;;
  all)
    files=(-f 'crates/lease-core/src/lifecycle/*.rs')
    for f in acquire refresh release inspect commit planner guard; do
      files+=(-f "crates/lease-core/src/$f.rs")
    done
    ;;
  *)
    echo "usage: scripts/mutants.sh [lifecycle|operations|all] [cargo-mutants options]" >&2
    exit 2
    ;;
esac
export LEASE_SIM_TEST_SEEDS="${LEASE_SIM_TEST_SEEDS:-500}"
exec cargo mutants -p lease-core "${files[@]}" \
  "$@" -- --package lease-sim
