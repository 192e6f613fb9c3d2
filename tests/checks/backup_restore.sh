#!/usr/bin/env bash
# backup_restore.sh - the documented backup and restore (docs/operations.md "Backup and restore"),
# end to end on a private database of the test PostgreSQL:
#   1. migrate, seed, start both services; add books (one with non-ASCII text) and place orders
#      through the API, cancel and confirm some; stop the services (nothing in flight);
#   2. fingerprint every table (row count + md5 of all rows) and the stock invariant of
#      docs/consistency.md (per book: quantity + ordered quantity not cancelled = initial stock);
#   3. dump with the backup CronJob's commands (k8s/base/backup.yaml: `pg_dump -Fc`, then
#      `pg_restore --list` as its sanity check); restore with the runbook's command
#      (`pg_restore --clean --if-exists --no-owner --single-transaction`) twice: in place over a
#      database changed after the dump, and into the database dropped and created empty; each
#      time identical fingerprints and the invariant;
#   4. `--migrate` applies nothing (checksums came back too); both services start on the restored
#      database, list the same books, and take new books and orders (identity sequences
#      restored), the invariant still holding.
set -uo pipefail
. "$(dirname "$0")/lib/checks.bash"

for b in "$CATALOG_BIN" "$ORDER_BIN"; do [ -x "$b" ] || die "$b not built"; done
bindir=""
for v in 17 16 15; do
  [ -x "/usr/lib/postgresql/$v/bin/pg_dump" ] && { bindir=/usr/lib/postgresql/$v/bin; break; }
done
[ -n "$bindir" ] || die "pg_dump not found (apt-get install postgresql)"
run_tmp backup-restore
auth_dev_env || die "no development key"
db=backup_restore_$RUN_ID
url=$(fresh_db "$db") || die "cannot create database $db"   # the owner's URL (migrations, dumps)
roles=$(db_role_urls "$db") || die "no role URLs for $db"
catalog_url=$(eval "$roles"; echo "$DATABASE_URL_CATALOG")   # the services run as their roles
orders_url=$(eval "$roles"; echo "$DATABASE_URL_ORDERS")
dump=$RUN_TMP/bookstore.dump

pids=()
stop_services() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  pids=()
}
trap 'stop_services; drop_db "$db"' EXIT

# start_services: both daemons on $url, free ports (no admin listeners); sets C and O (base URLs).
start_services() {
  local cport oport
  cport=$(free_port) && oport=$(free_port) || die "no free port"
  DATABASE_URL=$catalog_url MIGRATIONS_DIR=$MIGRATIONS_DIR PORT=$cport ADMIN_PORT=0 "$CATALOG_BIN" \
    >>"$RUN_TMP/catalog.log" 2>&1 &
  pids+=($!)
  DATABASE_URL=$orders_url MIGRATIONS_DIR=$MIGRATIONS_DIR PORT=$oport ADMIN_PORT=0 \
    CATALOG_SERVICE_URL=http://127.0.0.1:$cport "$ORDER_BIN" >>"$RUN_TMP/order.log" 2>&1 &
  pids+=($!)
  C=http://127.0.0.1:$cport O=http://127.0.0.1:$oport
  wait_200 "$C/ready" 20 || die "catalog-service not ready (see $RUN_TMP/catalog.log)"
  wait_200 "$O/ready" 20 || die "order-service not ready (see $RUN_TMP/order.log)"
}

# call METHOD URL [BODY [STATUS]]: one API call (not in a subshell, so a wrong status, default
# 200, ends the check); the answer's body is in $RUN_TMP/body. Authenticated as an admin; the
# catalog's internal /reservations API with the internal service token (docs/auth.md).
call() {
  local method=$1 u=$2 body=${3:-} want=${4:-200} code tok=$ADMIN_TOKEN
  case "$u" in */reservations*) tok=$INTERNAL_API_TOKEN ;; esac
  code=$(curl -s -o "$RUN_TMP/body" -w '%{http_code}' -X "$method" "$u" \
    -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' ${body:+-d "$body"})
  [ "$code" = "$want" ] || die "$method $u answered $code, want $want: $(cat "$RUN_TMP/body")"
}
field() { jq -r ".$1" "$RUN_TMP/body"; }

