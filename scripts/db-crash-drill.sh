#!/usr/bin/env bash
# db-crash-drill.sh [BUILD_DIR] - crashes PostgreSQL (pg_ctl stop -m immediate: the WAL buffers in
# shared memory are lost, as in a server crash) in the middle of a stream of POST /orders, restarts
# it, lets recovery settle and checks what docs/consistency.md ("Durability of each commit") argues
# for the asynchronous saga commits:
#   - every order a client was answered 201 for still exists (the finalize was flushed);
#   - per book: initial stock = quantity + sum(quantity of orders not cancelled);
#   - no intent left, every live order's reservation is `reserved`, no `reserved` reservation
#     without a live order.
# A private PostgreSQL under .drill/ (scripts/pg.sh), the daemons of BUILD_DIR (default build/),
# everything stopped by PID on exit. Exit 0 when every check holds. Not part of CI (about 40 s).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
work=$root/.drill
pgdir=$work/pg
books=3
stock=100000
workers=8
crash_after_s=3
run_s=7

log() { printf '[drill %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

pids=()
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  timeout 60 "$root/scripts/pg.sh" stop "$pgdir" || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port"
}
wait_health() { # wait_health PORT
  for _ in $(seq 1 100); do
    curl -fsS -m 1 "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "service on :$1 not healthy after 20 s"
}

mkdir -p "$work"
timeout 60 "$root/scripts/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true
rm -rf "$pgdir" "$work/out"
mkdir -p "$work/out"
admin_url=$(timeout 120 "$root/scripts/pg.sh" start "$pgdir")
port=$(cat "$pgdir/port")
db_url=${admin_url%/*}/bookstore
psql "$admin_url" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE bookstore" >/dev/null
DATABASE_URL=$db_url MIGRATIONS_DIR=$root/db/migrations LOG_LEVEL=warn \
  "$build/catalog-service/catalog-service" --migrate >"$work/migrate.log" 2>&1 || die "migration"

cport=$(free_port)
DATABASE_URL=$db_url PORT=$cport ADMIN_PORT=0 HOST=127.0.0.1 LOG_LEVEL=warn AUTH_DISABLED=1 \
  HTTP_MAX_CONNECTIONS_PER_IP=0 "$build/catalog-service/catalog-service" >"$work/catalog.log" 2>&1 &
pids+=($!)
wait_health "$cport"
oport=$(free_port)
while [ "$oport" = "$cport" ]; do oport=$(free_port); done
DATABASE_URL=$db_url PORT=$oport ADMIN_PORT=0 HOST=127.0.0.1 LOG_LEVEL=warn AUTH_DISABLED=1 \
  HTTP_MAX_CONNECTIONS_PER_IP=0 RECOVERY_INTENT_AGE_MS=2000 RECOVERY_INTERVAL_MS=500 \
  CATALOG_SERVICE_URL=http://127.0.0.1:$cport "$build/order-service/order-service" >"$work/order.log" 2>&1 &
pids+=($!)
wait_health "$oport"

for i in $(seq 1 "$books"); do
  curl -fsS -m 5 -H 'Content-Type: application/json' \
    -d "{\"title\":\"Drill book $i\",\"author\":\"Drill\",\"price\":\"9.99\",\"quantity\":$stock}" \
    "http://127.0.0.1:$cport/books" >/dev/null || die "POST /books"
done
book_ids=$(psql "$db_url" -X -tA -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM books")

# Each worker posts orders (every third with an Idempotency-Key) and records "status id".
worker() { # worker N
  local n=$1 k=0 b out
  local end=$(( $(date +%s) + run_s ))
  while [ "$(date +%s)" -lt "$end" ]; do
    k=$((k + 1))
    # shellcheck disable=SC2086
    b=$(printf '%s\n' $book_ids | sed -n "$(( (k + n) % books + 1 ))p")
    local hdr=()
    [ $((k % 3)) = 0 ] && hdr=(-H "Idempotency-Key: drill-$n-$k")
    out=$(curl -sS -m 10 -o - -w ' %{http_code}' -H 'Content-Type: application/json' "${hdr[@]}" \
      -d "{\"book_id\":$b,\"customer_name\":\"Drill $n\",\"customer_email\":\"drill-$n@example.com\",\"quantity\":1}" \
      "http://127.0.0.1:$oport/orders" 2>/dev/null || echo ' 000')
    echo "${out##* } $(printf '%s' "${out% *}" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')"
  done >"$work/out/w$n"
}
wpids=()
for n in $(seq 1 "$workers"); do worker "$n" & wpids+=($!); done
pids+=("${wpids[@]}")
sleep "$crash_after_s"
log "crashing PostgreSQL (pg_ctl stop -m immediate)"
runuser_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bindir=$(dirname "$(find /usr/lib/postgresql -name pg_ctl -path '*/bin/*' | sort | tail -1)")
runuser_pg "$bindir/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null
sleep 1
timeout 120 "$root/scripts/pg.sh" start "$pgdir" "$port" >/dev/null || die "restart"
log "PostgreSQL restarted (crash recovery done)"
for p in "${wpids[@]}"; do wait "$p" || true; done

# Let recovery settle: no intents, no cancelled order without its stock back.
for _ in $(seq 1 60); do
  left=$(psql "$db_url" -X -tA -c "SELECT (SELECT count(*) FROM order_intents) + (SELECT count(*) FROM orders WHERE status = 'cancelled' AND NOT stock_released)")
  [ "$left" = 0 ] && break
  sleep 0.5
done
[ "$left" = 0 ] || die "$left intents/cancels not settled after 30 s"

cat "$work"/out/w* >"$work/answers"
created=$(awk '$1 == 201 && $2 != "" {print $2}' "$work/answers" | sort -un)
n201=$(printf '%s\n' "$created" | grep -c . || true)
log "answers: $(awk '{print $1}' "$work/answers" | sort | uniq -c | awk '{printf "%s x %s, ", $1, $2}')"
missing=0
for id in $created; do
  e=$(psql "$db_url" -X -tA -c "SELECT count(*) FROM orders WHERE id = $id")
  [ "$e" = 1 ] || { log "order $id was answered 201 but is gone"; missing=$((missing + 1)); }
done
[ "$missing" = 0 ] || die "$missing acknowledged orders lost"
bad=$(psql "$db_url" -X -tA -c "
  SELECT count(*) FROM books b WHERE b.quantity + coalesce((SELECT sum(o.quantity) FROM orders o
    WHERE o.book_id = b.id AND o.status <> 'cancelled'), 0) <> $stock")
[ "$bad" = 0 ] || die "stock invariant broken for $bad books"
bad=$(psql "$db_url" -X -tA -c "
  SELECT (SELECT count(*) FROM orders o WHERE o.status <> 'cancelled' AND NOT EXISTS
           (SELECT 1 FROM reservations r WHERE r.id = o.reservation_id AND r.status = 'reserved'))
       + (SELECT count(*) FROM reservations r WHERE r.status = 'reserved' AND NOT EXISTS
           (SELECT 1 FROM orders o WHERE o.reservation_id = r.id AND o.status <> 'cancelled'))")
[ "$bad" = 0 ] || die "$bad orders/reservations out of step"
stats=$(psql "$db_url" -X -tA -F ' ' -c "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM reservations WHERE status = 'released')")
log "ok: $n201 orders answered 201, all present (orders in the table: ${stats% *}; reservations released by undo/recovery: ${stats#* }); stock invariant holds for $books books; nothing left half-done"
