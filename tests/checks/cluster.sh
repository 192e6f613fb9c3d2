#!/usr/bin/env bash
# cluster.sh (check) - statelessness of the services, proven on the local cluster
# (scripts/cluster.sh: 2 catalog + 2 order replicas behind the nginx mirror of the Ingress):
#   1. tests/smoke.sh passes through the ingress;
#   2. under a mixed load of reads, orders and cancellations through the ingress, SIGKILL one catalog
#      and one order replica: the only failed requests are those in flight on the killed processes
#      (at most one per load worker per kill, all within KILL_WINDOW_MS of a kill), and once recovery
#      settles, for every test book: initial stock = quantity + sum of live orders (no lost stock);
#   3. a rolling restart (each replica drained, SIGTERMed and replaced in turn) under the same load:
#      zero failed requests, invariant holds again;
#   4. scripts/cluster.sh down stops every process it started.
# Uses the ctest PostgreSQL fixture (a fresh database); rate limiting is off for the load.
# Isolation: the cluster folder, the database and the load results are per run (RUN_ID), so runs
# from other build folders or a second ctest in this one cannot wipe or stop this run's cluster.
# Cleanup on every exit path (trap): the load generator, `cluster down`, the database.
set -uo pipefail
. "$(dirname "$0")/lib/checks.bash"

WORKERS=${LOAD_WORKERS:-8}
# A request in flight on a killed replica fails when the kill is noticed, which on a heavily
# loaded machine can be seconds later (an order's reservation call to the catalog goes through
# nginx with a 2 s client timeout). Failures later than this after a kill are real defects.
KILL_WINDOW_MS=${KILL_WINDOW_MS:-8000}
SETTLE_TIMEOUT_S=${SETTLE_TIMEOUT_S:-120}
for tool in nginx node psql curl jq; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
for b in "$CATALOG_BIN" "$ORDER_BIN"; do [ -x "$b" ] || die "$b not built"; done

run_tmp cluster
export CLUSTER_DIR=$RUN_TMP/cluster
export CATALOG_BIN ORDER_BIN
export CATALOG_REPLICAS=2 ORDER_REPLICAS=2 CLUSTER_LIMIT_RPS=0 CLUSTER_SEED=0
DB_NAME=bookstore_cluster_$RUN_ID
cluster() { bash "$SOURCE_DIR/scripts/cluster.sh" "$@"; }
now_ms() { date +%s%3N; }

load_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$load_pid" ]; then kill "$load_pid" 2>/dev/null; wait "$load_pid" 2>/dev/null; fi
  cluster down >>"$RUN_TMP/cluster-down.log" 2>&1
  drop_db "$DB_NAME"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DATABASE_URL=$(fresh_db "$DB_NAME") || die "cannot create a test database"
export DATABASE_URL
# `up` fails if another program takes the ingress port first: try a few ports.
for attempt in 1 2 3; do
  CLUSTER_PORT=$(free_port) || die "no free port"
  export CLUSTER_PORT
  base=http://127.0.0.1:$CLUSTER_PORT
  cluster up >"$RUN_TMP/cluster-up.log" 2>&1 && break
  cat "$RUN_TMP/cluster-up.log"
  cluster down >>"$RUN_TMP/cluster-down.log" 2>&1
  [ "$attempt" = 3 ] && die "scripts/cluster.sh up failed"
  grep -q 'is in use' "$RUN_TMP/cluster-up.log" || die "scripts/cluster.sh up failed"
done
ok "cluster up: 2 catalog + 2 order replicas behind $base"
cluster status

# 1. Smoke through the ingress mirror (prefix strip, X-Forwarded-Prefix, order -> catalog via nginx).
if bash "$SOURCE_DIR/tests/smoke.sh" "$base" >"$RUN_TMP/cluster-smoke.log" 2>&1; then
  ok "tests/smoke.sh through the local ingress"
else
  cat "$RUN_TMP/cluster-smoke.log"; bad "tests/smoke.sh through the local ingress"
fi
# Unknown paths get the default backend; /catalogue is not /catalog.
if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/catalogue/books")" = 404 ]; then ok "/catalogue is not routed to the catalog"
else bad "/catalogue reached a service"; fi

# Test books for the load (stock large enough to sell, small enough to run out sometimes).
books=()
for i in 1 2 3; do
  r=$(curl -s -X POST "$base/catalog/books" -H 'Content-Type: application/json' \
    -d "{\"title\":\"load book $i $$\",\"author\":\"Load Tester\",\"price\":\"9.99\",\"quantity\":300}")
  id=$(printf '%s' "$r" | jq -r .id 2>/dev/null)
  [[ "$id" =~ ^[0-9]+$ ]] || die "cannot create load book: $r"
  books+=("$id")
done
book_list=$(IFS=,; echo "${books[*]}")
ids_sql=$(IFS=,; echo "${books[*]}")