# Fingerprint of every table of the schema: name, row count, md5 over the rows in text order.
fingerprint() {
  local t tables
  tables=$(psql "$url" -Atc "select tablename from pg_tables where schemaname = 'public' order by 1")
  for t in $tables; do
    psql "$url" -Atc "select '$t', count(*), coalesce(md5(string_agg(x::text, E'\n' order by x::text)), '-') from $t x" \
      || return 1
  done
}
# The initial stock of every book as the invariant computes it back (docs/consistency.md).
invariant() {
  psql "$url" -Atc "select b.id, b.quantity + coalesce((select sum(o.quantity) from orders o
      where o.book_id = b.id and o.status not in ('cancelled', 'failed')), 0) from books b order by b.id"
}

# ---- 1. a database with history ----------------------------------------------------------------
DATABASE_URL=$url MIGRATIONS_DIR=$MIGRATIONS_DIR "$CATALOG_BIN" --migrate >"$RUN_TMP/migrate.log" 2>&1 \
  || { cat "$RUN_TMP/migrate.log"; die "--migrate failed"; }
psql "$url" -qf "$SEED_FILE" >/dev/null || die "seeding failed"
start_services
call POST "$C/books" '{"title":"Café Society – Ünïcode","author":"Zoë Ørsted","isbn":"978-0-306-40615-7","price":"12.50","quantity":40}' 201
call POST "$C/books" '{"title":"Release It!","author":"Michael T. Nygard","price":"41.95","quantity":9,"description":"line one\nline \"two\""}' 201
invariant >"$RUN_TMP/initial.txt" || die "cannot read the initial stock"
orders=()
for i in $(seq 1 24); do
  book=$(( (i % 12) + 1 )) qty=$(( (i % 3) + 1 ))
  call POST "$O/orders" "{\"book_id\":$book,\"customer_name\":\"Customer $i\",\"customer_email\":\"c$i@example.com\",\"quantity\":$qty}" 201
  orders+=("$(field id)")
done
for i in 0 3 6 9 12; do call PATCH "$O/orders/${orders[$i]}/status" '{"status":"cancelled"}'; done
for i in 1 4 7; do call PATCH "$O/orders/${orders[$i]}/status" '{"status":"confirmed"}'; done
call PATCH "$O/orders/${orders[4]}/status" '{"status":"shipped"}'
call POST "$C/reservations" '{"reservation_id":"backup-demo","book_id":2,"quantity":1}' 201
call POST "$C/reservations/backup-demo/release"
call GET "$C/books?limit=1"
total_before=$(field total)
stop_services

[ "$(psql "$url" -Atc 'select count(*) from order_intents')" = 0 ] || die "orders still in flight"
if invariant | diff -u "$RUN_TMP/initial.txt" - >"$RUN_TMP/diff"; then ok "stock invariant holds before the backup"
else cat "$RUN_TMP/diff"; bad "stock invariant broken before the backup"; fi
fingerprint >"$RUN_TMP/before.txt" || die "cannot fingerprint the database"
invariant >"$RUN_TMP/invariant-before.txt"
grep -q "^orders|24|" "$RUN_TMP/before.txt" || die "expected 24 orders: $(cat "$RUN_TMP/before.txt")"

# ---- 2. dump: the CronJob's commands (k8s/base/backup.yaml) -------------------------------------
DATABASE_URL=$url
f=$RUN_TMP/bookstore
if "$bindir/pg_dump" -Fc -f "$f.partial" "$DATABASE_URL" && "$bindir/pg_restore" --list "$f.partial" >/dev/null \
   && mv "$f.partial" "$dump"; then
  ok "pg_dump -Fc wrote $(wc -c <"$dump") bytes; pg_restore --list reads it"
else
  die "the backup commands failed"
fi

