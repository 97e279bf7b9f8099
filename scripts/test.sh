#!/usr/bin/env bash
# The one test command. On a fresh machine it installs and starts the DynamoDB-compatible test
# servers (dynalite and moto, pinned, into .tools/), checks the supply chain (cargo-deny,
# pinned, into .tools/), runs fmt, clippy, doc, the public API check (api/), cargo package (the
# published crates) and every
# test (the contract suite on memory, dynalite and moto), runs the lifecycle simulator (scripted
# schedules and 20 000 seeds), runs the fuzz targets briefly (scripts/fuzz.sh), runs
# the main-job example on memory and dynalite, and stops the servers. Exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/with-servers.sh
. scripts/with-servers.sh

step "lease-core stays pure (no runtime, no AWS, no randomness in its dependency tree)"
impure="$(cargo tree --locked -p lease-core -e normal --prefix none | grep -E '^(tokio|aws-|rand|getrandom|mio|hyper|reqwest)' || true)"
if [ -n "$impure" ]; then
  echo "lease-core depends on: $impure" >&2
  exit 1
fi

step "lease-sim stays deterministic (no runtime, no OS randomness in its dependency tree)"
impure="$(cargo tree --locked -p lease-sim -e normal --prefix none | grep -E '^(tokio|aws-|getrandom|mio|hyper|reqwest)' || true)"
if [ -n "$impure" ]; then
  echo "lease-sim depends on: $impure" >&2
  exit 1
fi

step "supply chain: cargo deny check licenses bans sources (deny.toml)"
# Pinned, built from crates.io into .tools/ once (about three minutes of CPU on a fresh machine).
deny_version="0.20.2"
deny=".tools/cargo-deny-$deny_version/bin/cargo-deny"
if [ ! -x "$deny" ]; then
  cargo install --locked --quiet "cargo-deny@$deny_version" --root ".tools/cargo-deny-$deny_version"
fi
"$deny" --log-level error check licenses bans sources

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p lease-manager --features metrics --all-targets --locked -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "public API: the listings in api/ match the code (scripts/public-api.sh; nightly rustdoc JSON)"
# A change of the public API fails here until api/ changes with it: run
# scripts/public-api.sh --bless and commit the listing, so the change is a reviewed diff.
scripts/public-api.sh

step "cargo package: the five published crates build from their .crate files"
# Packages lease-core, lease-manager (the `lease` library), lease-memory, lease-dynamodb-sdk and
# lease-cli in dependency order, each resolving the others through a temporary local registry,
# and builds each from its .crate (in the workspace target dir: seconds when warm; the first
# run compiles the AWS SDK once more, alone, about two minutes). --allow-dirty: this checks
# the packages, it publishes nothing.
# Cargo extracts each packaged crate from the temporary local registry into CARGO_HOME once
# per registry path and version, and reuses the extraction on the next run from the same
# checkout: a changed crate of the same version would be verified against its old sources.
# None of these crates is on crates.io, so their extractions are ours to remove.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/lease-{core,manager,memory,dynamodb-sdk,cli}-[0-9]*
# Nor does cargo rebuild a registry crate of a version it has built before (registry sources
# count as immutable): a rerun would verify lease-manager against the lease-core built by an
# earlier run. Remove the builds made from those extractions (their dep-info names the registry).
target_dir="${CARGO_TARGET_DIR:-target}"
for info in "$target_dir"/debug/deps/lease_*.d; do
  grep -q "/registry/src/" "$info" 2>/dev/null || continue
  stem="$(basename "$info" .d)"   # lease_core-<hash>
  rm -rf "$target_dir/debug/deps/$stem".* "$target_dir/debug/deps/lib$stem".* \
    "$target_dir/debug/.fingerprint/$(echo "${stem%-*}" | tr _ -)-${stem##*-}"
done
cargo package --workspace --locked --allow-dirty --exclude lease-sim --exclude lease-contract-tests

# The fuzz targets build in the background while the tests run (the tests wait on the servers
# more than they use the two cores; the SDK's fuzz target alone is about three minutes of
# building from cold). The fuzz step below waits for the build and shows its output.
# The SDK's target is built unoptimised here (FUZZ_SDK_DEV=1, see scripts/fuzz.sh): enough to
# replay its committed corpus in its 10 s, for half the CPU.
export FUZZ_SDK_DEV=1
fuzz_build_log="$(mktemp)"
nice scripts/fuzz.sh --build-only >"$fuzz_build_log" 2>&1 &
fuzz_build=$!
trap 'kill "$fuzz_build" 2>/dev/null || true; scripts/servers.sh stop' EXIT

step "cargo test (contract suite on memory, dynalite, moto)"
cargo test --workspace --locked

step "cargo test: the lease crate's metrics feature (counters through the metrics facade)"
cargo test --locked -p lease-manager --features metrics --test metrics_facade

step "simulator: the fault-class schedules, then 20 000 seeded fault schedules (0 violations)"
scripts/sim.sh --scripted
scripts/sim.sh 20000

step "fuzz: each fuzz target (lease-core's four, the SDK store's) for 10 s from its committed corpus (scripts/fuzz.sh; nightly)"
# Builds the five targets (cargo-fuzz pinned into .tools/; libFuzzer needs nightly, and
# without it the step is skipped with a message) and runs each on a temporary copy of
# fuzz/corpus/: a property that does not hold fails here, with the input saved under
# fuzz/artifacts/.
if ! wait "$fuzz_build"; then
  cat "$fuzz_build_log" >&2
  echo "the fuzz targets did not build" >&2
  exit 1
fi
cat "$fuzz_build_log" >&2
rm -f "$fuzz_build_log"
scripts/fuzz.sh 10

step "main job: ISR regeneration example on memory and on dynalite (0 duplicate regenerations)"
cargo run --locked -q -p lease-dynamodb-sdk --example isr
cargo run --locked -q -p lease-dynamodb-sdk --example isr -- --endpoint "$LEASE_DYNALITE_ENDPOINT"
# Regeneration past half the lease (the guard must renew it) and waiters that wait for the lease.
cargo run --locked -q -p lease-dynamodb-sdk --example isr -- --endpoint "$LEASE_DYNALITE_ENDPOINT" \
  --lease-ms 3000 --work-ms 2000 --rounds 2 --on-contention wait

step "control: the same workload without leases must be reported as failing (duplicates > 0)"
control="$(cargo run --locked -q -p lease-dynamodb-sdk --example isr -- --unsafe-no-lease 2>&1 || true)"
echo "$control" | tail -n 2 | sed 's/^/control (failure expected): /'
if ! echo "$control" | grep -Eq 'duplicate regenerations [1-9]'; then
  echo "the ISR report did not catch duplicate regenerations without leases" >&2
  exit 1
fi

# Stop the servers now, so that the verdict is the last line (on stdout, after the control's
# expected "FAILED" report).
trap - EXIT
scripts/servers.sh stop
echo "scripts/test.sh: all checks passed"