# settle_and_check LABEL: wait until no order of the test books is mid-saga, then check the invariant.
settle_and_check() {
  local label=$1 unsettled bad_rows end=$(( $(date +%s) + SETTLE_TIMEOUT_S ))
  while :; do
    # Mid-saga work: intents not yet finalized or undone, and cancels not yet restocked.
    unsettled=$(psql "$DATABASE_URL" -Atc "select (select count(*) from order_intents where book_id in ($ids_sql))
      + (select count(*) from orders where book_id in ($ids_sql) and status = 'cancelled' and not stock_released)")
    [ "$unsettled" = 0 ] && break
    [ "$(date +%s)" -lt "$end" ] || break
    sleep 1
  done
  if [ "$unsettled" = 0 ]; then ok "$label: every order settled (no open intent, no unreleased cancel)"
  else bad "$label: ${unsettled:-?} orders still unsettled after $SETTLE_TIMEOUT_S s"; fi
  bad_rows=$(psql "$DATABASE_URL" -Atc "select b.id || ': quantity ' || b.quantity || ' + live orders ' ||
      coalesce(sum(o.quantity) filter (where o.status <> 'cancelled'), 0) || ' != 300'
    from books b left join orders o on o.book_id = b.id where b.id in ($ids_sql) group by b.id
    having b.quantity + coalesce(sum(o.quantity) filter (where o.status <> 'cancelled'), 0) <> 300")
  if [ -z "$bad_rows" ]; then ok "$label: invariant holds for books $book_list (initial 300 = quantity + live orders)"
  else bad "$label: invariant broken: $bad_rows"; fi
}

run_load() { # DURATION_MS OUT [--stop-file F]
  node "$SOURCE_DIR/tests/checks/lib/load.mjs" --base "$base" --books "$book_list" --workers "$WORKERS" \
    --duration-ms "$1" --out "$2" "${@:3}"
}
# Alive and not a zombie (orphans may not be reaped at once where PID 1 is not an init).
alive_pid() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]; }

# 2. Kill one catalog and one order replica under load.
run_load 16000 "$RUN_TMP/load-kill.json" & load_pid=$!
sleep 4
k1=$(now_ms); cluster kill catalog 1
sleep 3
k2=$(now_ms); cluster kill order 1
sleep 3
cluster start catalog 1 >/dev/null 2>&1 || bad "restarting catalog-1 failed"
cluster start order 1 >/dev/null 2>&1 || bad "restarting order-1 failed"
wait "$load_pid" || bad "load generator failed"
load_pid=""
if [ -s "$RUN_TMP/load-kill.json" ]; then
  failed=$(jq .failed "$RUN_TMP/load-kill.json")
  requests=$(jq .requests "$RUN_TMP/load-kill.json")
  outside=$(jq --argjson k1 "$k1" --argjson k2 "$k2" --argjson w "$KILL_WINDOW_MS" \
    '[.failures[] | select(((.t_epoch_ms - $k1) | (. < 0 or . > $w)) and ((.t_epoch_ms - $k2) | (. < 0 or . > $w)))] | length' \
    "$RUN_TMP/load-kill.json")
  echo "kill test: $requests requests, $failed failed ($outside outside the kill windows)"
  jq -c '.failures[:10][]' "$RUN_TMP/load-kill.json"
  if [ "$failed" -le $((2 * WORKERS)) ] && [ "$outside" = 0 ]; then
    ok "kill one catalog + one order replica under load: $failed of $requests failed, all in flight at a kill (<= $((2 * WORKERS)))"
  else
    bad "kill test: $failed failed ($outside outside the kill windows), allowed <= $((2 * WORKERS)) at the kills"
  fi
  [ "$requests" -gt 200 ] || bad "kill test load too small ($requests requests)"
else
  bad "kill test: no load result"
fi
settle_and_check "after kills"

# 3. Rolling restart under load: zero failures.
rm -f "$RUN_TMP/load-stop"
run_load 120000 "$RUN_TMP/load-rolling.json" --stop-file "$RUN_TMP/load-stop" & load_pid=$!
sleep 2
t0=$(now_ms)
cluster restart-rolling >"$RUN_TMP/cluster-rolling.log" 2>&1 || { cat "$RUN_TMP/cluster-rolling.log"; bad "restart-rolling failed"; }
echo "rolling restart of 4 replicas took $(( $(now_ms) - t0 )) ms"
sleep 2
touch "$RUN_TMP/load-stop"
wait "$load_pid" || bad "load generator failed"
load_pid=""
if [ -s "$RUN_TMP/load-rolling.json" ]; then
  failed=$(jq .failed "$RUN_TMP/load-rolling.json")
  requests=$(jq .requests "$RUN_TMP/load-rolling.json")
  jq -c '.failures[:10][]' "$RUN_TMP/load-rolling.json"
  if [ "$failed" = 0 ] && [ "$requests" -gt 200 ]; then ok "rolling restart under load: $requests requests, 0 failed"
  else bad "rolling restart under load: $failed of $requests failed"; fi
else
  bad "rolling restart: no load result"
fi
settle_and_check "after rolling restart"

# 4. down stops everything started by PID (replicas, nginx master and workers).
pids=$(awk '{print $1}' "$CLUSTER_DIR"/pids/* 2>/dev/null; cat "$CLUSTER_DIR/nginx.pid" 2>/dev/null)
[ -f "$CLUSTER_DIR/nginx.pid" ] && pids+=" $(pgrep -P "$(cat "$CLUSTER_DIR/nginx.pid")" 2>/dev/null | tr '\n' ' ')"
[ "$(echo $pids | wc -w)" -ge 5 ] || bad "expected 4 replicas + nginx before down, found pids: $pids"
cluster down >>"$RUN_TMP/cluster-down.log" 2>&1 || bad "scripts/cluster.sh down reported an error"
alive=""
for p in $pids; do if alive_pid "$p"; then alive="$alive $p($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))"; fi; done
if [ -z "$alive" ]; then ok "scripts/cluster.sh down stopped every replica and nginx ($(echo $pids | wc -w) processes)"
else bad "processes still alive after down:$alive"; cat "$RUN_TMP/cluster-down.log"; fi
finish
