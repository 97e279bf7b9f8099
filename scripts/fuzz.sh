#!/usr/bin/env bash
# Runs every fuzz target (lease-core's in fuzz/, the SDK store's in fuzz/sdk/;
# docs/correctness.md, "Fuzzing") for SECONDS each (default 15), starting from its committed
# corpus (fuzz/corpus/TARGET/). The inputs a run finds go to a temporary copy of the corpus,
# never into the repository.
#
#   scripts/fuzz.sh [SECONDS]
#   scripts/fuzz.sh --build-only     (builds the targets, runs none: scripts/test.sh builds them
#                                     in the background while the tests run)
#
# A target that panics (a property that does not hold) fails the run: its input is saved
# under fuzz/artifacts/TARGET/ or fuzz/sdk/artifacts/TARGET/ (ignored by git), and the message says how to replay it.
# To grow a committed corpus, run a target longer on fuzz/corpus/TARGET itself and minimise
# it (see docs/correctness.md).
#
# Needs the nightly toolchain (libFuzzer's instrumentation is unstable); without it the
# targets are skipped with a message. cargo-fuzz is pinned and built from crates.io into
# .tools/ once (about 20 seconds); if it cannot be had, the targets are skipped with a
# message too.
set -euo pipefail
cd "$(dirname "$0")/.."

build_only=false
if [ "${1:-}" = "--build-only" ]; then
  build_only=true
  shift
fi
seconds="${1:-15}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: scripts/fuzz.sh [--build-only] [SECONDS]   (seconds per target, default 15)" >&2
  exit 64
fi

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz.sh: no nightly toolchain: the fuzz targets are skipped" >&2
  exit 0
fi

version="0.12.0"
root=".tools/cargo-fuzz-$version"
if [ ! -x "$root/bin/cargo-fuzz" ]; then
  if ! cargo install --locked --quiet "cargo-fuzz@$version" --root "$root"; then
    echo "fuzz.sh: cargo-fuzz $version could not be installed: the fuzz targets are skipped" >&2
    exit 0
  fi
fi
export PATH="$PWD/$root/bin:$PATH"

# lease-core's four targets live in fuzz/; the SDK store's, which needs the AWS SDK, in a crate
# of its own, fuzz/sdk/ (so that the four build without it). Corpora: fuzz/corpus/TARGET/.
targets=(decode_item interpret_answers render_request lifecycle_machines sdk_answers)
fuzz_dir() { if [ "$1" = sdk_answers ]; then echo fuzz/sdk; else echo fuzz; fi; }
# Debug assertions (and so overflow checks) on, as in the tests; no sanitizer: our crates
# forbid unsafe code (the SDK target checks what is shown, not memory), and without
# AddressSanitizer the targets run about twice as fast.
flags=(--debug-assertions --sanitizer none)
# The flags of the targets of one fuzz crate. FUZZ_SDK_DEV=1 builds the SDK's target
# unoptimised (--dev): half the CPU of an optimised build of the AWS SDK (which cargo-fuzz makes
# with one codegen unit and debug info), for a target that then runs some 25 inputs a second
# instead of 900: enough to replay its committed corpus, which is what scripts/test.sh wants
# of it. Long runs leave it unset.
crate_flags() {
  if [ "$1" = fuzz/sdk ] && [ "${FUZZ_SDK_DEV:-0}" = 1 ]; then
    echo "${flags[@]}" --dev
  else
    echo "${flags[@]}"
  fi
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One build per fuzz crate (libFuzzer itself is C++, compiled once per crate). The SDK's crate
# builds the AWS SDK with the fuzzer's instrumentation: about three minutes from cold.
for dir in fuzz fuzz/sdk; do
  started=$SECONDS
  # shellcheck disable=SC2046 # the flags are words
  if ! cargo +nightly fuzz build --fuzz-dir "$dir" $(crate_flags "$dir") >"$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    echo "fuzz.sh: the fuzz targets of $dir/ did not build" >&2
    exit 1
  fi
  echo "fuzz.sh: built the targets of $dir/ in $((SECONDS - started)) s"
done
if $build_only; then
  exit 0
fi

stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

# Runs one target on a temporary copy of its corpus; its log is $work/TARGET.log.
run() {
  local target="$1" corpus="$work/corpus-$1"
  mkdir -p "$corpus"
  if [ -d "fuzz/corpus/$target" ]; then
    cp -R "fuzz/corpus/$target/." "$corpus/"
  fi
  local dir
  dir="$(fuzz_dir "$target")"
  # shellcheck disable=SC2046 # the flags are words
  cargo +nightly fuzz run --fuzz-dir "$dir" $(crate_flags "$dir") "$target" "$corpus" -- \
    -max_total_time="$seconds" -print_final_stats=1 -close_fd_mask=1 >"$work/$target.log" 2>&1
}

# As many targets at once as there are cores (FUZZ_JOBS to choose), in the order listed.
jobs="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}"
declare -A status
pending=("${targets[@]}")
while [ "${#pending[@]}" -ne 0 ]; do
  batch=("${pending[@]:0:$jobs}")
  pending=("${pending[@]:$jobs}")
  declare -A pids=()
  for target in "${batch[@]}"; do
    run "$target" &
    pids[$target]=$!
  done
  for target in "${batch[@]}"; do
    if wait "${pids[$target]}"; then status[$target]=0; else status[$target]=1; fi
  done
  unset pids
done

failed=()
for target in "${targets[@]}"; do
  log="$work/$target.log"
  if [ "${status[$target]}" -eq 0 ]; then
    done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)"
    cov="$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")"
    ft="$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")"
    echo "fuzz.sh: $target: ${seconds} s, $(stat number_of_executed_units "$log") runs" \
      "($(stat average_exec_per_sec "$log")/s), coverage ${cov:-?} edges, ${ft:-?} features," \
      "corpus $(find "fuzz/corpus/$target" -type f 2>/dev/null | wc -l) + $(stat new_units_added "$log") new: ok"
  else
    failed+=("$target")
    echo "fuzz.sh: $target FAILED:" >&2
    grep -E "panicked at|^thread '|Test unit written|SUMMARY" -A 2 "$log" | head -n 40 >&2 || tail -n 40 "$log" >&2
    artifact="$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)"
    dir="$(fuzz_dir "$target")"
    echo "fuzz.sh: replay with: cargo +nightly fuzz run --fuzz-dir $dir $(crate_flags "$dir") $target ${artifact:-$dir/artifacts/$target/<file>}" >&2
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, ${seconds} s each: no property violated"
