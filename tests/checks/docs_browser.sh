#!/usr/bin/env bash
# docs_browser.sh - the API docs pages in a real browser. Starts catalog-service (BASE_PATH=/catalog,
# as in the cluster) and order-service on a fresh seeded database (free loopback ports), places one
# order, then opens both docs pages (/catalog/docs, /orders/docs) in
# Debian's headless Chromium through tests/browser/docs_page.mjs (puppeteer-core, locked in
# tests/package-lock.json): every host but 127.0.0.1 fails to resolve, the operation list must
# render, and "Try it out" + "Execute" on GET /books and GET /orders must show a 200 with a
# non-empty list; GET /books anonymously (public), GET /orders after entering an admin token
# (scripts/token.sh, a per-run dev key) in the page's Authorize dialog. Screenshots are kept in $BUILD_DIR/artifacts/ (docs-catalog.png, docs-orders.png).
# DOCS_PAGE_URL (+ DOCS_ORDERS_PAGE_URL) point the browser at other pages instead, e.g. through
# the local nginx ingress (then nothing is started here; DOCS_ORDERS_TOKEN is then the bearer
# token for GET /orders, default an admin token minted with AUTH_DEV_KEYS, e.g. <cluster dir>/auth;
# DOCS_SHOT_PREFIX names the screenshots, default docs). tests/checks/cluster.sh runs it so.
set -uo pipefail
. "$(dirname "$0")/lib/checks.bash"

command -v node >/dev/null || die "node is not installed (apt-get install nodejs npm)"
[ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null \
  || die "chromium is not installed (scripts/bootstrap.sh installs it)"
tdir=$SOURCE_DIR/tests
if [ ! -d "$tdir/node_modules/puppeteer-core" ]; then
  (cd "$tdir" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) \
    || die "npm ci in tests/ failed"
fi
for b in "$CATALOG_BIN" "$ORDER_BIN"; do [ -x "$b" ] || die "$b not built"; done
run_tmp docs-browser
artifacts=$BUILD_DIR/artifacts
mkdir -p "$artifacts"

pids=()
db=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "$db" ] && drop_db "$db"
}
trap cleanup EXIT

if [ -n "${DOCS_PAGE_URL:-}" ]; then
  catalog_page=$DOCS_PAGE_URL
  orders_page=${DOCS_ORDERS_PAGE_URL:-}
  if [ -n "$orders_page" ] && [ -z "${DOCS_ORDERS_TOKEN:-}" ]; then
    DOCS_ORDERS_TOKEN=$("$SOURCE_DIR/scripts/token.sh" --role admin) || die "set DOCS_ORDERS_TOKEN or AUTH_DEV_KEYS"
  fi
else
  auth_dev_env || die "no development key"
  DOCS_ORDERS_TOKEN=$ADMIN_TOKEN
  db=docs_browser_$RUN_ID
  url=$(fresh_db "$db") || die "cannot create database $db"   # the owner's URL
  roles=$(db_role_urls "$db") || die "no role URLs for $db"
  catalog_url=$(eval "$roles"; echo "$DATABASE_URL_CATALOG")
  orders_url=$(eval "$roles"; echo "$DATABASE_URL_ORDERS")
  DATABASE_URL=$url MIGRATIONS_DIR=$MIGRATIONS_DIR "$CATALOG_BIN" --migrate >"$RUN_TMP/migrate.log" 2>&1 \
    || { cat "$RUN_TMP/migrate.log"; die "--migrate failed"; }
  psql "$url" -qf "$SEED_FILE" >/dev/null || die "seeding failed"
  cport=$(free_port) && oport=$(free_port) || die "no free port"
  # As in the cluster: the catalog's public routes under BASE_PATH=/catalog.
  DATABASE_URL=$catalog_url MIGRATIONS_DIR=$MIGRATIONS_DIR PORT=$cport ADMIN_PORT=0 BASE_PATH=/catalog \
    "$CATALOG_BIN" \
    >"$RUN_TMP/catalog.log" 2>&1 &
  pids+=($!)
  DATABASE_URL=$orders_url MIGRATIONS_DIR=$MIGRATIONS_DIR PORT=$oport ADMIN_PORT=0 \
    CATALOG_SERVICE_URL=http://127.0.0.1:$cport \
    CATALOG_BASE_PATH=/catalog "$ORDER_BIN" >"$RUN_TMP/order.log" 2>&1 &
  pids+=($!)
  wait_200 "http://127.0.0.1:$cport/ready" 20 || die "catalog-service not ready (see $RUN_TMP/catalog.log)"
  wait_200 "http://127.0.0.1:$oport/ready" 20 || die "order-service not ready (see $RUN_TMP/order.log)"
  code=$(curl -s -o "$RUN_TMP/order.json" -w '%{http_code}' -X POST "http://127.0.0.1:$oport/orders" \
    -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    -d '{"book_id":1,"customer_name":"Ada Lovelace","customer_email":"ada@example.com","quantity":1}')
  [ "$code" = 201 ] || die "POST /orders answered $code: $(cat "$RUN_TMP/order.json")"
  catalog_page=http://127.0.0.1:$cport/catalog/docs
  # The whole (small) catalogue: the page must not send the document's example filters.
  catalog_min=$(psql "$url" -Atc 'select count(*) from books') || die "cannot count the books"
  orders_page=http://127.0.0.1:$oport/orders/docs
fi

args=(--page "$catalog_page" --op /books --min-items "${catalog_min:-1}" --shot "$artifacts/${DOCS_SHOT_PREFIX:-docs}-catalog.png")
[ -n "$orders_page" ] && args+=(--page "$orders_page" --op /orders --shot "$artifacts/${DOCS_SHOT_PREFIX:-docs}-orders.png" --token-env DOCS_ORDERS_TOKEN)
export DOCS_ORDERS_TOKEN
if (cd "$tdir" && timeout 180 node browser/docs_page.mjs "${args[@]}"); then
  ok "docs pages work in headless Chromium with no host but 127.0.0.1"
else
  bad "docs pages in the browser (see the FAIL lines above; screenshots in $artifacts)"
fi
finish
