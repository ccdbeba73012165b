#!/usr/bin/env bash
# Runs agentphone-mcp "for a team" on this machine, on loopback only: one Redis, two
# replicas sharing it, and HAProxy in front. Without AGENTPHONE_API_KEY it also starts the
# simulated AgentPhone API (agentphone-mcp sandbox --listen) and points the replicas at
# it, so nothing real happens. Ctrl-C stops everything.
#
#   deploy/run-local.sh                      # MCP clients use http://127.0.0.1:8080/mcp
#   LB_PORT=9000 deploy/run-local.sh         # other ports: see the variables below
#
# Caller-key mode (each client sends its own AgentPhone key as its bearer token):
#   AGENTPHONE_KEY_MODE=caller deploy/run-local.sh                   # against the real API
#   AGENTPHONE_KEY_MODE=caller AGENTPHONE_SANDBOX_KEYS_FILE=keys deploy/run-local.sh
#                                     # against the sandbox, one simulated account per key
# The replicas then get no AGENTPHONE_API_KEY and no webhook receiver (caller mode has none).
#
# Needs redis-server and haproxy (Debian: apt-get install -y redis-server haproxy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

BIN=${AGENTPHONE_BIN:-}
if [ -z "$BIN" ]; then
  BIN="$here/../.tools/agentphone-mcp"
  (cd "$here/.." && go build -o "$BIN" ./cmd/agentphone-mcp)
fi
WORK=${AGENTPHONE_DEPLOY_DIR:-$here/.run}
REDIS_PORT=${REDIS_PORT:-6390}
SANDBOX_PORT=${SANDBOX_PORT:-8787}
LB_PORT=${LB_PORT:-8080}
R1_PORT=${R1_PORT:-8081}
R2_PORT=${R2_PORT:-8082}
LB_WEBHOOK_PORT=${LB_WEBHOOK_PORT:-8090}
R1_WEBHOOK_PORT=${R1_WEBHOOK_PORT:-8091}
R2_WEBHOOK_PORT=${R2_WEBHOOK_PORT:-8092}

for tool in redis-server redis-cli haproxy; do
  command -v "$tool" >/dev/null || { echo "run-local: $tool is missing (apt-get install -y redis-server haproxy)" >&2; exit 1; }
done
mkdir -p "$WORK/redis" "$WORK/replica1" "$WORK/replica2"
chmod 700 "$WORK"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# The key that signs confirmation tokens: one for every replica, made once.
if [ ! -s "$WORK/signing.key" ]; then
  (umask 077; head -c 48 /dev/urandom | base64 > "$WORK/signing.key")
fi

redis-server "$here/redis.conf" --port "$REDIS_PORT" --dir "$WORK/redis" --daemonize no >"$WORK/redis.log" 2>&1 &
pids+=($!)
essential=($!)
for _ in $(seq 100); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "run-local: Redis did not start; see $WORK/redis.log" >&2; exit 1; }

caller=false
[ "${AGENTPHONE_KEY_MODE:-operator}" = caller ] && caller=true
if $caller && [ -n "${AGENTPHONE_SANDBOX_KEYS_FILE:-}" ]; then
  # shellcheck disable=SC2086 # AGENTPHONE_SANDBOX_ARGS holds flags
  "$BIN" sandbox --listen "127.0.0.1:$SANDBOX_PORT" --keys-file "$AGENTPHONE_SANDBOX_KEYS_FILE" ${AGENTPHONE_SANDBOX_ARGS:-} 2>"$WORK/sandbox.log" &
  pids+=($!)
  export AGENTPHONE_BASE_URL="http://127.0.0.1:$SANDBOX_PORT"
elif ! $caller && [ -z "${AGENTPHONE_API_KEY:-}" ]; then
  # shellcheck disable=SC2086 # AGENTPHONE_SANDBOX_ARGS holds flags
  "$BIN" sandbox --listen "127.0.0.1:$SANDBOX_PORT" ${AGENTPHONE_SANDBOX_ARGS:-} 2>"$WORK/sandbox.log" &
  pids+=($!)
  export AGENTPHONE_API_KEY=sandbox-any-key-works
  export AGENTPHONE_BASE_URL="http://127.0.0.1:$SANDBOX_PORT"
fi

export AGENTPHONE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export AGENTPHONE_SIGNING_KEY_FILE="$WORK/signing.key"
export AGENTPHONE_TRANSPORT=http
for n in 1 2; do
  port_var="R${n}_PORT"; hook_var="R${n}_WEBHOOK_PORT"
  hook="127.0.0.1:${!hook_var}"
  $caller && hook=""
  AGENTPHONE_STATE_DIR="$WORK/replica$n" \
  AGENTPHONE_HTTP_LISTEN="127.0.0.1:${!port_var}" \
  AGENTPHONE_WEBHOOK_LISTEN="$hook" \
    "$BIN" serve 2>"$WORK/replica$n.log" &
  pids+=($!)
  echo $! > "$WORK/replica$n.pid"
done

AGENTPHONE_LB_LISTEN="127.0.0.1:$LB_PORT" \
AGENTPHONE_REPLICA1="127.0.0.1:$R1_PORT" AGENTPHONE_REPLICA2="127.0.0.1:$R2_PORT" \
AGENTPHONE_LB_WEBHOOK_LISTEN="127.0.0.1:$LB_WEBHOOK_PORT" \
AGENTPHONE_REPLICA1_WEBHOOK="127.0.0.1:$R1_WEBHOOK_PORT" AGENTPHONE_REPLICA2_WEBHOOK="127.0.0.1:$R2_WEBHOOK_PORT" \
  haproxy -f "$here/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
pids+=($!)
essential+=($!)

echo "run-local: MCP endpoint http://127.0.0.1:$LB_PORT/mcp (replicas :$R1_PORT and :$R2_PORT, Redis :$REDIS_PORT); logs in $WORK" >&2
# A replica may die: HAProxy routes around it and the other replicas recover its
# in-flight sends. Redis, HAProxy or the sandbox exiting stops everything.
while true; do
  wait -n || true
  for p in "${essential[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      echo "run-local: Redis, HAProxy or the sandbox exited; stopping the rest (logs in $WORK)" >&2
      exit 1
    fi
  done
  for n in 1 2; do
    if ! kill -0 "$(cat "$WORK/replica$n.pid")" 2>/dev/null; then
      echo "run-local: replica $n is gone; the others carry on (log: $WORK/replica$n.log)" >&2
    fi
  done
  if ! kill -0 "$(cat "$WORK/replica1.pid")" 2>/dev/null && ! kill -0 "$(cat "$WORK/replica2.pid")" 2>/dev/null; then
    echo "run-local: every replica is gone; stopping" >&2
    exit 1
  fi
done
