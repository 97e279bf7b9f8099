# Sourced by scripts/test.sh and scripts/bench.sh: prints steps, sets the environment the AWS
# SDK needs to talk to the local test servers, and starts them (stopped again on exit).
# shellcheck shell=bash

# Each step says when it began, in seconds since the script started.
step() { printf '\n==> [%s s] %s\n' "$SECONDS" "$*" >&2; }

# The servers accept any credentials, but the SDK needs some, and a region.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_EC2_METADATA_DISABLED=true
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

step "start dynalite and moto"
trap 'scripts/servers.sh stop' EXIT
env_lines="$(scripts/servers.sh start)"
eval "$env_lines"
echo "$env_lines" >&2
