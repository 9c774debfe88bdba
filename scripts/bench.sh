#!/usr/bin/env bash
# End-to-end benchmarks, each next to a bare baseline measured in the same run:
#  1. GET /api/v1/users (authenticated, RLS, 50 rows) vs a bare axum handler running the
#     same query without auth or RLS (wrk on 127.0.0.1): requests/s and p99.
#  2. One-activity workflows through Keel's path (API → Temporal → worker → Postgres)
#     vs a bare SDK workflow doing the same INSERT: throughput and latency.
#  3. Events from outbox insert to consumer ACK vs raw XADD + XREADGROUP/XACK.
#  4. Clients: search over 100k clients / 300k contacts, page 1 vs page 1000, CSV import.
#  5. Tickets: 10,000 through the API, their SLA workflows started and asleep, worker RSS.
#  6. Notifications: one event fanned out to 10,000 recipients to a local SMTP sink vs a
#     bare lettre loop sending the same messages.
#  7. Billing: a run over 10,000 clients (3 lines each) and 300,000 approved time entries
#     through Temporal vs the set-based SQL floor. Runs first; BENCH_ONLY=billing stops
#     after it.
#  8. Playbooks: a 10-action Rhai playbook vs the same ten calls as a native workflow,
#     on one worker (runs after the event bus; BENCH_ONLY=playbooks stops after it).
# Run through `./x bench`; BENCH_WORKFLOWS / BENCH_CONCURRENCY / BENCH_EVENTS resize.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DURATION=${BENCH_SECONDS:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

cargo build --release --quiet -p keel -p keel-tests --bin keel --bin bare-users --bin bench-durable --bin bench-clients --bin bench-tickets --bin bench-notifications --bin bench-billing --bin bench-playbooks
KEEL=$ROOT/target/release/keel
RUN=$ROOT/.keel/bench
rm -rf "$RUN"; mkdir -p "$RUN"
export KEEL_DATA_DIR=$RUN/data KEEL_PG_PORT=55452 KEEL_REDIS_PORT=56399 KEEL_TEMPORAL_PORT=57253 KEEL_TEMPORAL_UI_PORT=57254
unset DATABASE_URL REDIS_URL TEMPORAL_ADDRESS
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait' EXIT

"$KEEL" up --services-only >"$RUN/services.log" 2>&1 &
PIDS+=($!)
until grep -q "services are up" "$RUN/services.log"; do kill -0 "${PIDS[0]}" || { cat "$RUN/services.log"; exit 1; }; sleep 0.2; done
export DATABASE_URL=postgres://postgres@127.0.0.1:$KEEL_PG_PORT/keel
export REDIS_URL=redis://127.0.0.1:$KEEL_REDIS_PORT/ TEMPORAL_ADDRESS=127.0.0.1:$KEEL_TEMPORAL_PORT
"$KEEL" migrate
export KEEL_APP_DATABASE_URL=postgres://keel_app@127.0.0.1:$KEEL_PG_PORT/keel
KEEL_LOG=warn "$KEEL" worker >"$RUN/worker.log" 2>&1 &
WORKER_PID=$!
PIDS+=($WORKER_PID)
BENCH_TENANT=$("$KEEL" tenant create --slug bench --name "Bench MSP" 2>/dev/null | head -1)
export BENCH_TENANT
"$KEEL" user create --tenant bench --email admin@bench.example.com --role Admin --password "bench password 1" >/dev/null
for i in $(seq 1 49); do
  "$KEEL" user create --tenant bench --email "tech$i@bench.example.com" --role Technician --password "bench password 1" >/dev/null
done
KEY=$("$KEEL" api-key create --tenant bench --user admin@bench.example.com)

KEEL_LISTEN=127.0.0.1:58180 KEEL_LOG=warn "$KEEL" serve >"$RUN/serve.log" 2>&1 &
PIDS+=($!)
BARE_LISTEN=127.0.0.1:58181 "$ROOT/target/release/bare-users" >"$RUN/bare.log" 2>&1 &
PIDS+=($!)
until curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" http://127.0.0.1:58180/api/v1/users; do sleep 0.2; done
until curl -fsS -o /dev/null http://127.0.0.1:58181/users; do sleep 0.2; done
echo "billing run (${BENCH_CLIENTS:-10000} clients, ${BENCH_ENTRIES_PER_CLIENT:-30} entries each):"
BILLING_TENANT=$("$KEEL" tenant create --slug billing-bench --name "Billing Bench MSP" 2>/dev/null | head -1)
"$KEEL" user create --tenant billing-bench --email admin@billing.example.com --role Admin --password "bench password 1" >/dev/null
BILLING_KEY=$("$KEEL" api-key create --tenant billing-bench --user admin@billing.example.com)
KEEL_URL=http://127.0.0.1:58180 KEEL_KEY=$BILLING_KEY BENCH_TENANT=$BILLING_TENANT "$ROOT/target/release/bench-billing"
[ "${BENCH_ONLY:-}" = billing ] && exit 0
echo

