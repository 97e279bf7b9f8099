#!/usr/bin/env bash
# Install and run the DynamoDB-compatible test servers (dynalite, moto) on 127.0.0.1.
#
#   scripts/servers.sh install          # pinned versions into .tools/ (idempotent)
#   eval "$(scripts/servers.sh start)"  # install if needed, start, export LEASE_*_ENDPOINT
#   scripts/servers.sh status
#   scripts/servers.sh stop
#
# Ports: LEASE_DYNALITE_PORT (default 18000), LEASE_MOTO_PORT (default 18001). status and stop
# act on the servers on these ports only, so runs on different ports can share a checkout.
# Needs node >= 20 with npm, and python3 with the venv module (pins made on 3.11). Only the export lines go to stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="$ROOT/.tools"
RUN="$TOOLS/run"
DYNALITE_DIR="$TOOLS/dynalite"
MOTO_VENV="$TOOLS/moto-venv"
DYNALITE_PORT="${LEASE_DYNALITE_PORT:-18000}"
MOTO_PORT="${LEASE_MOTO_PORT:-18001}"
PYTHON="${PYTHON:-python3}"

log() { echo "servers.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Prints a hash of the given files plus extra text; an install is current when its stamp matches.
fingerprint() { { cat "${@:2}"; echo "$1"; } | sha256sum | cut -d' ' -f1; }
is_current() { [[ -f "$1/.stamp" && "$(cat "$1/.stamp")" == "$2" ]]; }

install_dynalite() {
  local want
  want="$(fingerprint "$(node --version)" tools/dynalite/package.json tools/dynalite/package-lock.json)"
  is_current "$DYNALITE_DIR" "$want" && return
  log "installing dynalite into $DYNALITE_DIR"
  rm -rf "$DYNALITE_DIR" && mkdir -p "$DYNALITE_DIR"
  cp tools/dynalite/package.json tools/dynalite/package-lock.json "$DYNALITE_DIR/"
  (cd "$DYNALITE_DIR" && npm ci --no-audit --no-fund >&2)
  echo "$want" > "$DYNALITE_DIR/.stamp"
}

install_moto() {
  local want
  want="$(fingerprint "$("$PYTHON" -VV)" tools/moto/requirements.txt)"
  is_current "$MOTO_VENV" "$want" && return
  log "installing moto into $MOTO_VENV"
  rm -rf "$MOTO_VENV"
  "$PYTHON" -m venv "$MOTO_VENV"
  "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check -r tools/moto/requirements.txt >&2
  echo "$want" > "$MOTO_VENV/.stamp"
}

# A server is known by its name and port ("dynalite-18000"): its pid and log files carry both,
# so checkouts' runs on different ports (LEASE_*_PORT) never touch each other's servers.

# running_pid ID: prints the pid of the running server ID that we started, or fails.
running_pid() {
  local pid
  pid="$(cat "$RUN/$1.pid" 2>/dev/null)" || return 1
  # The cmdline check guards against a recycled pid from a stale pid file.
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF "$ROOT/" && echo "$pid"
}

port_free() {
  "$PYTHON" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like the servers: TIME_WAIT is no obstacle
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

# Before starting anything: NAME's port must be free unless our NAME server already runs.
check_port() {
  running_pid "$1-$2" > /dev/null || port_free "$2" \
    || die "port $2 for $1 is already in use by another process (set LEASE_${1^^}_PORT to use another port)"
}

# Succeeds when a DynamoDB ListTables POST to the endpoint answers with TableNames.
answers_list_tables() {
  "$PYTHON" - "$1" <<'EOF'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=b"{}", method="POST", headers={
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Date": "20200101T000000Z",
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/dynamodb/aws4_request, "
                     "SignedHeaders=host, Signature=0",
})
try:  # no proxy: the servers are on loopback
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=2) as resp:
        sys.exit(0 if b"TableNames" in resp.read() else 1)
except Exception:
    sys.exit(1)
EOF
}

# start_one NAME PORT CMD...: start CMD in its own session, wait until it answers.
start_one() {
  local name="$1" port="$2" url="http://127.0.0.1:$2" id="$1-$2" pid
  shift 2
  if pid="$(running_pid "$id")"; then
    answers_list_tables "$url" || die "$name is already running (pid $pid) but not on $url; run '$0 stop' first"
    log "$name already running (pid $pid) on $url"
    return
  fi
  setsid "$@" > "$RUN/$id.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$RUN/$id.pid"
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    answers_list_tables "$url" && { log "$name ready (pid $pid) on $url"; return; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  log "$name did not become ready on $url; last lines of $RUN/$id.log:"
  tail -n 30 "$RUN/$id.log" >&2 || true
  cmd_stop
  exit 1
}

# stop_one NAME PORT
stop_one() {
  local id="$1-$2" pid
  if pid="$(running_pid "$id")"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    # running_pid, not kill -0: a dead but not yet reaped (zombie) process has an empty cmdline.
    for _ in $(seq 50); do running_pid "$id" > /dev/null || break; sleep 0.1; done
    if running_pid "$id" > /dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $1 on port $2 (pid $pid)"
  fi
  rm -f "$RUN/$id.pid"
}

cmd_install() { install_dynalite; install_moto; }

cmd_start() {
  cmd_install
  mkdir -p "$RUN"
  check_port dynalite "$DYNALITE_PORT"
  check_port moto "$MOTO_PORT"
  start_one dynalite "$DYNALITE_PORT" node "$DYNALITE_DIR/node_modules/dynalite/cli.js" \
    --host 127.0.0.1 --port "$DYNALITE_PORT" --createTableMs 0 --deleteTableMs 0 --updateTableMs 0
  start_one moto "$MOTO_PORT" "$MOTO_VENV/bin/python" "$ROOT/tools/moto/serve.py" "$MOTO_PORT"
  echo "export LEASE_DYNALITE_ENDPOINT=http://127.0.0.1:$DYNALITE_PORT"
  echo "export LEASE_MOTO_ENDPOINT=http://127.0.0.1:$MOTO_PORT"
}

cmd_stop() { stop_one dynalite "$DYNALITE_PORT"; stop_one moto "$MOTO_PORT"; }

cmd_status() {
  local name port pid rc=0
  for name in dynalite moto; do
    port="$DYNALITE_PORT"
    [[ "$name" == moto ]] && port="$MOTO_PORT"
    if pid="$(running_pid "$name-$port")"; then
      log "$name: running on port $port (pid $pid)"
    else
      log "$name: not running on port $port"; rc=3
    fi
  done
  return "$rc"
}

case "${1:-}" in
  install | start | stop | status) "cmd_$1" ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
