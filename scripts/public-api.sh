#!/usr/bin/env bash
# The public API of every published library crate with all its features, as `cargo public-api`
# lists it (rustdoc JSON from the installed nightly toolchain), compared with the listings
# checked in under api/.
# A change of the public API fails this check until the listing changes with it, so every
# surface change is a reviewed diff.
#
#   scripts/public-api.sh           check (exit 1 and a diff when a listing differs)
#   scripts/public-api.sh --bless   rewrite the listings from the code
#
# It also fails when a public signature names a type of a crate other than std, ours and (in
# the DynamoDB store) the AWS SDK: no pre-1.0 dependency's type is part of our API.
#
# Needs the nightly toolchain (rustdoc JSON is unstable); without it the check is skipped
# with a message. cargo-public-api is pinned and built from crates.io into .tools/ once
# (about three minutes); its version reads the nightly's rustdoc JSON format (57).
set -euo pipefail
cd "$(dirname "$0")/.."

bless=false
if [ "${1:-}" = "--bless" ]; then
  bless=true
fi

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "public-api.sh: no nightly toolchain: the public API check is skipped" >&2
  exit 0
fi

version="0.52.0"
root=".tools/cargo-public-api-$version"
if [ ! -x "$root/bin/cargo-public-api" ]; then
  cargo install --locked --quiet "cargo-public-api@$version" --root "$root"
fi
export PATH="$PWD/$root/bin:$PATH"

# The crates whose types may appear in a public signature: std's, ours, and (in the DynamoDB
# store only) the AWS SDK's, which is 1.x and what that crate is a store for. A pre-1.0 crate's
# type (compact_str, time, tokio-util, ...) would make each of its upgrades a breaking
# release of ours.
allowed_roots() {
  case "$1" in
    lease-dynamodb-sdk) echo "alloc core std lease_core lease lease_memory lease_dynamodb_sdk aws_sdk_dynamodb aws_smithy_runtime_api aws_smithy_types" ;;
    *) echo "alloc core std lease_core lease lease_memory lease_dynamodb_sdk" ;;
  esac
}

status=0
for crate in lease-core lease-manager lease-memory lease-dynamodb-sdk; do
  listing="api/$crate.txt"
  # -ss: without blanket and auto-trait impls (Send, Sync, Any, From<T> for T: noise).
  current="$(cargo public-api --package "$crate" --all-features -ss 2>/dev/null)"
  roots="$(printf '%s\n' "$current" | grep -oE '(^|[^:A-Za-z0-9_])[a-z_][a-z0-9_]*::' | sed -E 's/^[^a-z_]//; s/::$//' | sort -u)"
  for root in $roots; do
    if ! printf ' %s ' "$(allowed_roots "$crate")" | grep -q " $root "; then
      echo "public-api.sh: the public API of $crate names a type of \`$root\` (not std, ours or, for the DynamoDB store, the AWS SDK's):" >&2
      printf '%s\n' "$current" | grep -E "(^|[^:A-Za-z0-9_])$root::" | head -n 5 >&2
      status=1
    fi
  done
  if $bless; then
    printf '%s\n' "$current" >"$listing"
    echo "public-api.sh: wrote $listing ($(wc -l <"$listing") lines)"
  elif ! diff -u "$listing" <(printf '%s\n' "$current") >"target/public-api-$crate.diff" 2>&1; then
    echo "public-api.sh: the public API of $crate differs from $listing:" >&2
    cat "target/public-api-$crate.diff" >&2
    status=1
  fi
done
if [ "$status" -ne 0 ]; then
  echo "public-api.sh: if the change is meant, run scripts/public-api.sh --bless and commit api/" >&2
fi
exit "$status"
