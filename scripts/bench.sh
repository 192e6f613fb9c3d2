#!/usr/bin/env bash
# bench.sh - `make bench`: load-test both services on loopback against a large seeded catalogue and
# compare them with pgbench on the same PostgreSQL server, in one run.
#
# Steps: Release build in build-bench/ -> private PostgreSQL under .bench/pg -> database `bookstore`
# migrated (`catalog-service --migrate`) and seeded with BENCH_BOOKS synthetic books
# (scripts/gen-books.sh) -> pgbench -S / -N (database `pgbench`, scale 10, same client count) ->
# catalog-service + order-service (LOG_LEVEL=warn) -> one wrk run per case (bench/*.lua) ->
# table on stdout, in .bench/results.md and (full runs) in the "Latest figures" section of
# docs/performance.md. Everything started here is stopped by PID on exit, also on failure.
#
# Environment (all optional):
#   BENCH_QUICK=1          100,000 books, 3 s per case, no warm-up, docs not rewritten
#   BENCH_BOOKS            catalogue size (default 1000000; quick 100000)
#   BENCH_SECONDS          seconds per case (default 10; quick 3)
#   BENCH_WARMUP           warm-up seconds per case, not measured (default 2; quick 0)
#   BENCH_CONNECTIONS      wrk connections = pgbench clients (default 32)
#   BENCH_WRK_THREADS      wrk threads = pgbench threads (default 2)
#   HTTP_THREADS           service worker threads (default 4)
#   DB_POOL_SIZE           service pool size (default: = HTTP_THREADS)
#   BENCH_SWEEP="2 4 8"    run every case for each HTTP_THREADS value (pool follows unless set)
#   BENCH_CASES="get_book post_order"  only these cases (names: see CASES below)
#   BENCH_SEARCH, BENCH_AUTHOR  fix the search term / author (default: picked from the data so
#                          that they match at most 1,000 books)
#   BENCH_SEARCH_BIG, BENCH_AUTHOR_BIG  terms matching >= 100,000 books (default: the first of a
#                          few candidates that does)
#   BENCH_RUNS             runs per case (default 3; quick 1): the table shows the median and
#                          the spread (min-max of req/s and p99)
#   BENCH_KEEP_DB=1        reuse .bench/pg and its seeded catalogue when it already has enough books
#   BENCH_WRITE_DOCS=0|1   rewrite docs/performance.md (default 1, quick 0)
#   BENCH_GEN              catalogue generator (default scripts/gen-books.sh; args: N DATABASE_URL)
#   BENCH_SKIP_BUILD=1     use the existing binaries (in build-bench/, or BENCH_BUILD_DIR)
#   BENCH_PGBENCH=0        skip pgbench (ratios then print as "-")
#   CACHE_TTL_MS           the catalog's per-replica read cache in the main pass (default 0 = off)
#   BENCH_CACHE_PASS=0     skip the second pass of the catalog's read cases with the cache on
#                          (CACHE_TTL_MS=BENCH_CACHE_TTL, default 1000; rows labelled "cache on")
#   BENCH_AUTH_BASELINE=0  skip the no-auth baseline (AUTH_DISABLED=1) of the authenticated cases
#
# Authentication is on (dev keys under .bench/auth, scripts/devkeys.sh; tokens from
# scripts/token.sh): every case sends an admin token (BENCH_TOKEN) except post_order_customer,
# which sends a customer token. The authenticated cases get_book (public route) and
# post_order_customer then run once more against services started with AUTH_DISABLED=1, and the
# report gives the ratio (issue 8: authentication may cost at most 10 % of the throughput).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
  books=${BENCH_BOOKS:-100000}; secs=${BENCH_SECONDS:-3}; warm=${BENCH_WARMUP:-0}
  write_docs=${BENCH_WRITE_DOCS:-0}; runs=${BENCH_RUNS:-1}
else
  books=${BENCH_BOOKS:-1000000}; secs=${BENCH_SECONDS:-10}; warm=${BENCH_WARMUP:-2}
  write_docs=${BENCH_WRITE_DOCS:-1}; runs=${BENCH_RUNS:-3}
fi
conns=${BENCH_CONNECTIONS:-32}
wthreads=${BENCH_WRK_THREADS:-2}
sweep=${BENCH_SWEEP:-${HTTP_THREADS:-4}}
pool_fixed=${DB_POOL_SIZE:-}
only=${BENCH_CASES:-}
keep_db=${BENCH_KEEP_DB:-0}
gen=${BENCH_GEN:-$root/scripts/gen-books.sh}
run_pgbench=${BENCH_PGBENCH:-1}
cache_ttl=${CACHE_TTL_MS:-0}   # the catalog's read cache for the main pass (default off)
cache_pass=${BENCH_CACHE_PASS:-1}       # then the read cases again with the cache on
cache_on_ttl=${BENCH_CACHE_TTL:-1000}
CACHE_CASES="get_book get_book_inm get_book_hot list search author sort"
work=$root/.bench
build=${BENCH_BUILD_DIR:-$root/build-bench}
pgdir=$work/pg
stocked=1000      # ids 1..stocked get plenty of stock; POST /orders buys only these
customers=1000    # bench-1@example.com .. bench-1000@example.com

