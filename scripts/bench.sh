#!/usr/bin/env bash
# The benchmark command (not run by CI; see docs/performance.md). Starts the test servers
# (dynalite is the one measured against), then runs, in release mode:
#   1. lease-core: planning + rendering + interpretation per operation (criterion);
#   2. lease-memory: acquire+release pairs/s through LeaseManager on a MemoryStore (criterion),
#      and the heap allocations per operation of steps 1 and 2 (counted with dhat); then many
#      leases per process: 1 000 to 100 000 guards on paused time (resident memory per lease,
#      CPU per renewal, shutdown, the busiest second of renewals; about a minute);
#   3. lease-dynamodb-sdk: the SDK store against a raw aws-sdk-dynamodb loop on dynalite, with 1
#      and 8 concurrent tasks;
#   4. lease-dynamodb-sdk: handover under contention on dynalite (W tasks, one key, the waiting
#      acquire; about 2.5 minutes).
# Stops the servers on exit. Exits non-zero only if a benchmark fails to build or run (missed
# targets are reported in the output, not failed). Extra environment for step 3:
# LEASE_BENCH_BLOCKS (default 5), LEASE_BENCH_PAIRS (pairs per block, default 2000),
# LEASE_BENCH_TASKS (default 1,8); for step 4: LEASE_CONTENTION_SECS (measured seconds per
# variant, default 18), LEASE_CONTENTION_WARMUP_SECS (default 2), LEASE_CONTENTION_VARIANTS.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/with-servers.sh
. scripts/with-servers.sh

step "lease-core: plan + render + interpret per operation (target <= 2 us)"
cargo bench --locked -p lease-core --bench core

step "lease-memory: acquire+release pairs on one task (target >= 500 000 pairs/s)"
cargo bench --locked -p lease-memory --bench memory

step "heap allocations per operation of steps 1 and 2 (counted, not timed)"
cargo bench --locked -p lease-core --bench allocations
cargo bench --locked -p lease-memory --bench allocations

step "lease-memory: many leases per process, renewal jitter off and on (issue 14)"
cargo bench --locked -p lease-memory --bench scale

step "lease-dynamodb-sdk: SDK store vs raw aws-sdk-dynamodb loop on dynalite, 1 and 8 tasks (targets: >= 0.95x pairs/s, <= 1.05x CPU/pair)"
cargo bench --locked -p lease-dynamodb-sdk --bench sdk_vs_raw

step "lease-dynamodb-sdk: handover under contention on dynalite (targets, one shared manager, W = 16: >= 16 handovers/s, <= 2.2 requests per handover, p50 <= 10 ms, p99 <= 50 ms)"
cargo bench --locked -p lease-dynamodb-sdk --bench contention
