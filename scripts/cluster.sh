#!/usr/bin/env bash
# cluster.sh - the Kubernetes deployment in miniature, as processes on loopback (no containers).
#
#   scripts/cluster.sh up                 PostgreSQL (private, unless DATABASE_URL* is set), migrations,
#                                         seed, CATALOG_REPLICAS x catalog-service and ORDER_REPLICAS x
#                                         order-service (default 2 each) on free loopback ports, nginx on
#                                         127.0.0.1:$CLUSTER_PORT (8080) routing exactly the public routes
#                                         of deploy/public-routes.txt (deploy/nginx/), and Prometheus when
#                                         scripts/prometheus.sh exists (targets: every admin port)
#   scripts/cluster.sh down [--purge]     stops everything by PID (--purge also deletes the data)
#   scripts/cluster.sh status             replicas, ports, PIDs, readiness
#   scripts/cluster.sh restart-rolling    for each replica in turn: remove it from nginx (the
#                                         endpoint removal + preStop delay), SIGTERM, wait, start a new
#                                         process on the same port, wait for /ready, add it back
#   scripts/cluster.sh scale SVC N        N replicas of SVC (catalog|order): new ones start and join
#                                         once ready; removed ones are drained first, then stopped
#   scripts/cluster.sh reload             re-render nginx.conf (routes, CLUSTER_LIMIT_RPS) and reload
#   scripts/cluster.sh kill SVC N         SIGKILL replica N of SVC (catalog|order)   [tests]
#   scripts/cluster.sh start SVC N        (re)start replica N of SVC                  [tests]
#   scripts/cluster.sh manifest-env SVC   print the KEY=VALUE settings the manifests give SVC
#                                         (k8s/base/<svc>.env, or k8s/configmap.yaml)
#   scripts/cluster.sh render-nginx DIR   write a sample DIR/nginx.conf (+ json-errors.conf) from the
#                                         template and the route list, for `nginx -t` in checks
#
# The edge (public server, CLUSTER_PORT) routes only deploy/public-routes.txt, without rewriting
# paths: the catalog serves its public API under BASE_PATH=/catalog itself. Everything else, the
# internal routes included, is a JSON 404; nginx's own errors are JSON too (deploy/nginx/).
# Order replicas reach the catalog through a second nginx server on another loopback port (the
# "catalog Service": every catalog path, reservations included, never published), so the closed
# perimeter does not break orders. Each replica gets exactly the variables the Kubernetes manifests
# set (ConfigMap values + its role's DATABASE_URL), with PORT, ADMIN_PORT (its own per process), HOST
# (127.0.0.1), BASE_PATH (catalog), CATALOG_SERVICE_URL and CATALOG_BASE_PATH (order) adapted.
# Probes use the admin port.
# State lives in $CLUSTER_DIR (default .cluster/): pids/, ports/, logs/, nginx.conf, pg/, prometheus/.
# Database: a private PostgreSQL under $DIR/pg set up by scripts/db-setup.sh (migrations and seed
# as bookstore_owner, catalog replicas as catalog_app, order replicas as orders_app), or another
# server's DATABASE_URL_OWNER + DATABASE_URL_CATALOG + DATABASE_URL_ORDERS, or one DATABASE_URL for
# everything (development only).
# Environment: CLUSTER_DIR, CLUSTER_PORT, CATALOG_REPLICAS, ORDER_REPLICAS, DATABASE_URL[_OWNER,
# _CATALOG, _ORDERS], BUILD_DIR,
# CATALOG_BIN, ORDER_BIN, CLUSTER_LIMIT_RPS (nginx rate limit per client IP, default 1000 with
# bursts of 5x; 0 disables), CLUSTER_SEED (0 skips seeding), CLUSTER_PROMETHEUS (0: do not start
# Prometheus), DRAIN_DELAY_S (default 1), READY_TIMEOUT_S (how long a starting replica may take to
# answer /ready, default 90), STOP_TIMEOUT_S (SIGTERM -> SIGKILL, default 20), ROUTES_FILE.
# Every wait is bounded by wall-clock time, so a slow (heavily loaded) machine only makes it slower.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${CLUSTER_DIR:-$ROOT/.cluster}
PORT=${CLUSTER_PORT:-8080}
CATALOG_REPLICAS=${CATALOG_REPLICAS:-2}
ORDER_REPLICAS=${ORDER_REPLICAS:-2}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
CATALOG_BIN=${CATALOG_BIN:-$BUILD_DIR/catalog-service/catalog-service}
ORDER_BIN=${ORDER_BIN:-$BUILD_DIR/order-service/order-service}
SEED_FILE=${SEED_FILE:-$ROOT/db/seed/books.sql}
DRAIN_DELAY_S=${DRAIN_DELAY_S:-1}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-90}
STOP_TIMEOUT_S=${STOP_TIMEOUT_S:-20}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
ROUTES_FILE=${ROUTES_FILE:-$ROOT/deploy/public-routes.txt}
NGINX_TEMPLATE=$ROOT/deploy/nginx/bookstore.conf.tmpl
NGINX_ERRORS=$ROOT/deploy/nginx/json-errors.conf
PROMETHEUS_SH=$ROOT/scripts/prometheus.sh

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: $*" >&2; exit 1; }