# name | script | label | kind (read: ratio to pgbench -S, write: to -N) | service
CASES=(
  "get_book|get_book.lua|GET /books/{id}|read|catalog"
  "get_book_inm|get_book_inm.lua|GET /books/{id} + If-None-Match (304)|read|catalog"
  "get_book_hot|get_book_hot.lua|GET /books/{id}, 90 % on 1,000 popular books|read|catalog"
  "list|list_books.lua|GET /books?limit=20|read|catalog"
  "search|search_books.lua|GET /books?search=TERM&limit=20|read|catalog"
  "author|author_books.lua|GET /books?author=AUTHOR|read|catalog"
  "search_big|search_big.lua|GET /books?search=BIGTERM&limit=20|read|catalog"
  "author_big|author_big.lua|GET /books?author=BIGAUTHOR&limit=20|read|catalog"
  "sort|sort_price.lua|GET /books?sort=-price&limit=20|read|catalog"
  "post_book|post_book.lua|POST /books|write|catalog"
  "put_book|put_book.lua|PUT /books/{id}|write|catalog"
  "post_order|post_order.lua|POST /orders|write|order"
  "post_order_customer|post_order_customer.lua|POST /orders (customer token)|write|order"
  "list_orders|list_orders.lua|GET /orders?customer_email=…|read|order"
)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for tool in cmake wrk pgbench psql curl awk; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y cmake wrk postgresql-client curl)"
done

mkdir -p "$work"

