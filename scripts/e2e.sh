#!/usr/bin/env bash
# End to end, the way a user meets Keel: `keel up` on a fresh data folder (its own
# Postgres, Redis and Temporal), the printed login in headless Chromium, the OpenAPI
# document driven by schemathesis (no 5xx allowed), then a second `keel up` on the
# same folder keeps the data. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
KEEL=$ROOT/target/debug/keel
RUN_DIR=$ROOT/.keel/test-run
DATA=$RUN_DIR/e2e-data
rm -rf "$DATA"
mkdir -p "$RUN_DIR"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Both runs must use the same ports: the second checks the first run's data and key.
source scripts/ports.sh
TEMPORAL_PORT=$(free_port 27243 2)
export KEEL_DATA_DIR=$DATA KEEL_PG_PORT=$(free_port 25442) KEEL_REDIS_PORT=$(free_port 26389) \
  KEEL_TEMPORAL_PORT=$TEMPORAL_PORT KEEL_TEMPORAL_UI_PORT=$((TEMPORAL_PORT + 1)) KEEL_SMTP_PORT=$(free_port 22525)
export KEEL_LISTEN=127.0.0.1:$(free_port 28080)
unset DATABASE_URL REDIS_URL TEMPORAL_ADDRESS
BASE=http://$KEEL_LISTEN
UP_PID=""
stop_up() {
  [ -n "$UP_PID" ] || return 0
  kill -TERM "$UP_PID" 2>/dev/null || true
  local status=0
  wait "$UP_PID" || status=$?
  UP_PID=""
  return $status
}
trap 'stop_up || true' EXIT

start_up() {
  local log_file=$1
  "$KEEL" up >"$log_file" 2>&1 &
  UP_PID=$!
  for _ in $(seq 1 900); do
    grep -q "Keel is up" "$log_file" && curl -fsS "$BASE/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$UP_PID" 2>/dev/null || { cat "$log_file"; return 1; }
    sleep 0.2
  done
  cat "$log_file"; return 1
}

log "keel up (first run, fresh data folder)"
start_up "$RUN_DIR/up-1.log"
PASSWORD=$(sed -n 's/.*password: \([^ ]*\).*/\1/p' "$RUN_DIR/up-1.log" | head -1)
[ -n "$PASSWORD" ] || { echo "keel up printed no password" >&2; exit 1; }
curl -fsS "$BASE/readyz" | grep -q '"status":"ready"'

log "browser: log in with the printed admin, see the dashboard, create an API key"
KEEL_URL=$BASE KEEL_TENANT=demo KEEL_EMAIL=admin@demo.keel.local KEEL_PASSWORD=$PASSWORD \
  KEEL_SCREENSHOT_DIR=$RUN_DIR node --test tests/e2e/

log "schemathesis: no request the OpenAPI document allows may answer 5xx"
export DATABASE_URL=postgres://postgres@127.0.0.1:$KEEL_PG_PORT/keel
KEY=$("$KEEL" api-key create --tenant demo --user admin@demo.keel.local --name schemathesis)
schemathesis run "$BASE/api/v1/openapi.json" -H "Authorization: Bearer $KEY" \
  --checks not_a_server_error --max-examples 40 --seed 7 --report junit --report-dir "$RUN_DIR/schemathesis"
unset DATABASE_URL

log "stopping keel up (SIGTERM must stop everything cleanly)"
stop_up
if pgrep -f "db-filename $DATA" >/dev/null; then echo "temporal was left running" >&2; exit 1; fi

log "keel up (second run, same data folder): data is kept"
start_up "$RUN_DIR/up-2.log"
grep -q "password: $PASSWORD" "$RUN_DIR/up-2.log" || { echo "second run lost the demo admin" >&2; exit 1; }
grep -q "applied" "$RUN_DIR/up-2.log" && { echo "second run re-applied migrations" >&2; exit 1; }
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "$BASE/api/v1/users")
[ "$STATUS" = 200 ] || { echo "the key from the first run answered $STATUS" >&2; exit 1; }
stop_up
log "end-to-end passed"
