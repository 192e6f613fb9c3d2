#!/usr/bin/env bash
# run.sh (`make run`) - builds and runs the catalog and order services locally.
#
# Steps: bootstrap the packages needed to build and run (scripts/bootstrap.sh run), build build/
# (RelWithDebInfo; output in .run/build.log, shown only on failure), start a private PostgreSQL
# under .run/pg when DATABASE_URL is unset (kept between runs), migrate, seed the ten classic books
# when the catalogue is empty, start catalog-service on CATALOG_PORT (8000) and order-service on
# ORDER_PORT (8001), their admin listeners (/health, /ready, /metrics) on CATALOG_ADMIN_PORT (9000)
# and ORDER_ADMIN_PORT (9001), all on HOST (127.0.0.1), print the URLs and example calls, then
# wait. Ctrl-C, SIGTERM (kill, timeout, an IDE's stop button) and SIGHUP (closed terminal) all stop
# both daemons by PID (SIGTERM, graceful) and the private PostgreSQL; once stopping has begun,
# further signals are ignored so the cleanup always completes.
#
# Database roles (DECISIONS "Roles and secrets", db/README.md): with the private PostgreSQL,
# scripts/db-setup.sh creates the roles (once per server) and the database `bookstore`; the
# migrations and the seed run as the owner bookstore_owner, catalog-service as catalog_app and
# order-service as orders_app (members of the NOLOGIN groups catalog and orders that the migrations
# grant to). DATABASE_URL_OWNER + DATABASE_URL_CATALOG + DATABASE_URL_ORDERS (all three) use another
# server set up the same way. A single DATABASE_URL runs everything as that one user (development
# only: no least privilege; the migrations then skip the grants of roles that do not exist).
#
# Authentication (docs/auth.md): a development key pair and JWKS are made under .run/auth
# (scripts/devkeys.sh; kept between runs), an INTERNAL_API_TOKEN under .run/internal-token (kept),
# and both daemons start with AUTH_JWKS, AUTH_ISSUER/AUTH_AUDIENCE (token.sh's defaults) and the
# internal token. The example calls carry an admin and a customer token from scripts/token.sh
# (valid 12 h); mint more with scripts/token.sh --role admin|customer --email ... .
#
# Environment: DATABASE_URL (use this database instead of the private one), CATALOG_PORT,
# ORDER_PORT, CATALOG_ADMIN_PORT, ORDER_ADMIN_PORT, HOST, SEED=0 (skip seeding), BUILD_DIR (default
# build), RUN_DIR (state folder, default .run), CATALOG_BIN and ORDER_BIN (both set: use these
# binaries, skip bootstrap and build), plus any daemon setting (HTTP_THREADS, DB_POOL_SIZE,
# LOG_LEVEL, ... see README), which both daemons inherit.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=${BUILD_DIR:-build}
catalog_port=${CATALOG_PORT:-8000}
order_port=${ORDER_PORT:-8001}
catalog_admin_port=${CATALOG_ADMIN_PORT:-9000}
order_admin_port=${ORDER_ADMIN_PORT:-9001}
export HOST=${HOST:-127.0.0.1}
run_dir=${RUN_DIR:-$repo/.run}
pg_dir=$run_dir/pg
started_pg=0
catalog_pid=
order_pid=

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "run: $*" >&2; exit 1; }