# ---------------------------------------------------------------- cleanup (trap, by PID only)
catalog_pid=""; order_pid=""; pg_started=0
stop_pid() { # stop_pid PID NAME: SIGTERM, wait up to 15 s, then SIGKILL
  local pid=$1 name=$2
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "$name did not stop in 15 s, SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}
stop_services() {
  stop_pid "$order_pid" order-service; order_pid=""
  stop_pid "$catalog_pid" catalog-service; catalog_pid=""
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_services
  # the data folder stays (BENCH_KEEP_DB=1 reuses it; a normal run deletes it at its start)
  if [ "$pg_started" = 1 ]; then timeout 60 "$root/scripts/pg.sh" stop "$pgdir" || true; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  log "building Release into build-bench/"
  timeout 900 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 \
    || { tail -30 "$work/cmake.log" >&2; die "cmake configure"; }
  timeout 1200 cmake --build "$build" --target catalog-service order-service -j"$(nproc)" >>"$work/cmake.log" 2>&1 \
    || { grep -m20 -E 'error|Error' "$work/cmake.log" >&2; die "build (see .bench/cmake.log)"; }
fi
catalog_bin=$build/catalog-service/catalog-service
order_bin=$build/order-service/order-service
if [ ! -x "$catalog_bin" ] || [ ! -x "$order_bin" ]; then die "binaries missing in $build"; fi

# ---------------------------------------------------------------- PostgreSQL
if [ "$keep_db" != 1 ]; then
  timeout 60 "$root/scripts/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true
  rm -rf "$pgdir"
fi
log "starting PostgreSQL under .bench/pg"
pg_started=1
admin_url=""
for _ in 1 2 3; do   # pg.sh picks a random free port; another process may take it first
  admin_url=$(timeout 120 "$root/scripts/pg.sh" start "$pgdir") && break
  admin_url=""; sleep 1
done
[ -n "$admin_url" ] || die "PostgreSQL start"
base_url=${admin_url%/*}
db_url=$base_url/bookstore
pgb_url=$base_url/pgbench
psql_q() { timeout "${PSQL_TIMEOUT:-600}" psql "$db_url" -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }

have_books=0
if [ "$keep_db" = 1 ] && psql "$admin_url" -X -tA -c "SELECT 1 FROM pg_database WHERE datname='bookstore'" | grep -q 1; then
  have_books=$(psql_q -c "SELECT count(*) FROM books" 2>/dev/null || echo 0)
fi
if [ "$have_books" -ge "$books" ]; then
  log "reusing the seeded catalogue ($have_books books); applying new migrations"
  DATABASE_URL=$db_url MIGRATIONS_DIR=$root/db/migrations LOG_LEVEL=warn timeout 1200 "$catalog_bin" --migrate \
    >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; die "migration"; }
else
  psql "$admin_url" -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS bookstore" -c "CREATE DATABASE bookstore" \
    || die "create database"
  log "migrating"
  DATABASE_URL=$db_url MIGRATIONS_DIR=$root/db/migrations LOG_LEVEL=warn timeout 300 "$catalog_bin" --migrate \
    >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; die "migration"; }
  [ -x "$gen" ] || [ -f "$gen" ] || die "generator $gen missing (set BENCH_GEN)"
  log "seeding $books books with $(basename "$gen")"
  t0=$(date +%s)
  timeout 3600 bash "$gen" "$books" "$db_url" >"$work/seed.log" 2>&1 || { tail -20 "$work/seed.log" >&2; die "seeding"; }
  log "seeded in $(( $(date +%s) - t0 )) s"
fi
# Stock for the order case, fresh statistics, visibility map for index-only scans, no checkpoint
# in the middle of a measurement.
psql_q -c "UPDATE books SET quantity = 1000000 WHERE id <= $stocked" \
  -c "VACUUM (ANALYZE)" -c "CHECKPOINT" >/dev/null || die "preparing the catalogue"
read -r nbooks minid maxid < <(psql_q -F ' ' -c "SELECT count(*), min(id), max(id) FROM books")
log "catalogue: $nbooks books, ids $minid..$maxid"
[ "$nbooks" -ge "$books" ] || die "expected at least $books books, found $nbooks"
[ "$minid" = 1 ] || log "warning: ids do not start at 1; GET /books/{id} will see 404s"
books_max=$books   # the seeded ids 1..books (later POSTs may leave gaps above)

# ------------------------------------------------------- search term and author (<= 1000 matches)
like_count() { # like_count COLUMN-EXPR TERM -> matches, capped at 1001
  psql "$db_url" -X -q -t -A -v ON_ERROR_STOP=1 -v term="$2" <<SQL
SELECT count(*) FROM (SELECT 1 FROM books WHERE $1 LIMIT 1001) s;
SQL
}
pat="'%' || replace(replace(replace(:'term', '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'"
search_term=${BENCH_SEARCH:-}
search_n="?"
if [ -z "$search_term" ]; then
  best=""; best_n=0
  # candidates: words of sampled titles and their prefixes, word pairs, whole titles, authors
  while IFS= read -r w; do
    [ -n "$w" ] || continue
    n=$(like_count "lower(title) LIKE lower($pat) OR lower(author) LIKE lower($pat) OR isbn LIKE $pat" "$w")
    if [ "$n" -le 1000 ] && [ "$n" -gt "$best_n" ]; then best=$w; best_n=$n; fi
  done < <(psql_q -c "SELECT title || chr(10) || author FROM books WHERE id IN (SELECT (1 + (g * 104729) % $books_max) FROM generate_series(1, 8) g)" \
             | tr -c 'A-Za-z0-9 \n' ' ' | awk '
                 { print $0; n = split($0, a, " ")
                   for (i = 1; i <= n; i++) {
                     if (length(a[i]) >= 4) for (j = 4; j <= length(a[i]) && j <= 8; j++) print substr(a[i], 1, j)
                     if (i < n) print a[i] " " a[i + 1] } }' | sort -u | head -80)
  [ -n "$best" ] || { best=$(psql_q -c "SELECT title FROM books WHERE id = $minid"); best_n=1; }
  search_term=$best; search_n=$best_n
else
  search_n=$(like_count "lower(title) LIKE lower($pat) OR lower(author) LIKE lower($pat) OR isbn LIKE $pat" "$search_term")
fi
author=${BENCH_AUTHOR:-}
author_n="?"
if [ -z "$author" ]; then
  best=""; best_n=0
  while IFS= read -r a; do
    [ -n "$a" ] || continue
    n=$(like_count "lower(author) LIKE lower($pat)" "$a")
    if [ "$n" -le 1000 ] && [ "$n" -gt "$best_n" ]; then best=$a; best_n=$n; fi
  done < <(psql_q -c "SELECT DISTINCT author FROM books WHERE id IN (SELECT (1 + (g * 7919) % $books_max) FROM generate_series(1, 12) g)")
  author=$best; author_n=$best_n
else
  author_n=$(like_count "lower(author) LIKE lower($pat)" "$author")
fi
log "search term '$search_term' matches $search_n books; author '$author' matches $author_n books"
big_count() { # big_count COLUMN-EXPR TERM -> matches, capped at 100000
  psql "$db_url" -X -q -t -A -v ON_ERROR_STOP=1 -v term="$2" <<SQL
SELECT count(*) FROM (SELECT 1 FROM books WHERE $1 LIMIT 100000) s;
SQL
}
search_big=${BENCH_SEARCH_BIG:-}
if [ -z "$search_big" ]; then
  for w in the of an; do
    n=$(big_count "lower(title) LIKE lower($pat) OR lower(author) LIKE lower($pat) OR isbn LIKE $pat" "$w")
    if [ "$n" -ge 100000 ]; then search_big=$w; break; fi
  done
  search_big=${search_big:-the}
fi
author_big=${BENCH_AUTHOR_BIG:-}
if [ -z "$author_big" ]; then
  for w in ai ou ra an; do
    n=$(big_count "lower(author) LIKE lower($pat)" "$w")
    if [ "$n" -ge 100000 ]; then author_big=$w; break; fi
  done
  author_big=${author_big:-a}
fi
log "terms matching >= 100,000 books (or the most found): search '$search_big', author '$author_big'"

# ---------------------------------------------------------------- pgbench (the limits)
pg_s_tps=""; pg_n_tps=""
declare -A R   # results: R[<case>@<threads>,field]
pct_from_logs() { # pct_from_logs PREFIX -> "p50_ms p99_ms" from pgbench per-transaction logs
  cat "$1".* 2>/dev/null | awk '{print $3}' | sort -n | awk '
    { v[NR] = $1 }
    END { if (NR == 0) { print "- -"; exit }
          i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
          printf "%.2f %.2f\n", v[i50] / 1000, v[i99] / 1000 }'
}
run_pgbench_case() { # run_pgbench_case NAME FLAG
  local name=$1 flag=$2 out prefix
  prefix=$work/pgblog/$name
  rm -rf "$work/pgblog"; mkdir -p "$work/pgblog"
  out=$(cd "$work/pgblog" && timeout $((secs + 120)) pgbench "$flag" -M prepared -c "$conns" -j "$wthreads" \
          -T "$secs" --log --log-prefix="$prefix" "$pgb_url" 2>&1) || { echo "$out" >&2; die "pgbench $flag"; }
  local tps errs
  tps=$(echo "$out" | awk '/^tps = / {print $3; exit}')
  errs=$(echo "$out" | awk '/number of failed transactions:/ {print $5; exit}')
  read -r p50 p99 < <(pct_from_logs "$prefix")
  [ -n "$tps" ] || { echo "$out" >&2; die "pgbench $flag: no tps"; }
  R[$name,rps]=$(printf '%.1f' "$tps"); R[$name,p50]=$p50; R[$name,p99]=$p99; R[$name,err]=${errs:-0}
  rm -rf "$work/pgblog"
}
if [ "$run_pgbench" = 1 ]; then
  log "pgbench -i -s 10 (database pgbench)"
  psql "$admin_url" -X -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS pgbench" -c "CREATE DATABASE pgbench" \
    || die "create pgbench database"
  timeout 600 pgbench -i -q -s 10 "$pgb_url" >"$work/pgbench-init.log" 2>&1 || { cat "$work/pgbench-init.log" >&2; die "pgbench -i"; }
  psql "$pgb_url" -X -q -c CHECKPOINT
  log "pgbench -S -M prepared -c $conns -j $wthreads -T $secs"
  run_pgbench_case pg_S -S; pg_s_tps=${R[pg_S,rps]}
  log "pgbench -N -M prepared -c $conns -j $wthreads -T $secs"
  run_pgbench_case pg_N -N; pg_n_tps=${R[pg_N,rps]}
  log "pgbench: -S $pg_s_tps tps, -N $pg_n_tps tps"
fi

# ---------------------------------------------------------------- authentication
"$root/scripts/devkeys.sh" "$work/auth" >/dev/null || die "devkeys.sh"
bench_iss=http://localhost/dev
bench_aud=bookstore
internal_token=$(openssl rand -hex 32)
bench_admin_token=$(AUTH_DEV_KEYS=$work/auth AUTH_ISSUER=$bench_iss AUTH_AUDIENCE=$bench_aud \
  "$root/scripts/token.sh" --role admin --ttl 86400) || die "token.sh"
bench_customer_token=$(AUTH_DEV_KEYS=$work/auth AUTH_ISSUER=$bench_iss AUTH_AUDIENCE=$bench_aud \
  "$root/scripts/token.sh" --role customer --sub bench-customer \
  --email bench-customer@example.com --ttl 86400) || die "token.sh"
auth_mode=on   # on: JWKS + tokens; off: AUTH_DISABLED=1 and no tokens (the baseline)
auth_env() {
  if [ "$auth_mode" = on ]; then
    echo "AUTH_JWKS=$work/auth/jwks.json AUTH_ISSUER=$bench_iss AUTH_AUDIENCE=$bench_aud INTERNAL_API_TOKEN=$internal_token"
  else
    echo "AUTH_DISABLED=1"
  fi
}

# ---------------------------------------------------------------- services
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12000))   # below the kernel's ephemeral range (32768+)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port"
}
wait_health() { # wait_health PORT PID NAME -> 0 healthy, 1 exited (e.g. port taken meanwhile)
  for _ in $(seq 1 100); do
    if ! kill -0 "$2" 2>/dev/null; then wait "$2" 2>/dev/null || true; return 1; fi
    curl -fsS -m 1 "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "$3 not healthy after 20 s"
}
# ADMIN_PORT=0: no admin listener (two daemons on one host would collide on the default);
# no per-address limit: every load connection comes from 127.0.0.1.
start_services() { # start_services HTTP_THREADS POOL (three tries per service for a free port)
  local t=$1 p=$2 try
  for try in 1 2 3; do
    catalog_port=$(free_port)
    # shellcheck disable=SC2046
    env $(auth_env) DATABASE_URL="$db_url" PORT="$catalog_port" ADMIN_PORT=0 HOST=127.0.0.1 HTTP_THREADS="$t" \
      DB_POOL_SIZE="$p" LOG_LEVEL=warn HTTP_MAX_CONNECTIONS_PER_IP=0 CACHE_TTL_MS="$cache_ttl" \
      "$catalog_bin" >"$work/catalog.log" 2>&1 &
    catalog_pid=$!
    wait_health "$catalog_port" "$catalog_pid" catalog && break
    catalog_pid=""
    [ "$try" = 3 ] && { tail -20 "$work/catalog.log" >&2; die "catalog exited at start"; }
  done
  for try in 1 2 3; do
    order_port=$(free_port)
    while [ "$order_port" = "$catalog_port" ]; do order_port=$(free_port); done
    # shellcheck disable=SC2046
    env $(auth_env) DATABASE_URL="$db_url" PORT="$order_port" ADMIN_PORT=0 HOST=127.0.0.1 HTTP_THREADS="$t" \
      DB_POOL_SIZE="$p" LOG_LEVEL=warn HTTP_MAX_CONNECTIONS_PER_IP=0 \
      CATALOG_SERVICE_URL="http://127.0.0.1:$catalog_port" "$order_bin" >"$work/order.log" 2>&1 &
    order_pid=$!
    wait_health "$order_port" "$order_pid" order && break
    order_pid=""
    [ "$try" = 3 ] && { tail -20 "$work/order.log" >&2; die "order exited at start"; }
  done
  log "catalog pid $catalog_pid :$catalog_port, order pid $order_pid :$order_port (HTTP_THREADS=$t DB_POOL_SIZE=$p auth=$auth_mode)"
}
status_kb() { # status_kb PID FIELD -> kB value or 0
  local v=""
  if [ -n "$1" ] && [ -r "/proc/$1/status" ]; then
    v=$(awk -v f="$2:" '$1 == f {print $2; exit}' "/proc/$1/status" 2>/dev/null || true)
  fi
  echo "${v:-0}"
}
sample_rss() { # sample_rss SECONDS OUTFILE: max VmRSS (kB) of both services, every 0.25 s
  local n=$(( $1 * 4 )) c=0 o=0 v
  for _ in $(seq 1 "$n"); do
    v=$(status_kb "$catalog_pid" VmRSS); [ "$v" -gt "$c" ] && c=$v
    v=$(status_kb "$order_pid" VmRSS); [ "$v" -gt "$o" ] && o=$v
    sleep 0.25
  done
  echo "$c $o" >"$2"
}
run_id_next() { # a 0..999 id per wrk invocation, persisted, so POST /books ISBNs never repeat
  local f=$work/run-id n
  n=$(cat "$f" 2>/dev/null || echo 0)
  n=$(( (n + 1) % 1000 ))
  echo "$n" >"$f"
  echo "$n"
}
run_wrk() { # run_wrk SCRIPT PORT SECONDS -> the BENCH_RESULT line
  local tok="" ctok=""
  if [ "$auth_mode" = on ]; then tok=$bench_admin_token; ctok=$bench_customer_token; fi
  BENCH_TOKEN=$tok BENCH_CUSTOMER_TOKEN=$ctok BENCH_LUA_DIR=$root/bench BENCH_BOOKS=$books_max BENCH_STOCKED=$stocked BENCH_CUSTOMERS=$customers \
  BENCH_RUN_ID=$(run_id_next) BENCH_SEARCH=$search_term BENCH_AUTHOR=$author \
  BENCH_SEARCH_BIG=$search_big BENCH_AUTHOR_BIG=$author_big \
    timeout $(($3 + 60)) wrk -t "$wthreads" -c "$conns" -d "${3}s" --timeout 5s -s "$root/bench/$1" \
      "http://127.0.0.1:$2" 2>&1 | tee -a "$work/wrk.log" | grep '^BENCH_RESULT' || true
}
median() { # median V... (the middle value; the lower middle of an even count)
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
spread() { # spread V... -> "min-max"
  printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'
}
field() { # field LINE KEY
  echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {sub(/^[^=]*=/, ""); print; exit}'
}

: >"$work/wrk.log"
declare -a ROWS=()
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# measure_case NAME SCRIPT LABEL KIND SVC KEY: warm-up, BENCH_RUNS wrk runs with RSS sampling,
# the median and spread into R[KEY,*], and a row of the table.
measure_case() {
  local name=$1 script=$2 label=$3 kind=$4 svc=$5 k=$6 port run line sampler rss_c rss_o
  local -a vr vp50 vp99
  local errs sts max_c max_o
  port=$catalog_port; [ "$svc" = order ] && port=$order_port
  if [ "$warm" -gt 0 ]; then run_wrk "$script" "$port" "$warm" >/dev/null; fi
  vr=(); vp50=(); vp99=(); errs=0; sts=""; max_c=0; max_o=0
  for run in $(seq 1 "$runs"); do
    sample_rss "$secs" "$work/rss" &
    sampler=$!
    echo "=== $name threads=$t run=$run" >>"$work/wrk.log"
    line=$(run_wrk "$script" "$port" "$secs")
    wait "$sampler" || true
    read -r rss_c rss_o <"$work/rss"
    kill -0 "$catalog_pid" 2>/dev/null || { tail -20 "$work/catalog.log" >&2; die "catalog-service died during $name"; }
    kill -0 "$order_pid" 2>/dev/null || { tail -20 "$work/order.log" >&2; die "order-service died during $name"; }
    [ -n "$line" ] || { tail -20 "$work/wrk.log" >&2; die "wrk gave no result for $name"; }
    vr+=("$(field "$line" rps)"); vp50+=("$(field "$line" p50_ms)"); vp99+=("$(field "$line" p99_ms)")
    errs=$(( errs + $(field "$line" non2xx) + $(field "$line" sockerr) ))
    sts="$sts${sts:+ }$(field "$line" statuses)"
    [ "$rss_c" -gt "$max_c" ] && max_c=$rss_c
    [ "$rss_o" -gt "$max_o" ] && max_o=$rss_o
    [ "$runs" -gt 1 ] && log "  $name run $run: ${vr[-1]} req/s, p99 ${vp99[-1]} ms"
  done
  R[$k,rps]=$(median "${vr[@]}"); R[$k,p50]=$(median "${vp50[@]}"); R[$k,p99]=$(median "${vp99[@]}")
  R[$k,rps_spread]=$(spread "${vr[@]}"); R[$k,p99_spread]=$(spread "${vp99[@]}")
  R[$k,err]=$errs; R[$k,st]=$sts; R[$k,rssc]=$max_c; R[$k,rsso]=$max_o
  R[$k,label]=$label; R[$k,kind]=$kind
  ROWS+=("$k")
  log "$(printf '%-12s t=%-3s %9s req/s  p50 %7s ms  p99 %7s ms  errors %s  [%s]' "$name" "$t" \
    "${R[$k,rps]}" "${R[$k,p50]}" "${R[$k,p99]}" "${R[$k,err]}" "${R[$k,st]}")"
  if [ "${R[$k,err]}" != 0 ]; then log "  first non-2xx body: $(echo "$line" | sed 's/.* sample=//')"; fi
}

for t in $sweep; do
  pool=${pool_fixed:-$t}
  start_services "$t" "$pool"
  for c in "${CASES[@]}"; do
    IFS='|' read -r name script label kind svc <<<"$c"
    if [ -n "$only" ] && ! [[ " $only " == *" $name "* ]]; then continue; fi
    measure_case "$name" "$script" "$label" "$kind" "$svc" "$name@$t"
  done
  R[hwm@$t,c]=$(status_kb "$catalog_pid" VmHWM); R[hwm@$t,o]=$(status_kb "$order_pid" VmHWM)
  R[rss@$t,c]=$(status_kb "$catalog_pid" VmRSS); R[rss@$t,o]=$(status_kb "$order_pid" VmRSS)
  stop_services
done

# ---------------------------------------------------------------- read cache on
# The catalog's read cases again with the per-replica read cache on (CACHE_TTL_MS=$cache_on_ttl),
# at the first thread count; rows labelled "cache on". Skipped when the whole run already has
# the cache on (CACHE_TTL_MS > 0) or with BENCH_CACHE_PASS=0.
if [ "$cache_pass" = 1 ] && [ "$cache_ttl" = 0 ]; then
  t=${sweep%% *}; pool=${pool_fixed:-$t}
  cache_ttl=$cache_on_ttl
  start_services "$t" "$pool"
  for c in "${CASES[@]}"; do
    IFS='|' read -r name script label kind svc <<<"$c"
    case " $CACHE_CASES " in *" $name "*) ;; *) continue ;; esac
    if [ -n "$only" ] && ! [[ " $only " == *" $name "* ]]; then continue; fi
    measure_case "$name" "$script" "$label, cache on" "$kind" "$svc" "$name+cache@$t"
  done
  R[hwm+cache@$t,c]=$(status_kb "$catalog_pid" VmHWM)
  stop_services
  cache_ttl=0
fi

# ---------------------------------------------------------------- no-auth baseline
# The authenticated cases again, AUTH_DISABLED=1 and no tokens, at the first thread count.
declare -a AUTH_ROWS=()
if [ "${BENCH_AUTH_BASELINE:-1}" = 1 ]; then
  t=${sweep%% *}; pool=${pool_fixed:-$t}
  auth_mode=off
  start_services "$t" "$pool"
  for name in get_book post_order_customer; do
    if [ -n "$only" ] && ! [[ " $only " == *" $name "* ]]; then continue; fi
    script=$name.lua; port=$catalog_port; [ "$name" = post_order_customer ] && port=$order_port
    if [ "$warm" -gt 0 ]; then run_wrk "$script" "$port" "$warm" >/dev/null; fi
    echo "=== $name threads=$t AUTH_DISABLED=1" >>"$work/wrk.log"
    line=$(run_wrk "$script" "$port" "$secs")
    [ -n "$line" ] || die "wrk gave no result for $name (no auth)"
    k="$name~noauth@$t"
    R[$k,rps]=$(field "$line" rps); R[$k,p99]=$(field "$line" p99_ms)
    R[$k,err]=$(( $(field "$line" non2xx) + $(field "$line" sockerr) ))
    AUTH_ROWS+=("$name@$t")
    log "$(printf '%-12s t=%-3s %9s req/s  p99 %7s ms  errors %s  (AUTH_DISABLED=1)' "$name" "$t" \
      "${R[$k,rps]}" "${R[$k,p99]}" "${R[$k,err]}")"
  done
  stop_services
  auth_mode=on
fi
auth_table() {
  [ "${#AUTH_ROWS[@]}" -gt 0 ] || return 0
  echo "Authentication cost (same case with AUTH_DISABLED=1 and no token; target: ≥ 0.90):"
  echo
  echo "| case | threads | req/s with auth | req/s without | ratio | target |"
  echo "|---|---|---:|---:|---:|---|"
  local k name t a b
  for k in "${AUTH_ROWS[@]}"; do
    name=${k%@*}; t=${k#*@}; a=${R[$k,rps]:-}; b=${R["$name~noauth@$t",rps]:-}
    if [ -z "$a" ] || [ -z "$b" ]; then continue; fi
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$t" "$a" "$b" "$(ratio "$a" "$b")" \
      "$(awk -v a="$a" -v b="$b" 'BEGIN { print (a >= 0.9 * b ? "≥0.90: ok" : "≥0.90: MISS") }')"
  done
  echo
}

# ---------------------------------------------------------------- report
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { # ratio RPS BASE
  if [ -z "$2" ] || [ -z "$1" ]; then echo "-"; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; fi
}
verdict() { # verdict KEY: the target this row has and whether it is met
  local name=${1%@*} rps=${R[$1,rps]} p99=${R[$1,p99]} err=${R[$1,err]}
  case $name in
    get_book_hot+cache) [ -n "$pg_s_tps" ] || { echo "≥1.5x -S: n/a"; return; }
      awk -v a="$rps" -v b="$pg_s_tps" 'BEGIN { print (a >= 1.5 * b ? "≥1.5x -S: ok" : "≥1.5x -S: MISS") }' ;;
    get_book) [ -n "$pg_s_tps" ] || { echo "≥0.7x -S: n/a"; return; }
      awk -v a="$rps" -v b="$pg_s_tps" 'BEGIN { print (a >= 0.7 * b ? "≥0.7x -S: ok" : "≥0.7x -S: MISS") }' ;;
    put_book) [ -n "$pg_n_tps" ] || { echo "≥0.5x -N: n/a"; return; }
      awk -v a="$rps" -v b="$pg_n_tps" 'BEGIN { print (a >= 0.5 * b ? "≥0.5x -N: ok" : "≥0.5x -N: MISS") }' ;;
    list|search|author|sort)
      awk -v p="$p99" 'BEGIN { print (p <= 25 ? "p99≤25ms: ok" : "p99≤25ms: MISS") }' ;;
    search_big|author_big)
      awk -v p="$p99" 'BEGIN { print (p <= 50 ? "p99≤50ms: ok" : "p99≤50ms: MISS") }' ;;
    post_order)
      awk -v a="$rps" -v b="${pg_n_tps:-0}" -v p="$p99" -v e="$err" 'BEGIN {
        r = (b > 0 ? (a >= 0.4 * b ? "ok" : "MISS") : "n/a")
        printf "≥0.4x -N: %s; p99≤50ms: %s; 0 errors: %s\n", r, (p <= 50 ? "ok" : "MISS"), (e == 0 ? "ok" : "MISS") }' ;;
    *) echo "" ;;
  esac
}
table() {
  echo "| endpoint | threads/pool | req/s (median of $runs) | req/s spread | p50 ms | p99 ms | p99 spread | errors | ratio to pgbench | catalog RSS MB | order RSS MB | target |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  local k base label
  for k in "${ROWS[@]}"; do
    base=$pg_s_tps; [ "${R[$k,kind]}" = write ] && base=$pg_n_tps
    label=${R[$k,label]}
    label=${label//BIGTERM/$search_big}; label=${label//BIGAUTHOR/$author_big}
    label=${label//TERM/$search_term}; label=${label//AUTHOR/$author}
    local t=${k#*@}
    printf '| `%s` | %s/%s | %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s | %s |\n' "$label" "$t" "${pool_fixed:-$t}" \
      "${R[$k,rps]}" "${R[$k,rps_spread]}" "${R[$k,p50]}" "${R[$k,p99]}" "${R[$k,p99_spread]}" "${R[$k,err]}" "$(ratio "${R[$k,rps]}" "$base")" \
      "$([ "${R[$k,kind]}" = write ] && echo "-N" || echo "-S")" \
      "$(mb "${R[$k,rssc]}")" "$(mb "${R[$k,rsso]}")" "$(verdict "$k")"
  done
  if [ "$run_pgbench" = 1 ]; then
    printf '| `pgbench -S -M prepared` | %s clients | %s | | %s | %s | | %s | 1.00x | | | |\n' "$conns" "${R[pg_S,rps]}" "${R[pg_S,p50]}" "${R[pg_S,p99]}" "${R[pg_S,err]}"
    printf '| `pgbench -N -M prepared` | %s clients | %s | | %s | %s | | %s | 1.00x | | | |\n' "$conns" "${R[pg_N,rps]}" "${R[pg_N,p50]}" "${R[pg_N,p99]}" "${R[pg_N,err]}"
  fi
  echo
  local tt hw_c hw_o ok
  for tt in $sweep; do
    hw_c=${R[hwm@$tt,c]:-0}; hw_o=${R[hwm@$tt,o]:-0}
    ok=$(awk -v a="$hw_c" -v b="$hw_o" 'BEGIN { print (a <= 20480 && b <= 20480 ? "ok" : "MISS") }')
    echo "Peak RSS (VmHWM) after all cases, HTTP_THREADS=$tt: catalog $(mb "$hw_c") MB, order $(mb "$hw_o") MB (target ≤ 20 MB: $ok); VmRSS at the end: catalog $(mb "${R[rss@$tt,c]:-0}") MB, order $(mb "${R[rss@$tt,o]:-0}") MB."
  done
  tt=${sweep%% *}
  if [ -n "${R[hwm+cache@$tt,c]:-}" ]; then
    hw_c=${R[hwm+cache@$tt,c]}
    ok=$(awk -v a="$hw_c" 'BEGIN { print (a <= 20480 ? "ok" : "MISS") }')
    echo "Peak RSS of the catalog in the cache-on pass (CACHE_TTL_MS=$cache_on_ttl, the cache's memory included): $(mb "$hw_c") MB (target ≤ 20 MB: $ok)."
  fi
}
machine() {
  local cpu mem
  cpu=$(awk -F: '/^model name/ {sub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
  mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
  echo "- Date: $(date -u +%Y-%m-%dT%H:%MZ); commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "- Machine: $cpu, $(nproc) cores, $mem RAM, $(uname -sr)"
  echo "- $(psql "$admin_url" -X -tA -c 'SHOW server_version' | sed 's/^/PostgreSQL /') (shared_buffers $(psql "$admin_url" -X -tA -c 'SHOW shared_buffers'), fsync $(psql "$admin_url" -X -tA -c 'SHOW fsync'), synchronous_commit $(psql "$admin_url" -X -tA -c 'SHOW synchronous_commit')); $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
  echo "- Catalogue: $nbooks books (generator $(basename "$gen")); search term \`$search_term\` ($search_n matches), author \`$author\` ($author_n matches); ≥ 100,000-match terms: search \`$search_big\`, author \`$author_big\`"
  echo "- Load average before the services started: $load_before (should be near 0)"
  echo "- Load: wrk -t $wthreads -c $conns, $runs run(s) of ${secs} s per case after ${warm} s warm-up; pgbench -c $conns -j $wthreads -T $secs, scale 10; services LOG_LEVEL=warn, CACHE_TTL_MS=$cache_ttl, Release build"
}
report=$work/results.md
{
  echo "### Run of $(date -u +%Y-%m-%d)$([ "$quick" = 1 ] && echo ' (BENCH_QUICK)')"
  echo
  machine
  echo
  table
  echo
  auth_table
} >"$report"
echo
cat "$report"

if [ "$write_docs" = 1 ]; then
  doc=$root/docs/performance.md
  [ -f "$doc" ] || die "$doc missing"
  tmp=$(mktemp)
  awk -v rep="$report" '
    /^## Latest figures/ { print; print ""; while ((getline l < rep) > 0) print l; print ""; skip = 1; next }
    skip && /^## / { skip = 0 }
    !skip { print }' "$doc" >"$tmp"
  grep -q '^## Latest figures' "$tmp" || { printf '\n## Latest figures\n\n' >>"$tmp"; cat "$report" >>"$tmp"; }
  cat "$tmp" >"$doc"; rm -f "$tmp"
  log "docs/performance.md updated"
fi
log "done"