bin_of() { case $1 in catalog) echo "$CATALOG_BIN" ;; order) echo "$ORDER_BIN" ;; *) die "unknown service $1" ;; esac; }
replicas_of() { case $1 in catalog) echo "$CATALOG_REPLICAS" ;; order) echo "$ORDER_REPLICAS" ;; esac; }

# The settings the ConfigMap gives a service, printed as KEY=VALUE: the configMapGenerator env file
# k8s/base/<catalog|orders>.env (plain KEY=VALUE lines), or, in the older layout, the `data:` entries
# of ConfigMap <svc>-config in k8s/configmap.yaml.
manifest_env() {
  local envfile
  case $1 in catalog) envfile=$ROOT/k8s/base/catalog.env ;; order) envfile=$ROOT/k8s/base/orders.env ;;
    *) die "unknown service $1" ;; esac
  if [ -f "$envfile" ]; then
    grep -E '^[A-Z][A-Z0-9_]*=' "$envfile" || true
    return 0
  fi
  [ -f "$ROOT/k8s/configmap.yaml" ] || die "neither $envfile nor k8s/configmap.yaml found"
  awk -v want="$1-config" '
    /^---/ { in_cm = 0; in_data = 0; name = "" }
    /^kind: ConfigMap/ { in_cm = 1 }
    /^  name: / { name = $2 }
    /^data:/ { in_data = 1; next }
    /^[^ #]/ && !/^data:/ { in_data = 0 }
    in_cm && in_data && name == want && /^  [A-Z][A-Z0-9_]*: / {
      key = $1; sub(/:$/, "", key)
      val = $0; sub(/^  [A-Z][A-Z0-9_]*: */, "", val); gsub(/^"|"$/, "", val)
      print key "=" val
    }' "$ROOT/k8s/configmap.yaml"
}

