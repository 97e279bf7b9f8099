#!/usr/bin/env bash
# The public API of every published library crate, as `cargo public-api` lists it (rustdoc JSON
# from the installed nightly toolchain), compared with the listings checked in under api/.
# A change of the public API fails this check until the listing changes with it, so every
# surface change is a reviewed diff.
#
#   scripts/public-api.sh           check (exit 1 and a diff when a listing differs)
#   scripts/public-api.sh --bless   rewrite the listings from the code
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

status=0
for crate in lease-core lease-manager lease-memory lease-dynamodb-sdk; do
  listing="api/$crate.txt"
  # -ss: without blanket and auto-trait impls (Send, Sync, Any, From<T> for T: noise).
  current="$(cargo public-api --package "$crate" -ss 2>/dev/null)"
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
