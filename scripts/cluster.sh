#!/usr/bin/env bash
# cluster.sh - the Kubernetes deployment in miniature, as processes on loopback (no containers).
#
#   scripts/cluster.sh up                 PostgreSQL (private, unless DATABASE_URL is set), migrations,
#                                         seed, CATALOG_REPLICAS x catalog-service and ORDER_REPLICAS x
#                                         order-service (default 2 each) on free loopback ports, and
#                                         nginx on 127.0.0.1:$CLUSTER_PORT (8080) routing exactly like
#                                         k8s/ingress.yaml (deploy/nginx/bookstore.conf.tmpl).
#   scripts/cluster.sh down [--purge]     stops everything by PID (--purge also deletes the data)
#   scripts/cluster.sh status             replicas, ports, PIDs, readiness
#   scripts/cluster.sh restart-rolling    for each replica in turn: remove it from nginx (the
#                                         endpoint removal + preStop delay), SIGTERM, wait, start a new
#                                         process on the same port, wait for /ready, add it back
#   scripts/cluster.sh kill SVC N         SIGKILL replica N of SVC (catalog|order)   [tests]
#   scripts/cluster.sh start SVC N        (re)start replica N of SVC                  [tests]
#   scripts/cluster.sh manifest-env SVC   print the KEY=VALUE settings k8s/configmap.yaml gives SVC
#
# Order replicas reach the catalog through nginx (CATALOG_SERVICE_URL=http://127.0.0.1:PORT/catalog),
# the way pods reach the catalog Service. Each replica gets exactly the variables the Kubernetes
# manifests set (ConfigMap values + DATABASE_URL), with PORT and CATALOG_SERVICE_URL adapted.
# State lives in $CLUSTER_DIR (default .cluster/): pids/, ports/, logs/, nginx.conf, pg/.
# Environment: CLUSTER_DIR, CLUSTER_PORT, CATALOG_REPLICAS, ORDER_REPLICAS, DATABASE_URL, BUILD_DIR,
# CATALOG_BIN, ORDER_BIN, CLUSTER_LIMIT_RPS (nginx rate limit per client IP, default as the Ingress;
# 0 disables), CLUSTER_SEED (0 skips seeding), DRAIN_DELAY_S (default 1), READY_TIMEOUT_S (how long
# a starting replica may take to answer /ready, default 90), STOP_TIMEOUT_S (SIGTERM -> SIGKILL,
# default 20).
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

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: $*" >&2; exit 1; }

bin_of() { case $1 in catalog) echo "$CATALOG_BIN" ;; order) echo "$ORDER_BIN" ;; *) die "unknown service $1" ;; esac; }
replicas_of() { case $1 in catalog) echo "$CATALOG_REPLICAS" ;; order) echo "$ORDER_REPLICAS" ;; esac; }

# The settings the ConfigMap gives a service: the `data:` entries of ConfigMap <svc>-config in
# k8s/configmap.yaml (flat "KEY: "value"" lines), printed as KEY=VALUE.
manifest_env() {
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

database_url() { cat "$DIR/database_url"; }

start_replica() { # SVC N
  local svc=$1 n=$2 bin port pid envs=() attempt logf off end
  bin=$(bin_of "$svc")
  logf=$DIR/logs/$svc-$n.log
  if pidfile_alive "$DIR/pids/$svc-$n"; then
    log "$svc-$n already running"; return 0
  fi
  while IFS= read -r kv; do
    case $kv in PORT=*|DATABASE_URL=*|CATALOG_SERVICE_URL=*) ;; *) envs+=("$kv") ;; esac
  done < <(manifest_env "$svc")
  envs+=("DATABASE_URL=$(database_url)")
  if [ "$svc" = order ]; then envs+=("CATALOG_SERVICE_URL=http://127.0.0.1:$PORT/catalog"); fi
  for attempt in 1 2 3; do
    port=$(cat "$DIR/ports/$svc-$n")
    off=$(stat -c %s "$logf" 2>/dev/null || echo 0)
    # setsid: own session, so a Ctrl-C in the terminal that ran `make up` does not reach it.
    env -i PATH="$PATH" "${envs[@]}" PORT="$port" setsid "$bin" >>"$logf" 2>&1 </dev/null &
    pid=$!
    record_pid "$pid" "$DIR/pids/$svc-$n"
    end=$(( $(date +%s) + READY_TIMEOUT_S ))
    while :; do
      [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/ready" 2>/dev/null)" = 200 ] && return 0
      pidfile_alive "$DIR/pids/$svc-$n" || break
      [ "$(date +%s)" -lt "$end" ] || break
      sleep 0.1
    done
    if pidfile_alive "$DIR/pids/$svc-$n"; then
      tail -5 "$logf" >&2
      # Leave nothing half-started behind: the caller (and `down`) must not find a stray process.
      stop_pid "$DIR/pids/$svc-$n" KILL 5
      die "$svc-$n (pid $pid, port $port) not ready after $READY_TIMEOUT_S s"
    fi
    wait "$pid" 2>/dev/null || true
    # Another program took the port between our check and the bind: move this replica.
    if tail -c +"$((off + 1))" "$logf" | grep -qi 'in use'; then
      log "$svc-$n: port $port taken meanwhile (attempt $attempt), picking another"
      rm -f "$DIR/ports/$svc-$n"
      free_port >"$DIR/ports/$svc-$n.tmp" && mv "$DIR/ports/$svc-$n.tmp" "$DIR/ports/$svc-$n"
      write_nginx_conf
      if nginx_running; then nginx_reload; fi
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