# stop_pid PID NAME: SIGTERM, wait up to 15 s, then SIGKILL.
stop_pid() {
  local pid=$1 name=$2
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  say "stopping $name (pid $pid)"
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "run: $name (pid $pid) did not stop in 15 s; SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

# Stops what this script started, newest first, each by its PID. The EXIT trap: it runs once, for
# every way out (normal end, error, INT/TERM/HUP via the traps below). It first ignores INT, TERM
# and HUP, so a second signal (a second Ctrl-C, `timeout` signalling both the script and its process
# group, an IDE repeating its stop request) cannot kill it halfway; the commands it starts inherit
# that. PIPE too: with `make run | tee log`, Ctrl-C also ends tee, and a progress line written to
# the closed pipe must not end the cleanup. It never re-arms or resets the traps, and `set -e` is
# off inside it (a failing step must not end it early).
# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  trap '' INT TERM HUP PIPE
  set +e
  # The order service first: its in-flight requests may still call the catalog.
  stop_pid "$order_pid" order-service
  stop_pid "$catalog_pid" catalog-service
  if [ "$started_pg" = 1 ]; then
    say "stopping PostgreSQL ($pg_dir)"
    scripts/pg.sh stop "$pg_dir"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits up to 10 s for GET url/health = 200 while pid lives.
wait_health() {
  local name=$1 pid=$2 url=$3
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || die "$name exited during start-up (see its output above)"
    if curl -fsS -o /dev/null --max-time 1 "$url/health" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "$name did not answer $url/health within 10 s"
}

mkdir -p "$run_dir"
if [ -n "${CATALOG_BIN:-}" ] && [ -n "${ORDER_BIN:-}" ]; then
  catalog_bin=$CATALOG_BIN
  order_bin=$ORDER_BIN
else
  scripts/bootstrap.sh run
  say "building ($build; log: $run_dir/build.log)"
  if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
         cmake --build "$build" -j"$(nproc)" --target catalog-service order-service; } >"$run_dir/build.log" 2>&1; then
    tail -n 60 "$run_dir/build.log" >&2
    die "build failed (full output: $run_dir/build.log)"
  fi
  catalog_bin=$repo/$build/catalog-service/catalog-service
  order_bin=$repo/$build/order-service/order-service
fi

for p in "$catalog_port" "$order_port" "$catalog_admin_port" "$order_admin_port"; do
  port_busy "$p" && die "port $p on 127.0.0.1 is in use; set CATALOG_PORT/ORDER_PORT/CATALOG_ADMIN_PORT/ORDER_ADMIN_PORT"
done

if [ -n "${DATABASE_URL_OWNER:-}" ] && [ -n "${DATABASE_URL_CATALOG:-}" ] && [ -n "${DATABASE_URL_ORDERS:-}" ]; then
  db_mode="one role per process (DATABASE_URL_OWNER/_CATALOG/_ORDERS)"
elif [ -n "${DATABASE_URL:-}" ]; then
  db_mode="single user DATABASE_URL (development only: no least privilege)"
  DATABASE_URL_OWNER=$DATABASE_URL DATABASE_URL_CATALOG=$DATABASE_URL DATABASE_URL_ORDERS=$DATABASE_URL
else
  say "starting a private PostgreSQL under $pg_dir"
  started_pg=1 # before the start: a signal during it must still stop the server
  admin_url=$(scripts/pg.sh start "$pg_dir")
  # Roles once per server, the database owned by bookstore_owner; prints DATABASE_URL_* lines.
  db_env=$(scripts/db-setup.sh database "$admin_url" bookstore) || die "database setup failed"
  eval "$db_env"
  db_mode="one role per process (private PostgreSQL)"
fi
# Each process gets its own DATABASE_URL below; none inherits another role's URL.
unset DATABASE_URL
export -n DATABASE_URL_OWNER DATABASE_URL_CATALOG DATABASE_URL_ORDERS
export MIGRATIONS_DIR=${MIGRATIONS_DIR:-$repo/db/migrations}

say "development keys (.run/auth) and internal token"
mkdir -p "$run_dir"
scripts/devkeys.sh "$run_dir/auth" >/dev/null
if [ ! -s "$run_dir/internal-token" ]; then
  (umask 077 && openssl rand -base64 48 | tr -d '\n' >"$run_dir/internal-token")
