#!/usr/bin/env bash
# Every check and test of Keel, against private Postgres, Redis and Temporal that it
# starts under .keel/ and stops at the end. Run through `./x test`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

RUN_DIR=$ROOT/.keel/test-run
rm -rf "$RUN_DIR"; mkdir -p "$RUN_DIR"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  done
}
trap cleanup EXIT

log "format, lint and layering"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
if cargo tree -p engine -e normal --prefix none | grep -E '^(diesel|diesel-async|redis|lettre|axum) ' ; then
  echo "engine must not depend on diesel, redis, lettre or axum" >&2; exit 1
fi

log "building"
cargo build --workspace --quiet
cargo test --quiet -p ee --features ee
cargo check --quiet -p keel --features ee   # the Enterprise build must compile too
KEEL=$ROOT/target/debug/keel

# Test services on their own ports, so a developer's running `keel up` is untouched.
source scripts/ports.sh
PG_PORT=${KEEL_TEST_PG_PORT:-$(free_port 25432)}
REDIS_PORT=${KEEL_TEST_REDIS_PORT:-$(free_port 26379)}
TEMPORAL_PORT=${KEEL_TEST_TEMPORAL_PORT:-$(free_port 27233 2)}
log "starting test services"
env -u DATABASE_URL -u REDIS_URL -u TEMPORAL_ADDRESS \
  KEEL_DATA_DIR="$ROOT/.keel/test-services" KEEL_PG_PORT=$PG_PORT KEEL_REDIS_PORT=$REDIS_PORT \
  KEEL_TEMPORAL_PORT=$TEMPORAL_PORT KEEL_TEMPORAL_UI_PORT=$((TEMPORAL_PORT + 1)) \
  "$KEEL" up --services-only >"$RUN_DIR/services.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do
  grep -q "services are up" "$RUN_DIR/services.log" && break
  kill -0 "${PIDS[0]}" 2>/dev/null || { cat "$RUN_DIR/services.log"; exit 1; }
  sleep 0.2
done
grep -q "services are up" "$RUN_DIR/services.log" || { cat "$RUN_DIR/services.log"; exit 1; }

export KEEL_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export KEEL_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
export KEEL_TEST_TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"

log "unit, property and integration tests"
cargo nextest run --workspace --no-fail-fast

log "end-to-end: keel up, the browser, and the OpenAPI fuzzer"
bash scripts/e2e.sh