# ---- 3. restore with the runbook's command (docs/operations.md "Restore", step 2) -------------
restore() {
  "$bindir/pg_restore" --clean --if-exists --no-owner --single-transaction -d "$DATABASE_URL" "$dump" \
    2>"$RUN_TMP/restore.err"
}
# compare WHAT: every table and the invariant as at the dump.
compare() {
  fingerprint >"$RUN_TMP/after.txt" || die "cannot fingerprint the restored database"
  if diff -u "$RUN_TMP/before.txt" "$RUN_TMP/after.txt"; then
    ok "$1: every table as at the dump (row counts and md5): $(cut -d'|' -f1,2 "$RUN_TMP/after.txt" | tr '\n' ' ')"
  else
    bad "$1: restored tables differ"
  fi
  if invariant | diff -u "$RUN_TMP/initial.txt" -; then ok "$1: stock invariant holds"
  else bad "$1: stock invariant broken"; fi
}

# a. In place, over a database that changed after the dump (the incident: bad writes).
start_services
call POST "$C/books" '{"title":"Written after the dump","author":"Late","price":"5.00","quantity":3}' 201
call POST "$O/orders" '{"book_id":3,"customer_name":"Late","customer_email":"late@example.com","quantity":2}' 201
call PUT "$C/books/1" '{"quantity":999}'
stop_services
psql "$url" -qc "delete from reservations where id = 'backup-demo'" || die "cannot change the database"
fingerprint | diff -q "$RUN_TMP/before.txt" - >/dev/null && die "the changes after the dump changed nothing"
restore || { cat "$RUN_TMP/restore.err"; die "pg_restore in place failed"; }
compare "restore in place"

# b. The database is lost: created empty by an administrator, then the same command.
if [ -n "${TEST_PG_URL_FILE:-}" ] && [ -s "$TEST_PG_URL_FILE" ]; then base=$(cat "$TEST_PG_URL_FILE")
else base=$("$PG_SCRIPT" url "$TEST_TMPDIR/pg-$db"); fi
psql "$base" -qc "drop database $db with (force)" || die "drop database failed"
# As the runbook says: an administrator creates it empty, owned by the owner (db-setup.sh).
"$SOURCE_DIR/scripts/db-setup.sh" database "$base" "$db" >/dev/null || die "create database failed"
[ "$(psql "$url" -Atc "select count(*) from pg_tables where schemaname = 'public'")" = 0 ] \
  || die "the new database is not empty"
restore || { cat "$RUN_TMP/restore.err"; die "pg_restore into an empty database failed"; }
compare "restore into an empty database"

# ---- 4. the services on the restored database ---------------------------------------------------
DATABASE_URL=$url MIGRATIONS_DIR=$MIGRATIONS_DIR "$CATALOG_BIN" --migrate >"$RUN_TMP/migrate2.log" 2>&1 \
  && grep -q '0 applied' "$RUN_TMP/migrate2.log" \
  && ok "--migrate on the restored database: nothing to apply, checksums match" \
  || { cat "$RUN_TMP/migrate2.log"; bad "--migrate on the restored database"; }

start_services
call GET "$C/books?limit=1"
total_after=$(field total)
[ "$total_after" = "$total_before" ] && ok "GET /books total $total_after as before" \
  || bad "GET /books total $total_after, was $total_before"
call POST "$C/books" '{"title":"After the restore","author":"A. Person","price":"9.99","quantity":5}' 201
new_book=$(field id)
call POST "$O/orders" "{\"book_id\":$new_book,\"customer_name\":\"After\",\"customer_email\":\"after@example.com\",\"quantity\":2}" 201
call POST "$O/orders" '{"book_id":1,"customer_name":"After","customer_email":"after@example.com","quantity":1}' 201
stop_services
{ cat "$RUN_TMP/initial.txt"; echo "$new_book|5"; } >"$RUN_TMP/initial2.txt"
if invariant | diff -u "$RUN_TMP/initial2.txt" -; then
  ok "services run on the restored database: new book $new_book and orders accepted, invariant holds"
else
  bad "stock invariant broken after new orders on the restored database"
fi
finish
