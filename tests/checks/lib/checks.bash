# checks.bash - shared helpers for tests/checks/*.sh (sourced; ctest globs only tests/checks/*.sh,
# so this file is not a test of its own).
# shellcheck shell=bash

SOURCE_DIR=${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SOURCE_DIR/build}
CATALOG_BIN=${CATALOG_BIN:-$BUILD_DIR/catalog-service/catalog-service}
ORDER_BIN=${ORDER_BIN:-$BUILD_DIR/order-service/order-service}
TEST_TMPDIR=${TEST_TMPDIR:-$BUILD_DIR/test-tmp}
PG_SCRIPT=${PG_SCRIPT:-$SOURCE_DIR/scripts/pg.sh}
MIGRATIONS_DIR=${MIGRATIONS_DIR:-$SOURCE_DIR/db/migrations}
SEED_FILE=${SEED_FILE:-$SOURCE_DIR/db/seed/books.sql}
mkdir -p "$TEST_TMPDIR"
# One run of a check never shares a name with another run: two `make test`/ctest runs (other build
# folders, a CI clone, a second ctest in the same build folder) may run the same check at the same
# time on this machine, and podman names (containers, pods, secrets, volumes, image tags), databases
# and working files are machine- or folder-global. RUN_ID is unique per run; RUN_TMP is this run's
# private working folder (kept for diagnosis).
RUN_ID=${RUN_ID:-$$$(printf '%04x' $((RANDOM % 65536)))}
run_tmp() { RUN_TMP=$TEST_TMPDIR/$1-$RUN_ID; mkdir -p "$RUN_TMP"; }

check_failed=0
ok() { echo "PASS  $*"; }
bad() { echo "FAIL  $*"; check_failed=1; }
die() { echo "FAIL  $*"; exit 1; }
finish() { if [ "$check_failed" = 0 ]; then echo "all passed"; exit 0; else echo "some checks FAILED"; exit 1; fi; }

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((10000 + RANDOM % 22000)) # below the ephemeral range (32768+) used by outgoing connections
    port_taken "$p" || { echo "$p"; return; }
  done
  return 1
}
# wait_200 URL SECONDS: poll until URL answers 200; gives up SECONDS after the call (wall clock,
# however slow each poll is on a loaded machine).
wait_200() {
  local end=$(( $(date +%s) + $2 ))
  while :; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null)" = 200 ] && return 0
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.05
  done
}
# fresh_db NAME: a new empty database on the fixture PostgreSQL (TEST_PG_URL_FILE, else a private
# server under TEST_TMPDIR), set up like every bookstore database (scripts/db-setup.sh: the roles
# once per server, the database owned by bookstore_owner); prints the owner's URL (migrations,
# seed, assertions). db_role_urls NAME prints the DATABASE_URL_OWNER/_CATALOG/_ORDERS lines.
fresh_db() {
  local base name=$1
  if [ -n "${TEST_PG_URL_FILE:-}" ] && [ -s "$TEST_PG_URL_FILE" ]; then
    base=$(cat "$TEST_PG_URL_FILE")
  else
    base=$("$PG_SCRIPT" start "$TEST_TMPDIR/pg-$name") || return 1
  fi
  psql "$base" -qc "drop database if exists $name with (force)" >/dev/null 2>&1 || true
  "$SOURCE_DIR/scripts/db-setup.sh" database "$base" "$name" >/dev/null || return 1
  local env
  env=$(db_role_urls "$name") || return 1
  (eval "$env"; echo "$DATABASE_URL_OWNER")
}
db_role_urls() {
  local base
  if [ -n "${TEST_PG_URL_FILE:-}" ] && [ -s "$TEST_PG_URL_FILE" ]; then base=$(cat "$TEST_PG_URL_FILE")
  else base=$("$PG_SCRIPT" url "$TEST_TMPDIR/pg-$1") || return 1; fi
  "$SOURCE_DIR/scripts/db-setup.sh" urls "$base" "$1"
}
# drop_db NAME: drop a database fresh_db created (on the fixture server; a private one is stopped by
# its check).
drop_db() {
  local base
  if [ -n "${TEST_PG_URL_FILE:-}" ] && [ -s "$TEST_PG_URL_FILE" ]; then base=$(cat "$TEST_PG_URL_FILE")
  else base=$("$PG_SCRIPT" url "$TEST_TMPDIR/pg-$1" 2>/dev/null) || return 0; fi
  psql "$base" -qc "drop database if exists $1 with (force)" >/dev/null 2>&1 || true
}
# ensure_k8s_tools: the locked npm dependencies of tests/k8s (yaml, kubernetes-models, the
# @kubernetes-models CRD packages); installed again when the lockfile is newer than the install.
ensure_k8s_tools() {
  local kdir=$SOURCE_DIR/tests/k8s
  command -v node >/dev/null || { echo "FAIL  node is not installed (apt-get install nodejs npm)"; return 1; }
  if [ ! -d "$kdir/node_modules/kubernetes-models" ] || [ ! -d "$kdir/node_modules/yaml" ] ||
    [ ! -f "$kdir/node_modules/.package-lock.json" ] || [ "$kdir/package-lock.json" -nt "$kdir/node_modules/.package-lock.json" ]; then
    (cd "$kdir" && npm ci --no-audit --no-fund --loglevel=error) || { echo "FAIL  npm ci in tests/k8s failed"; return 1; }
  fi
}
# auth_dev_env: authentication on, the way `make run` does it (docs/auth.md): a per-run development
# key made by scripts/devkeys.sh in $RUN_TMP/auth (call run_tmp first), the daemons' environment
# exported (AUTH_JWKS, AUTH_ISSUER, AUTH_AUDIENCE, INTERNAL_API_TOKEN; daemons started afterwards
# inherit it), AUTH_DEV_KEYS so scripts/token.sh signs with that key, and ADMIN_TOKEN and
# CUSTOMER_TOKEN (customer@example.com) minted by scripts/token.sh. Never AUTH_DISABLED.
auth_dev_env() {
  local dir=$RUN_TMP/auth
  "$SOURCE_DIR/scripts/devkeys.sh" "$dir" 2>/dev/null || { echo "FAIL  scripts/devkeys.sh $dir failed"; return 1; }
  export AUTH_DEV_KEYS=$dir AUTH_JWKS=$dir/jwks.json
  export AUTH_ISSUER=${AUTH_ISSUER:-http://localhost/dev} AUTH_AUDIENCE=${AUTH_AUDIENCE:-bookstore}
  export INTERNAL_API_TOKEN=${INTERNAL_API_TOKEN:-$(openssl rand -hex 24)}
  unset AUTH_DISABLED
  ADMIN_TOKEN=$("$SOURCE_DIR/scripts/token.sh" --role admin) || return 1
  CUSTOMER_TOKEN=$("$SOURCE_DIR/scripts/token.sh" --role customer --email customer@example.com) || return 1
  export ADMIN_TOKEN CUSTOMER_TOKEN
}