ROWS=$(curl -fsS -H "Authorization: Bearer $KEY" http://127.0.0.1:58180/api/v1/users | grep -o '"email"' | wc -l)
echo "rows per response: $ROWS"

run() { # name url [header]
  local name=$1 url=$2; shift 2
  wrk -t1 -c"$CONNECTIONS" -d2s "$@" "$url" >/dev/null   # warm-up
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url" >"$RUN/$name.txt"
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$RUN/$name.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$RUN/$name.txt")
  printf '%-28s %10s req/s   p99 %s\n' "$name" "$rps" "$p99"
  echo "$rps" >"$RUN/$name.rps"
}
echo "wrk: 1 thread, $CONNECTIONS connections, ${DURATION}s per run, 2 rounds interleaved"
for round in 1 2; do
  run "bare-$round" http://127.0.0.1:58181/users
  run "keel-$round" http://127.0.0.1:58180/api/v1/users -H "Authorization: Bearer $KEY"
done
python3 - "$RUN" <<'PY'
import sys, pathlib
run = pathlib.Path(sys.argv[1])
get = lambda n: sum(float((run / f"{n}-{r}.rps").read_text()) for r in (1, 2)) / 2
bare, keel = get("bare"), get("keel")
print(f"mean: bare {bare:.0f} req/s, keel {keel:.0f} req/s -> keel at {100 * keel / bare:.0f}% of the bare baseline")
PY

echo
echo "durable workflows (${BENCH_WORKFLOWS:-200} one-activity runs, concurrency ${BENCH_CONCURRENCY:-50}):"
KEEL_URL=http://127.0.0.1:58180 KEEL_KEY=$KEY "$ROOT/target/release/bench-durable" workflows "${BENCH_WORKFLOWS:-200}" "${BENCH_CONCURRENCY:-50}"
echo
echo "event bus (${BENCH_EVENTS:-20000} events):"
# The worker's own relay would publish the benchmark's events under its prefix.
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" 2>/dev/null || true
"$ROOT/target/release/bench-durable" events "${BENCH_EVENTS:-20000}"

echo
echo "playbooks (${BENCH_PLAYBOOK_RUNS:-100} runs of 10 actions each way, concurrency ${BENCH_PLAYBOOK_CONCURRENCY:-10}):"
BENCH_USER=$(curl -fsS -H "Authorization: Bearer $KEY" "http://127.0.0.1:58180/api/v1/users?limit=200" \
  | python3 -c 'import json, sys; print(next(u["id"] for u in json.load(sys.stdin)["data"] if u["email"] == "admin@bench.example.com"))')
BENCH_USER=$BENCH_USER "$ROOT/target/release/bench-playbooks" "${BENCH_PLAYBOOK_RUNS:-100}" "${BENCH_PLAYBOOK_CONCURRENCY:-10}"
[ "${BENCH_ONLY:-}" = playbooks ] && exit 0

echo
echo "clients and contacts (search, deep pagination, CSV import):"
KEEL_URL=http://127.0.0.1:58180 KEEL_KEY=$KEY "$ROOT/target/release/bench-clients"

echo
echo "tickets and SLA workflows (${BENCH_TICKETS:-10000} tickets):"
KEEL_LOG=warn "$KEEL" worker >"$RUN/worker-2.log" 2>&1 &
WORKER_PID=$!
PIDS+=($WORKER_PID)
KEEL_URL=http://127.0.0.1:58180 KEEL_KEY=$KEY BENCH_WORKER_PID=$WORKER_PID "$ROOT/target/release/bench-tickets"

echo
echo "notifications (one event to ${BENCH_RECIPIENTS:-10000} recipients, rate limit off):"
python3 scripts/smtp_sink.py --port 52535 --dir "$RUN/mail" >"$RUN/sink.log" 2>&1 &
PIDS+=($!)
until grep -q ready "$RUN/sink.log"; do sleep 0.2; done
KEEL_URL=http://127.0.0.1:58180 KEEL_KEY=$KEY BENCH_SMTP_PORT=52535 "$ROOT/target/release/bench-notifications"
