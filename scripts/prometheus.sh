#!/usr/bin/env bash
# prometheus.sh - a local Prometheus (Debian's `prometheus` package, no download) for the local
# cluster and the tests: loopback only, the alert rules of deploy/prometheus/rules.yml, and file-based
# service discovery so the replicas can come and go.
#
#   scripts/prometheus.sh start DIR            start (or find running) Prometheus with config, data,
#                                              log and PID file under DIR; prints its URL
#   scripts/prometheus.sh stop DIR             stop it (by its PID file; SIGTERM, then SIGKILL)
#   scripts/prometheus.sh url DIR              print the URL of the running one (exit 1 if none)
#   scripts/prometheus.sh sd FILE HOST:PORT... write the targets of one service: FILE is
#                                              DIR/targets/<service>.json (e.g. catalog-service.json);
#                                              every target gets job=<service>, pod=<service>-<N>
#                                              (N = its position, 1-based). No targets = an empty
#                                              list. Atomic (write + rename); Prometheus picks the
#                                              change up by itself (inotify, at most 5 s). Works
#                                              before or after `start`.
#
# Environment: PROMETHEUS_BIN (default: prometheus on PATH), PROMETHEUS_PORT (default: a free port),
# PROMETHEUS_SCRAPE_INTERVAL (default 5s; also the rule evaluation interval),
# PROMETHEUS_RETENTION (default 2d), PROMETHEUS_START_TIMEOUT_S (default 60).
# Labels: `job` is the service and `pod` the replica, as in Kubernetes (docs/operations.md "Metrics").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${PROMETHEUS_BIN:-$(command -v prometheus || echo /usr/bin/prometheus)}
INTERVAL=${PROMETHEUS_SCRAPE_INTERVAL:-5s}
RETENTION=${PROMETHEUS_RETENTION:-2d}
START_TIMEOUT_S=${PROMETHEUS_START_TIMEOUT_S:-60}

die() { echo "prometheus.sh: $*" >&2; exit 1; }
usage() { sed -n '5,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

abs_dir() { mkdir -p "$1" && (cd "$1" && pwd); }

# PID files hold "PID STARTTIME" (field 22 of /proc/PID/stat): a recycled PID has another start
# time, so stop never signals a stranger (the same scheme as scripts/cluster.sh).
proc_start() {
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  st=${st##*) }
  # shellcheck disable=SC2086
  set -- $st
  [ "$1" != Z ] && echo "${20}"
}
alive() { # DIR
  local pid st
  [ -f "$1/prometheus.pid" ] || return 1
  read -r pid st <"$1/prometheus.pid" || true
  [ -n "$pid" ] && [ -n "$st" ] && [ "$(proc_start "$pid")" = "$st" ]
}
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((10000 + RANDOM % 22000)) # below the ephemeral range (32768+)
    port_taken "$p" || { echo "$p"; return; }
  done
  die "no free port"
}

write_config() { # DIR
  cat >"$1/prometheus.yml.tmp" <<EOF
# Written by scripts/prometheus.sh; rewritten on every start.
global:
  scrape_interval: $INTERVAL
  evaluation_interval: $INTERVAL
rule_files:
  - $ROOT/deploy/prometheus/rules.yml
scrape_configs:
  # One job for every service: each target's own labels (job = service, pod = replica) come from
  # the files written by \`scripts/prometheus.sh sd\`.
  - job_name: bookstore
    metrics_path: /metrics
    file_sd_configs:
      - files: ["$1/targets/*.json"]
        refresh_interval: 5s
EOF
  mv "$1/prometheus.yml.tmp" "$1/prometheus.yml"
}

cmd_start() {
  local dir port pid attempt end url
  dir=$(abs_dir "$1")
  mkdir -p "$dir/targets" "$dir/data"
  if alive "$dir"; then cat "$dir/url"; return 0; fi
  [ -x "$BIN" ] || die "$BIN not found (apt-get install prometheus; scripts/bootstrap.sh installs it)"
  write_config "$dir"
  for attempt in 1 2 3 4 5; do
    port=${PROMETHEUS_PORT:-$(free_port)}
    url=http://127.0.0.1:$port
    # setsid: its own session, so a Ctrl-C in the terminal that started it does not reach it.
    setsid "$BIN" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
      --storage.tsdb.retention.time="$RETENTION" --web.listen-address="127.0.0.1:$port" \
      --web.enable-lifecycle >>"$dir/prometheus.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid $(proc_start "$pid")" >"$dir/prometheus.pid.tmp" && mv "$dir/prometheus.pid.tmp" "$dir/prometheus.pid"
    end=$(( $(date +%s) + START_TIMEOUT_S ))
    while alive "$dir"; do
      if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/-/ready" 2>/dev/null)" = 200 ]; then
        echo "$url" >"$dir/url"
        echo "$url"
        return 0
      fi
      if [ "$(date +%s)" -ge "$end" ]; then
        cmd_stop "$dir" >/dev/null
        tail -5 "$dir/prometheus.log" >&2
        die "not ready on $url after $START_TIMEOUT_S s"
      fi
      sleep 0.2
    done
    # Exited. Retry on another port only when the port was taken between the check and the bind.
    rm -f "$dir/prometheus.pid"
    [ -z "${PROMETHEUS_PORT:-}" ] || break
    tail -3 "$dir/prometheus.log" | grep -q 'address already in use' || break
    echo "prometheus.sh: attempt $attempt failed (port $port), retrying" >&2
  done
  tail -5 "$dir/prometheus.log" >&2
  die "could not start (log: $dir/prometheus.log)"
}

cmd_stop() {
  local dir pid _st
  dir=$(abs_dir "$1")
  if ! alive "$dir"; then rm -f "$dir/prometheus.pid" "$dir/url"; return 0; fi
  read -r pid _st <"$dir/prometheus.pid"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do alive "$dir" || break; sleep 0.1; done
  if alive "$dir"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  rm -f "$dir/prometheus.pid" "$dir/url"
}

cmd_url() {
  local dir
  dir=$(abs_dir "$1")
  if ! alive "$dir" || [ ! -s "$dir/url" ]; then die "not running (scripts/prometheus.sh start $1)"; fi
  cat "$dir/url"
}

cmd_sd() {
  local file=$1 svc n=0 t sep="" out
  shift
  svc=$(basename "$file" .json)
  [[ $svc =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "sd: $file: the file name must be <service>.json (a-z, 0-9, -)"
  mkdir -p "$(dirname "$file")"
  out="["
  for t in "$@"; do
    [[ $t =~ ^[^[:space:]\"]+:[0-9]+$ ]] || die "sd: $t is not HOST:PORT"
    n=$((n + 1))
    out+="$sep"$'\n'"  {\"targets\": [\"$t\"], \"labels\": {\"job\": \"$svc\", \"pod\": \"$svc-$n\"}}"
    sep=","
  done
  [ "$n" -gt 0 ] && out+=$'\n'
  out+="]"
  printf '%s\n' "$out" >"$file.tmp.$$"
  mv "$file.tmp.$$" "$file"
}

[ $# -ge 2 ] || usage
case $1 in
start) cmd_start "$2" ;;
stop) cmd_stop "$2" ;;
url) cmd_url "$2" ;;
sd) shift; cmd_sd "$@" ;;
*) usage ;;
esac