fi
export AUTH_JWKS=$run_dir/auth/jwks.json
export AUTH_ISSUER=${AUTH_ISSUER:-http://localhost/dev}
export AUTH_AUDIENCE=${AUTH_AUDIENCE:-bookstore}
INTERNAL_API_TOKEN=$(cat "$run_dir/internal-token")
export INTERNAL_API_TOKEN
admin_token=$(AUTH_DEV_KEYS=$run_dir/auth scripts/token.sh --role admin --ttl 43200)
customer_token=$(AUTH_DEV_KEYS=$run_dir/auth scripts/token.sh --role customer --email ada@example.com --sub ada --ttl 43200)

say "migrating ($MIGRATIONS_DIR) as the owner"
if ! DATABASE_URL=$DATABASE_URL_OWNER "$catalog_bin" --migrate >"$run_dir/migrate.log" 2>&1; then
  cat "$run_dir/migrate.log" >&2
  die "migration failed"
fi

if [ "${SEED:-1}" = 1 ]; then
  if [ "$(psql "$DATABASE_URL_OWNER" -tAc "SELECT EXISTS (SELECT 1 FROM books)")" = f ]; then
    say "seeding db/seed/books.sql"
    psql "$DATABASE_URL_OWNER" -q -v ON_ERROR_STOP=1 -f db/seed/books.sql >/dev/null
  fi
fi

catalog_url=http://127.0.0.1:$catalog_port
order_url=http://127.0.0.1:$order_port

say "starting catalog-service on $catalog_url"
# setsid: the daemons get Ctrl-C from this script (SIGTERM, in order), not from the terminal.
DATABASE_URL=$DATABASE_URL_CATALOG PORT=$catalog_port ADMIN_PORT=$catalog_admin_port setsid "$catalog_bin" &
catalog_pid=$!
wait_health catalog-service "$catalog_pid" "$catalog_url"

say "starting order-service on $order_url"
# A catalog under BASE_PATH: the order service reads books there (CATALOG_BASE_PATH).
DATABASE_URL=$DATABASE_URL_ORDERS PORT=$order_port ADMIN_PORT=$order_admin_port CATALOG_SERVICE_URL=$catalog_url CATALOG_BASE_PATH=${BASE_PATH:-} \
  setsid "$order_bin" &
order_pid=$!
wait_health order-service "$order_pid" "$order_url"

cat <<EOF

  catalog-service  $catalog_url   (pid $catalog_pid; OpenAPI: $catalog_url${BASE_PATH:-}/openapi.json)
                   admin http://$HOST:$catalog_admin_port  (/health /ready /metrics)
  order-service    $order_url   (pid $order_pid; OpenAPI: $order_url/openapi.json)
                   admin http://$HOST:$order_admin_port  (/health /ready /metrics)
  database         $db_mode
                   catalog-service: $DATABASE_URL_CATALOG
                   order-service:   $DATABASE_URL_ORDERS

  Tokens (valid 12 h; more with scripts/token.sh, keys in .run/auth):
    export ADMIN_TOKEN='$admin_token'
    export CUSTOMER_TOKEN='$customer_token'   # ada@example.com

  Try (ids captured with jq, so the calls work on every run; books are public, writes need the
  admin, orders a customer for itself or the admin):
    curl -s '$catalog_url${BASE_PATH:-}/books?limit=3' | jq .
    curl -s '$catalog_url${BASE_PATH:-}/books?search=clean&sort=-price' | jq .
    book=\$(curl -s -X POST $catalog_url${BASE_PATH:-}/books -H "Authorization: Bearer \$ADMIN_TOKEN" -H 'Content-Type: application/json' \\
           -d '{"title":"Release It!","author":"Michael T. Nygard","price":"41.95","quantity":5}' | jq -r .id)
    order=\$(curl -s -X POST $order_url/orders -H "Authorization: Bearer \$CUSTOMER_TOKEN" -H 'Content-Type: application/json' \\
           -d "{\"book_id\":\$book,\"customer_name\":\"Ada Lovelace\",\"customer_email\":\"ada@example.com\",\"quantity\":2}" | jq -r .id)
    curl -s $order_url/orders -H "Authorization: Bearer \$CUSTOMER_TOKEN" | jq .
    curl -s -X PATCH $order_url/orders/\$order/status -H "Authorization: Bearer \$CUSTOMER_TOKEN" -H 'Content-Type: application/json' -d '{"status":"cancelled"}' | jq .
    curl -s "$order_url/audit?entity_id=\$order" -H "Authorization: Bearer \$ADMIN_TOKEN" | jq .
    curl -s http://$HOST:$catalog_admin_port/metrics | head
    BOOKSTORE_ADMIN_TOKEN=\$ADMIN_TOKEN BOOKSTORE_CUSTOMER_TOKEN=\$CUSTOMER_TOKEN CATALOG_URL=$catalog_url${BASE_PATH:-} ORDER_URL=$order_url tests/smoke.sh

  Access logs (JSON lines) follow. Ctrl-C stops everything.

EOF

# Returns when either daemon exits (then cleanup stops the other) or on INT/TERM/HUP (their traps
# exit, and the EXIT trap stops everything).
set +e
wait -n "$catalog_pid" "$order_pid"
rc=$?
set -e
echo "run: a daemon exited (status $rc); stopping" >&2
exit 1