# Writes $DIR/nginx.conf; replicas listed in $DIR/drained are marked `down`.
write_nginx_conf() {
  local svc n servers port mark cat_servers="" ord_servers="" limits rps
  for svc in catalog order; do
    servers=""
    for n in $(seq 1 "$(cat "$DIR/replicas-$svc")"); do
      port=$(cat "$DIR/ports/$svc-$n")
      mark=""
      grep -qx "$svc-$n" "$DIR/drained" 2>/dev/null && mark=" down"
      servers+="        server 127.0.0.1:$port max_fails=1 fail_timeout=2s$mark;"$'\n'
    done
    if [ "$svc" = catalog ]; then cat_servers=$servers; else ord_servers=$servers; fi
  done
  rps=${CLUSTER_LIMIT_RPS:-$(awk -F'"' '/limit-rps:/ {print $2; exit}' "$ROOT/k8s/ingress.yaml")}
  if [ "${rps:-0}" = 0 ]; then
    limits="        # rate limiting disabled (CLUSTER_LIMIT_RPS=0)"
    rps=1
  else
    limits="        limit_req zone=bookstore_rps burst=$((rps * 5)) nodelay;"$'\n'"        limit_conn bookstore_conn 200;"
  fi
  awk -v dir="$DIR" -v port="$PORT" -v rps="$rps" -v cat="$cat_servers" -v ord="$ord_servers" -v lim="$limits" '
    { gsub(/@DIR@/, dir); gsub(/@PORT@/, port); gsub(/@LIMIT_RPS@/, rps) }
    /^@CATALOG_SERVERS@$/ { printf "%s", cat; next }
    /^@ORDER_SERVERS@$/ { printf "%s", ord; next }
    /^@LIMITS@$/ { print lim; next }
    { print }' "$ROOT/deploy/nginx/bookstore.conf.tmpl" >"$DIR/nginx.conf.tmp"
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

cmd_up() {
  ensure_binaries
  if nginx_running; then die "already up (scripts/cluster.sh down first)"; fi
  mkdir -p "$DIR/pids" "$DIR/ports" "$DIR/logs" "$DIR/nginx-tmp"
  rm -f "$DIR/drained" "$DIR/ports/"*
  echo "$CATALOG_REPLICAS" >"$DIR/replicas-catalog"
  echo "$ORDER_REPLICAS" >"$DIR/replicas-order"

  local url base n svc
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "$DATABASE_URL" >"$DIR/database_url"
    rm -f "$DIR/pg-owned"
  else
    base=$("$ROOT/scripts/pg.sh" start "$DIR/pg")
    touch "$DIR/pg-owned"
    if [ "$(psql "$base" -Atc "select 1 from pg_database where datname = 'bookstore'")" != 1 ]; then
      psql "$base" -qc "create database bookstore" >/dev/null
    fi
    echo "${base%/*}/bookstore" >"$DIR/database_url"
  fi
  url=$(database_url)
  log "database $url"
  env -i PATH="$PATH" DATABASE_URL="$url" MIGRATIONS_DIR="$ROOT/db/migrations" "$CATALOG_BIN" --migrate \
    >>"$DIR/logs/migrate.log" 2>&1 || { tail -5 "$DIR/logs/migrate.log" >&2; die "migration failed"; }
  if [ "${CLUSTER_SEED:-1}" != 0 ] && [ -f "$SEED_FILE" ] &&
    [ "$(psql "$url" -Atc 'select count(*) from books')" = 0 ]; then
    psql "$url" -q -v ON_ERROR_STOP=1 -f "$SEED_FILE" >/dev/null || die "seed failed"
    log "seeded from $SEED_FILE"
  fi

  for svc in catalog order; do
    for n in $(seq 1 "$(replicas_of "$svc")"); do free_port >"$DIR/ports/$svc-$n.tmp"; mv "$DIR/ports/$svc-$n.tmp" "$DIR/ports/$svc-$n"; done
  done
  port_taken "$PORT" && die "127.0.0.1:$PORT is in use (set CLUSTER_PORT)"
  write_nginx_conf
  for n in $(seq 1 "$CATALOG_REPLICAS"); do start_replica catalog "$n"; done
  "$NGINX" -p "$DIR" -c "$DIR/nginx.conf" || die "nginx failed to start (see $DIR/logs/nginx-error.log)"
  for n in $(seq 1 "$ORDER_REPLICAS"); do start_replica order "$n"; done
  wait_http "http://127.0.0.1:$PORT/catalog/health" 10 || die "nginx does not route to the catalog"
  cat <<EOF
cluster up: $CATALOG_REPLICAS catalog + $ORDER_REPLICAS order replicas behind http://127.0.0.1:$PORT
  curl http://127.0.0.1:$PORT/catalog/books?limit=3
  curl -X POST http://127.0.0.1:$PORT/orders -H 'Content-Type: application/json' \\
       -d '{"book_id":1,"customer_name":"Ada","customer_email":"ada@example.com","quantity":1}'
  tests/smoke.sh http://127.0.0.1:$PORT
  logs: $DIR/logs/   stop: make down (scripts/cluster.sh down)
EOF
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
  # Orders first (they call the catalog through nginx), then the ingress, then the catalog. The
  # replicas of one service are stopped in parallel: each drains on SIGTERM.
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
  local svc n pid port st
  nginx_running && echo "nginx     pid $(cat "$DIR/nginx.pid")  http://127.0.0.1:$PORT" || echo "nginx     stopped"
  for svc in catalog order; do
    [ -f "$DIR/replicas-$svc" ] || continue
    for n in $(seq 1 "$(cat "$DIR/replicas-$svc")"); do
      port=$(cat "$DIR/ports/$svc-$n" 2>/dev/null || echo "?")
      pid=$(pidfile_pid "$DIR/pids/$svc-$n" || true)
      if pidfile_alive "$DIR/pids/$svc-$n"; then
        st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/ready" || true)
        echo "$svc-$n  pid $pid  port $port  ready=$st"
      else
        echo "$svc-$n  stopped  port $port"
      fi
    done
  done
}

cmd_restart_rolling() {
  nginx_running || die "cluster is not up"
  local svc n
  for svc in catalog order; do
    for n in $(seq 1 "$(cat "$DIR/replicas-$svc")"); do
      log "rolling $svc-$n"
      echo "$svc-$n" >>"$DIR/drained"
      write_nginx_conf && nginx_reload
      sleep "$DRAIN_DELAY_S"
      stop_pid "$DIR/pids/$svc-$n" TERM "$STOP_TIMEOUT_S"
      start_replica "$svc" "$n"
      grep -vx "$svc-$n" "$DIR/drained" >"$DIR/drained.tmp" || true
      mv "$DIR/drained.tmp" "$DIR/drained"
      write_nginx_conf && nginx_reload
    done
  done
  log "rolling restart done"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down "${2:-}" ;;
status) cmd_status ;;
restart-rolling) cmd_restart_rolling ;;
kill) bin_of "${2:?svc}" >/dev/null; stop_pid "$DIR/pids/$2-${3:?n}" KILL 5 ;;
start) start_replica "${2:?svc}" "${3:?n}" ;;
manifest-env) manifest_env "${2:?svc}" ;;
*) echo "usage: scripts/cluster.sh up|down [--purge]|status|restart-rolling|kill SVC N|start SVC N|manifest-env SVC" >&2; exit 2 ;;
esac