# Pid files hold "PID STARTTIME" (STARTTIME: field 22 of /proc/PID/stat, clock ticks since boot).
# The pair identifies one process for its whole life: a recycled PID has another start time, and
# unlike /proc/PID/exe it stays valid when the binary is rebuilt while the process runs (exe then
# reads "... (deleted)"), so `down` never loses track of a replica.
proc_start() { # PID -> start time, empty if no such process (or a zombie)
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  st=${st##*) } # fields after "(comm) "; comm may contain spaces
  # shellcheck disable=SC2086
  set -- $st
  [ "$1" != Z ] && echo "${20}"
}
record_pid() { echo "$1 $(proc_start "$1")" >"$2.tmp" && mv "$2.tmp" "$2"; }
# pidfile_alive FILE: the process recorded in FILE is still running.
pidfile_alive() {
  local pid st
  [ -f "$1" ] || return 1
  read -r pid st <"$1" || true
  [ -n "$pid" ] && [ -n "$st" ] && [ "$(proc_start "$pid")" = "$st" ]
}
pidfile_pid() { local pid _st; read -r pid _st <"$1" 2>/dev/null && echo "$pid"; }

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((10000 + RANDOM % 22000)) # below the ephemeral range (32768+) used by outgoing connections
    if ! port_taken "$p" && ! grep -qx "$p" "$DIR"/ports/* 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port"
}

wait_http() { # URL TIMEOUT_S -> 0 once it answers 200
  local url=$1 t=$2
  for _ in $(seq 1 $((t * 10))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null)" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}

# database_url [catalog|order]: the owner's URL (migrations, seed), or the service's own role's.
database_url() { cat "$DIR/database_url${1:+.$1}"; }

# Ports: ports/SVC-N (API), ports/SVC-N.admin (admin listener: /health, /ready, /metrics),
# ports/internal (the internal "catalog Service" server of nginx).
api_port() { cat "$DIR/ports/$1-$2"; }
admin_port() { cat "$DIR/ports/$1-$2.admin"; }
internal_port() { cat "$DIR/ports/internal"; }
assign_ports() { # SVC N: fresh API and admin ports for replica N
  free_port >"$DIR/ports/$1-$2.tmp" && mv "$DIR/ports/$1-$2.tmp" "$DIR/ports/$1-$2"
  free_port >"$DIR/ports/$1-$2.admin.tmp" && mv "$DIR/ports/$1-$2.admin.tmp" "$DIR/ports/$1-$2.admin"
}

start_replica() { # SVC N
  local svc=$1 n=$2 bin port aport pid envs=() attempt logf off end
  bin=$(bin_of "$svc")
  logf=$DIR/logs/$svc-$n.log
  if pidfile_alive "$DIR/pids/$svc-$n"; then
    log "$svc-$n already running"; return 0
  fi
  [ -f "$DIR/ports/$svc-$n" ] && [ -f "$DIR/ports/$svc-$n.admin" ] || assign_ports "$svc" "$n"
  while IFS= read -r kv; do
    # Set below for loopback. AUTH_JWKS: the manifests name the production identity provider; the
    # local cluster provides its own keys (access-control issue: dev JWKS under $DIR).
    case $kv in PORT=*|ADMIN_PORT=*|HOST=*|BASE_PATH=*|DATABASE_URL=*|CATALOG_SERVICE_URL=*|CATALOG_BASE_PATH=*|AUTH_JWKS=*) ;;
      *) envs+=("$kv") ;; esac
  done < <(manifest_env "$svc")
  envs+=("DATABASE_URL=$(database_url "$svc")" "HOST=127.0.0.1")
  # The edge routes /catalog/... unchanged: the catalog must serve its public API there.
  if [ "$svc" = catalog ]; then envs+=("BASE_PATH=/catalog"); fi
  # Orders: reservations on the internal path at its root, book reads under the catalog's BASE_PATH.
  if [ "$svc" = order ]; then envs+=("CATALOG_SERVICE_URL=http://127.0.0.1:$(internal_port)" "CATALOG_BASE_PATH=/catalog"); fi
  # Authentication (docs/auth.md): dev keys and an internal token under $DIR (kept; mint tokens
  # with AUTH_DEV_KEYS=$DIR/auth scripts/token.sh). Later entries win over the manifests' values.
  "$ROOT/scripts/devkeys.sh" "$DIR/auth" >/dev/null
  [ -s "$DIR/internal-token" ] || (umask 077 && openssl rand -hex 32 >"$DIR/internal-token")
  envs+=("AUTH_JWKS=$DIR/auth/jwks.json" "AUTH_ISSUER=${AUTH_ISSUER:-http://localhost/dev}"
         "AUTH_AUDIENCE=${AUTH_AUDIENCE:-bookstore}" "INTERNAL_API_TOKEN=$(cat "$DIR/internal-token")")
  for attempt in 1 2 3; do
    port=$(api_port "$svc" "$n")
    aport=$(admin_port "$svc" "$n")
    off=$(stat -c %s "$logf" 2>/dev/null || echo 0)
    # setsid: own session, so a Ctrl-C in the terminal that ran `make up` does not reach it.
    env -i PATH="$PATH" "${envs[@]}" PORT="$port" ADMIN_PORT="$aport" setsid "$bin" >>"$logf" 2>&1 </dev/null &
    pid=$!
    record_pid "$pid" "$DIR/pids/$svc-$n"
    end=$(( $(date +%s) + READY_TIMEOUT_S ))
    while :; do
      [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$aport/ready" 2>/dev/null)" = 200 ] && return 0
      pidfile_alive "$DIR/pids/$svc-$n" || break
      [ "$(date +%s)" -lt "$end" ] || break
      sleep 0.1
    done
    if pidfile_alive "$DIR/pids/$svc-$n"; then
      tail -5 "$logf" >&2
      # Leave nothing half-started behind: the caller (and `down`) must not find a stray process.
      stop_pid "$DIR/pids/$svc-$n" KILL 5
      die "$svc-$n (pid $pid, port $port, admin port $aport) not ready after $READY_TIMEOUT_S s"
    fi
    wait "$pid" 2>/dev/null || true
    # Another program took a port between our check and the bind: move this replica.
    if tail -c +"$((off + 1))" "$logf" | grep -qi 'in use'; then
      log "$svc-$n: port $port or $aport taken meanwhile (attempt $attempt), picking others"
      rm -f "$DIR/ports/$svc-$n" "$DIR/ports/$svc-$n.admin"
      assign_ports "$svc" "$n"
      write_nginx_conf
      if nginx_running; then nginx_reload; fi
      prom_targets
      continue
    fi
    tail -c +"$((off + 1))" "$logf" | tail -5 >&2
    die "$svc-$n exited at start"
  done
  die "$svc-$n: no usable port after 3 attempts"
}

# wait_gone PIDFILE SECONDS: 0 once the recorded process has exited.
wait_gone() {
  local end=$(( $(date +%s) + $2 ))
  while pidfile_alive "$1"; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.1
  done
}
stop_pid() { # PIDFILE SIGNAL TIMEOUT_S: signal, wait, SIGKILL after TIMEOUT_S; 1 if it survives
  local f=$1 sig=$2 t=$3 pid
  [ -f "$f" ] || return 0
  pid=$(pidfile_pid "$f")
  if pidfile_alive "$f"; then
    kill "-$sig" "$pid" 2>/dev/null || true
    if ! wait_gone "$f" "$t"; then
      log "pid $pid did not stop after ${t}s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$f" 10 || { log "pid $pid survives SIGKILL"; return 1; }
    fi
  fi
  rm -f "$f"
}

# routes_block: the nginx locations for deploy/public-routes.txt ("<service> <match> <path>" lines,
# `#` comments). prefix /p -> `location = /p` + `location /p/`; exact /p -> `location = /p`. No
# rewrite: the path reaches the service as the client sent it.
routes_block() {
  local line svc match path extra up no=0 count=0
  [ -f "$ROUTES_FILE" ] || die "route list $ROUTES_FILE not found"
  while IFS= read -r line || [ -n "$line" ]; do
    no=$((no + 1))
    line=${line%%#*}
    read -r svc match path extra <<<"$line" || true
    [ -n "${svc:-}" ] || continue
    [ -z "${extra:-}" ] && [ -n "${path:-}" ] || die "$ROUTES_FILE:$no: expected '<service> <match> <path>'"
    case $svc in catalog) up=catalog_service ;; orders) up=order_service ;;
      *) die "$ROUTES_FILE:$no: unknown service '$svc' (catalog|orders)" ;; esac
    [[ $path =~ ^(/[A-Za-z0-9._~-]+)+$ ]] || die "$ROUTES_FILE:$no: bad path '$path'"
    case $match in
      prefix)
        printf '        location = %s {\n            proxy_pass http://%s;\n        }\n' "$path" "$up"
        printf '        location %s/ {\n            proxy_pass http://%s;\n        }\n' "$path" "$up" ;;
      exact)
        printf '        location = %s {\n            proxy_pass http://%s;\n        }\n' "$path" "$up" ;;
      *) die "$ROUTES_FILE:$no: unknown match '$match' (prefix|exact)" ;;
    esac
    count=$((count + 1))
  done <"$ROUTES_FILE"
  [ "$count" -gt 0 ] || die "$ROUTES_FILE: no routes"
}

# render_nginx OUT_DIR EDGE_PORT INTERNAL_PORT RPS CATALOG_SERVERS ORDER_SERVERS: writes
# OUT_DIR/nginx.conf.tmp (and json-errors.conf) from the template and the route list.
render_nginx() {
  local out=$1 port=$2 iport=$3 rps=$4 cat_servers=$5 ord_servers=$6 limits routes
  if [ "${rps:-0}" = 0 ]; then
    limits="        # rate limiting disabled (CLUSTER_LIMIT_RPS=0)"
    rps=1
  else
    limits="        limit_req zone=bookstore_rps burst=$((rps * 5)) nodelay;"$'\n'"        limit_conn bookstore_conn 200;"
  fi
  routes=$(routes_block) || exit 1
  cp "$NGINX_ERRORS" "$out/json-errors.conf"
  awk -v dir="$out" -v port="$port" -v iport="$iport" -v rps="$rps" -v cat="$cat_servers" \
      -v ord="$ord_servers" -v lim="$limits" -v routes="$routes" '
    { gsub(/@DIR@/, dir); gsub(/@PORT@/, port); gsub(/@INTERNAL_PORT@/, iport); gsub(/@LIMIT_RPS@/, rps) }
    /^@CATALOG_SERVERS@$/ { printf "%s", cat; next }
    /^@ORDER_SERVERS@$/ { printf "%s", ord; next }
    /^@LIMITS@$/ { print lim; next }
    /^@ROUTES@$/ { print routes; next }
    { print }' "$NGINX_TEMPLATE" >"$out/nginx.conf.tmp"
}

# Writes $DIR/nginx.conf; replicas listed in $DIR/drained are marked `down`. The rate limit is
# CLUSTER_LIMIT_RPS when set, else the one `up` recorded.
write_nginx_conf() {
  local svc n servers port mark cat_servers="" ord_servers="" rps
  for svc in catalog order; do
    servers=""
    for n in $(seq 1 "$(cat "$DIR/replicas-$svc")"); do
      port=$(api_port "$svc" "$n")
      mark=""
      grep -qx "$svc-$n" "$DIR/drained" 2>/dev/null && mark=" down"
      servers+="        server 127.0.0.1:$port max_fails=1 fail_timeout=2s$mark;"$'\n'
    done
    if [ "$svc" = catalog ]; then cat_servers=$servers; else ord_servers=$servers; fi
  done
  rps=${CLUSTER_LIMIT_RPS:-$(cat "$DIR/limit-rps" 2>/dev/null || echo 1000)}
  echo "$rps" >"$DIR/limit-rps"
  render_nginx "$DIR" "$PORT" "$(internal_port)" "$rps" "$cat_servers" "$ord_servers"
  "$NGINX" -t -q -p "$DIR" -c "$DIR/nginx.conf.tmp" 2>&1 | grep -v 'nginx.pid\|^$' >&2 || true
  mv "$DIR/nginx.conf.tmp" "$DIR/nginx.conf"
}

nginx_master() { [ -f "$DIR/nginx.pid" ] && cat "$DIR/nginx.pid"; }
nginx_running() { local m; m=$(nginx_master) && [ -n "$m" ] && [ -n "$(proc_start "$m")" ]; }
# nginx_workers: PIDs of the master's children (the worker processes).
nginx_workers() {
  local m p
  m=$(nginx_master) || return 0
  [ -n "$m" ] || return 0
  pgrep -P "$m" 2>/dev/null || true
}
# nginx_reload: load the new configuration and return only once every worker of the old
# configuration has exited, i.e. no request can be routed by the old upstream list any more (the
# endpoint removal is complete, like ingress-nginx having applied an Endpoints change). Old workers
# finish their in-flight requests first. Bounded: RELOAD_TIMEOUT_S (default 30).
nginx_reload() {
  local old p end=$(( $(date +%s) + ${RELOAD_TIMEOUT_S:-30} ))
  old=$(nginx_workers)
  "$NGINX" -p "$DIR" -c "$DIR/nginx.conf" -s reload
  for p in $old; do
    while [ -e "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ]; do
      if [ "$(date +%s)" -ge "$end" ]; then log "nginx worker $p of the old configuration still running"; return 0; fi
      sleep 0.05
    done
  done
}

ensure_binaries() {
  if [ ! -x "$CATALOG_BIN" ] || [ ! -x "$ORDER_BIN" ]; then
    log "building the daemons in $BUILD_DIR"
    cmake -S "$ROOT" -B "$BUILD_DIR" >/dev/null
    cmake --build "$BUILD_DIR" --target catalog-service order-service -j"$(nproc)" >/dev/null
  fi
  if [ ! -x "$CATALOG_BIN" ] || [ ! -x "$ORDER_BIN" ]; then die "daemons not found: $CATALOG_BIN $ORDER_BIN"; fi
  [ -x "$NGINX" ] || die "nginx not found (apt-get install nginx-light)"
  command -v psql >/dev/null || die "psql not found (apt-get install postgresql-client)"
}

# ---- Prometheus hook (observability issue; scripts/prometheus.sh, when present) --------------------
# cluster.sh owns the targets: every replica's admin port, one file-SD file per service,
# $DIR/prometheus/targets/<svc>-service.json (labels job=<svc>-service, pod=<svc>-service-<N>),
# rewritten atomically whenever replicas or ports change (up, scale, a replica moved to another
# port); Prometheus re-reads them by itself. The script's interface:
#   scripts/prometheus.sh start DIR            start it (or find it running); prints its URL
#   scripts/prometheus.sh sd FILE HOST:PORT... write one service's targets file
#   scripts/prometheus.sh stop DIR             stop it by PID
# Without the script the same files are written here (nothing scrapes them). CLUSTER_PROMETHEUS=0
# does not start Prometheus.
prom_dir() { echo "$DIR/prometheus"; }
prom_enabled() { [ "${CLUSTER_PROMETHEUS:-1}" != 0 ] && [ -x "$PROMETHEUS_SH" ]; }
prom_targets() {
  local svc n t file sep out targets
  [ -f "$DIR/replicas-catalog" ] || return 0
  mkdir -p "$(prom_dir)/targets"
  for svc in catalog order; do
    targets=()
    for n in $(seq 1 "$(cat "$DIR/replicas-$svc")"); do
      [ -f "$DIR/ports/$svc-$n.admin" ] && targets+=("127.0.0.1:$(admin_port "$svc" "$n")")
    done
    file=$(prom_dir)/targets/$svc-service.json
    if [ -x "$PROMETHEUS_SH" ]; then
      "$PROMETHEUS_SH" sd "$file" "${targets[@]}" || log "prometheus.sh sd $file failed"
      continue
    fi
    out="[" sep="" n=0
    for t in "${targets[@]}"; do
      n=$((n + 1))
      out+="$sep"$'\n'"  {\"targets\": [\"$t\"], \"labels\": {\"job\": \"$svc-service\", \"pod\": \"$svc-service-$n\"}}"
      sep=","
    done
    printf '%s\n]\n' "$out" >"$file.tmp"
    mv "$file.tmp" "$file"
  done
}
prom_start() { # prints the URL (empty without Prometheus)
  prom_enabled || return 0
  local url
  url=$("$PROMETHEUS_SH" start "$(prom_dir)" | tail -1) || { log "prometheus.sh start failed (see $(prom_dir))"; return 0; }
  touch "$(prom_dir)/started"
  echo "$url" >"$(prom_dir)/url"
  echo "$url"
}
prom_stop() {
  [ -f "$(prom_dir)/started" ] || return 0
  if [ -x "$PROMETHEUS_SH" ]; then "$PROMETHEUS_SH" stop "$(prom_dir)" >&2 || return 1; fi
  rm -f "$(prom_dir)/started" "$(prom_dir)/url"
}
# ---- end Prometheus hook -----------------------------------------------------------------------------

cmd_up() {
  ensure_binaries
  if nginx_running; then die "already up (scripts/cluster.sh down first)"; fi
  mkdir -p "$DIR/pids" "$DIR/ports" "$DIR/logs" "$DIR/nginx-tmp"
  rm -f "$DIR/drained" "$DIR/ports/"* "$DIR/limit-rps"
  echo "$CATALOG_REPLICAS" >"$DIR/replicas-catalog"
  echo "$ORDER_REPLICAS" >"$DIR/replicas-order"

  local url base n svc prom_url db_env
  # Database roles as in Kubernetes: migrations and seed as the owner, each service as its own
  # login role (DECISIONS "Roles and secrets"). A single DATABASE_URL: everything as that user
  # (development only).
  if [ -n "${DATABASE_URL_OWNER:-}" ] && [ -n "${DATABASE_URL_CATALOG:-}" ] && [ -n "${DATABASE_URL_ORDERS:-}" ]; then
    rm -f "$DIR/pg-owned"
  elif [ -n "${DATABASE_URL:-}" ]; then
    DATABASE_URL_OWNER=$DATABASE_URL DATABASE_URL_CATALOG=$DATABASE_URL DATABASE_URL_ORDERS=$DATABASE_URL
    rm -f "$DIR/pg-owned"
    log "single DATABASE_URL: every process runs as its user (development only)"
  else
    base=$("$ROOT/scripts/pg.sh" start "$DIR/pg")
    touch "$DIR/pg-owned"
    db_env=$("$ROOT/scripts/db-setup.sh" database "$base" bookstore) || die "database setup failed"
    eval "$db_env"
  fi
  echo "$DATABASE_URL_OWNER" >"$DIR/database_url"
  echo "$DATABASE_URL_CATALOG" >"$DIR/database_url.catalog"
  echo "$DATABASE_URL_ORDERS" >"$DIR/database_url.order"
  url=$(database_url)
  log "database $url (catalog: $(database_url catalog), orders: $(database_url order))"
  env -i PATH="$PATH" DATABASE_URL="$url" MIGRATIONS_DIR="$ROOT/db/migrations" "$CATALOG_BIN" --migrate \
    >>"$DIR/logs/migrate.log" 2>&1 || { tail -5 "$DIR/logs/migrate.log" >&2; die "migration failed"; }
  if [ "${CLUSTER_SEED:-1}" != 0 ] && [ -f "$SEED_FILE" ] &&
    [ "$(psql "$url" -Atc 'select count(*) from books')" = 0 ]; then
    psql "$url" -q -v ON_ERROR_STOP=1 -f "$SEED_FILE" >/dev/null || die "seed failed"
    log "seeded from $SEED_FILE"
  fi

  port_taken "$PORT" && die "127.0.0.1:$PORT is in use (set CLUSTER_PORT)"
  echo "$PORT" >"$DIR/ports/edge"
  free_port >"$DIR/ports/internal.tmp" && mv "$DIR/ports/internal.tmp" "$DIR/ports/internal"
  for svc in catalog order; do
    for n in $(seq 1 "$(replicas_of "$svc")"); do assign_ports "$svc" "$n"; done
  done
  write_nginx_conf
  prom_targets
  for n in $(seq 1 "$CATALOG_REPLICAS"); do start_replica catalog "$n"; done
  "$NGINX" -p "$DIR" -c "$DIR/nginx.conf" || die "nginx failed to start (see $DIR/logs/nginx-error.log)"
  for n in $(seq 1 "$ORDER_REPLICAS"); do start_replica order "$n"; done
  wait_http "http://127.0.0.1:$PORT/catalog/books?limit=1" 10 || die "nginx does not route to the catalog"
  prom_url=$(prom_start)
  local b=http://127.0.0.1:$PORT
  cat <<EOF
cluster up: $CATALOG_REPLICAS catalog + $ORDER_REPLICAS order replicas behind $b
  curl -s '$b/catalog/books?limit=3' | jq .
  book=\$(curl -s -X POST $b/catalog/books -H 'Content-Type: application/json' \\
         -d '{"title":"Release It!","author":"Michael T. Nygard","price":"41.95","quantity":5}' | jq -r .id)
  order=\$(curl -s -X POST $b/orders -H 'Content-Type: application/json' \\
         -d "{\"book_id\":\$book,\"customer_name\":\"Ada\",\"customer_email\":\"ada@example.com\",\"quantity\":1}" | jq -r .id)
  curl -s -X PATCH $b/orders/\$order/status -H 'Content-Type: application/json' -d '{"status":"cancelled"}' | jq .
  tests/smoke.sh $b
EOF
  [ -z "$prom_url" ] || echo "  Prometheus: $prom_url"
  echo "  logs: $DIR/logs/   status: scripts/cluster.sh status   stop: make down"
}

# stop_nginx: graceful quit, then fast shutdown (TERM), then SIGKILL of the master and its workers.
stop_nginx() {
  local m w end
  nginx_running || { rm -f "$DIR/nginx.pid"; return 0; }
  m=$(nginx_master)
  kill -QUIT "$m" 2>/dev/null || true
  end=$(( $(date +%s) + 10 ))
  while nginx_running && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
  if nginx_running; then
    log "nginx $m still running after QUIT; TERM"
    kill -TERM "$m" 2>/dev/null || true
    end=$(( $(date +%s) + 5 ))
    while nginx_running && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
  fi
  if nginx_running; then
    w=$(nginx_workers)
    log "nginx $m still running after TERM; KILL"
    # shellcheck disable=SC2086
    kill -KILL "$m" $w 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$DIR/nginx.pid"
}

cmd_down() {
  local f p svc pids rc=0
  [ -d "$DIR" ] || { log "nothing to stop in $DIR"; return 0; }
  prom_stop || rc=1
  # Orders first (they call the catalog through nginx), then nginx, then the catalog. The replicas
  # of one service are stopped in parallel: each drains on SIGTERM.
  for svc in order catalog; do
    pids=()
    for f in "$DIR"/pids/"$svc"-*; do
      [ -e "$f" ] || continue
      case $f in *.tmp) continue ;; esac
      stop_pid "$f" TERM "$STOP_TIMEOUT_S" & pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    if [ "$svc" = order ]; then stop_nginx; fi
  done
  if [ -f "$DIR/pg-owned" ]; then "$ROOT/scripts/pg.sh" stop "$DIR/pg" || rc=1; fi
  if [ "${1:-}" = --purge ]; then rm -rf "$DIR"; fi
  log "down"
  return "$rc"
}

cmd_status() {
  local svc n pid port aport st
  if nginx_running; then
    echo "nginx       pid $(cat "$DIR/nginx.pid")  edge http://127.0.0.1:$PORT  internal catalog http://127.0.0.1:$(internal_port)"
  else
    echo "nginx       stopped"
  fi
  [ -f "$(prom_dir)/started" ] && echo "prometheus  $(cat "$(prom_dir)/url" 2>/dev/null)"
  for svc in catalog order; do
    [ -f "$DIR/replicas-$svc" ] || continue
    for n in $(seq 1 "$(cat "$DIR/replicas-$svc")"); do
      port=$(api_port "$svc" "$n" 2>/dev/null || echo "?")
      aport=$(admin_port "$svc" "$n" 2>/dev/null || echo "?")
      pid=$(pidfile_pid "$DIR/pids/$svc-$n" || true)
      if pidfile_alive "$DIR/pids/$svc-$n"; then
        st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$aport/ready" || true)
        echo "$svc-$n  pid $pid  port $port  admin $aport  ready=$st"
      else
        echo "$svc-$n  stopped  port $port  admin $aport"
      fi
    done
  done
}

# drain_replica SVC N: take it out of nginx (endpoint removal), wait the preStop delay, SIGTERM.
drain_replica() {
  echo "$1-$2" >>"$DIR/drained"
  write_nginx_conf && nginx_reload
  sleep "$DRAIN_DELAY_S"
  stop_pid "$DIR/pids/$1-$2" TERM "$STOP_TIMEOUT_S"
}
undrain() { # SVC-N
  grep -vx "$1" "$DIR/drained" >"$DIR/drained.tmp" || true
  mv "$DIR/drained.tmp" "$DIR/drained"
}

cmd_restart_rolling() {
  nginx_running || die "cluster is not up"
  local svc n
  for svc in catalog order; do
    for n in $(seq 1 "$(cat "$DIR/replicas-$svc")"); do
      log "rolling $svc-$n"
      drain_replica "$svc" "$n"
      start_replica "$svc" "$n"
      undrain "$svc-$n"
      write_nginx_conf && nginx_reload
    done
  done
  log "rolling restart done"
}

cmd_scale() { # SVC N
  local svc=$1 want=$2 have n
  bin_of "$svc" >/dev/null
  [[ $want =~ ^[0-9]+$ ]] && [ "$want" -ge 1 ] || die "scale: replica count must be >= 1"
  nginx_running || die "cluster is not up"
  have=$(cat "$DIR/replicas-$svc")
  if [ "$want" -gt "$have" ]; then
    # New replicas start first and join the upstream once ready (a pod joins the Endpoints when ready).
    for n in $(seq $((have + 1)) "$want"); do
      assign_ports "$svc" "$n"
      start_replica "$svc" "$n"
      echo "$n" >"$DIR/replicas-$svc"
      write_nginx_conf && nginx_reload
      prom_targets
    done
  else
    for n in $(seq "$have" -1 $((want + 1))); do
      log "removing $svc-$n"
      drain_replica "$svc" "$n"
      echo $((n - 1)) >"$DIR/replicas-$svc"
      undrain "$svc-$n"
      rm -f "$DIR/ports/$svc-$n" "$DIR/ports/$svc-$n.admin"
      write_nginx_conf && nginx_reload
      prom_targets
    done
  fi
  log "$svc: $(cat "$DIR/replicas-$svc") replicas"
}

cmd_reload() {
  nginx_running || die "cluster is not up"
  write_nginx_conf && nginx_reload
  log "nginx reloaded (rate limit $(cat "$DIR/limit-rps") r/s)"
}

# render-nginx OUT: a sample configuration (2 replicas each on placeholder ports) for `nginx -t`.
cmd_render_nginx() {
  local out=$1
  mkdir -p "$out/logs" "$out/nginx-tmp"
  out=$(cd "$out" && pwd)
  render_nginx "$out" 18080 18081 "${CLUSTER_LIMIT_RPS:-1000}" \
    "        server 127.0.0.1:18100;"$'\n'"        server 127.0.0.1:18101;"$'\n' \
    "        server 127.0.0.1:18200;"$'\n'"        server 127.0.0.1:18201;"$'\n'
  mv "$out/nginx.conf.tmp" "$out/nginx.conf"
  echo "$out/nginx.conf"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down "${2:-}" ;;
status) cmd_status ;;
restart-rolling) cmd_restart_rolling ;;
scale) cmd_scale "${2:?svc}" "${3:?replicas}" ;;
reload) cmd_reload ;;
kill) bin_of "${2:?svc}" >/dev/null; stop_pid "$DIR/pids/$2-${3:?n}" KILL 5 ;;
start) start_replica "${2:?svc}" "${3:?n}" ;;
manifest-env) manifest_env "${2:?svc}" ;;
render-nginx) cmd_render_nginx "${2:?output directory}" ;;
*) echo "usage: scripts/cluster.sh up|down [--purge]|status|restart-rolling|scale SVC N|reload|kill SVC N|start SVC N|manifest-env SVC|render-nginx DIR" >&2; exit 2 ;;
esac
