#!/usr/bin/env bash
# run_signals.sh (check) - `make run` (scripts/run.sh) stops everything, whatever stops it.
#
# For each of SIGINT, SIGTERM and SIGHUP: start scripts/run.sh with its own state folder (RUN_DIR
# under this run's temp folder, so its private PostgreSQL is started and must be stopped too; no
# DATABASE_URL), the already-built daemons (CATALOG_BIN/ORDER_BIN: no bootstrap, no build) and free
# ports; wait until it prints its URLs; record the PIDs of run.sh, both daemons and the postmaster
# (with its children); send the signal the way it arrives in real life; then prove by PID that
# every one of them is gone, within a bound, and that run.sh exited with 128 + the signal number.
#   SIGINT  Ctrl-C in a terminal (to the whole foreground process group), pressed again while
#           run.sh is stopping.
#   SIGTERM `timeout make run` / an IDE's stop button: to the process group, and once more to run.sh
#           while it is stopping (make forwards the signal to its child a moment later; an IDE
#           repeats it) - the second signal used to kill the cleanup halfway, leaving PostgreSQL
#           and catalog-service running.
#   SIGHUP  a closed terminal: to the process group, and once more while stopping.
# The second signal is sent once the order service (stopped first) is gone, i.e. in the middle of
# the cleanup.
# Job control (set -m) gives each run.sh its own process group, as a terminal would, and keeps
# SIGINT deliverable (a non-interactive shell starts background jobs with SIGINT ignored).
set -uo pipefail
. "$(dirname "$0")/lib/checks.bash"

for tool in psql curl; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
for b in "$CATALOG_BIN" "$ORDER_BIN"; do [ -x "$b" ] || die "$b not built"; done
run_tmp run_signals
chmod 755 "$RUN_TMP" # the private PostgreSQL runs as `postgres` when the tests run as root
START_TIMEOUT_S=${START_TIMEOUT_S:-120}
STOP_TIMEOUT_S=${STOP_TIMEOUT_S:-60}

alive_pid() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
describe() { local p; for p in "$@"; do printf ' %s(%s)' "$p" "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80)"; done; }

run_pid=""
cleanup() {
  trap '' INT TERM HUP
  # A failed case may leave run.sh (and what it started) behind: stop them by PID, the database last.
  if [ -n "$run_pid" ] && alive_pid "$run_pid"; then kill -TERM "$run_pid" 2>/dev/null; sleep 5; kill -KILL "$run_pid" 2>/dev/null; fi
  for p in ${leftover:-}; do alive_pid "$p" && kill -KILL "$p" 2>/dev/null; done
  "$PG_SCRIPT" stop "$RUN_TMP/run/pg" >/dev/null 2>&1
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

set -m
for sig in INT TERM HUP; do
  log=$RUN_TMP/run-$sig.log
  cport=$(free_port) && oport=$(free_port) && caport=$(free_port) && oaport=$(free_port) || die "no free port"
  env -u DATABASE_URL RUN_DIR="$RUN_TMP/run" CATALOG_BIN="$CATALOG_BIN" ORDER_BIN="$ORDER_BIN" \
    CATALOG_PORT="$cport" ORDER_PORT="$oport" CATALOG_ADMIN_PORT="$caport" ORDER_ADMIN_PORT="$oaport" \
    SEED=0 bash "$SOURCE_DIR/scripts/run.sh" >"$log" 2>&1 </dev/null &
  run_pid=$!
  end=$(( $(date +%s) + START_TIMEOUT_S ))
  until grep -q 'stops everything' "$log"; do
    if ! alive_pid "$run_pid" || [ "$(date +%s)" -ge "$end" ]; then
      tail -30 "$log"; die "SIG$sig: scripts/run.sh did not come up within $START_TIMEOUT_S s"
    fi
    sleep 0.2
  done
  catalog_pid=$(sed -n 's/^ *catalog-service .*(pid \([0-9]*\);.*/\1/p' "$log")
  order_pid=$(sed -n 's/^ *order-service .*(pid \([0-9]*\);.*/\1/p' "$log")
  pm_pid=$(head -1 "$RUN_TMP/run/pg/data/postmaster.pid" 2>/dev/null)
  pids="$run_pid $catalog_pid $order_pid $pm_pid $(pgrep -P "${pm_pid:-0}" 2>/dev/null | tr '\n' ' ')"
  leftover=$pids
  if [ -z "$catalog_pid" ] || [ -z "$order_pid" ] || [ -z "$pm_pid" ]; then
    tail -30 "$log"; die "SIG$sig: could not find the PIDs (catalog '$catalog_pid', order '$order_pid', postmaster '$pm_pid')"
  fi
  for p in $pids; do alive_pid "$p" || die "SIG$sig: pid $p is not running before the signal"; done
  wait_200 "http://127.0.0.1:$cport/health" 10 && wait_200 "http://127.0.0.1:$oport/health" 10 ||
    die "SIG$sig: the daemons do not answer /health"

  kill "-$sig" -- "-$run_pid"
  end=$(( $(date +%s) + STOP_TIMEOUT_S ))
  while alive_pid "$order_pid" && [ "$(date +%s)" -lt "$end" ]; do sleep 0.02; done
  if alive_pid "$run_pid"; then
    if [ "$sig" = TERM ]; then kill -TERM "$run_pid"; else kill "-$sig" -- "-$run_pid"; fi
  fi
  rc=""
  while alive_pid "$run_pid"; do
    [ "$(date +%s)" -lt "$end" ] || break
    sleep 0.1
  done
  if ! alive_pid "$run_pid"; then wait "$run_pid"; rc=$?; fi
  left=""
  for p in $pids; do
    # Give a process the cleanup already signalled a moment to go, within the same bound.
    while alive_pid "$p" && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
    alive_pid "$p" && left="$left $p"
  done
  case $sig in INT) want=130 ;; TERM) want=143 ;; HUP) want=129 ;; esac
  if [ -z "$left" ]; then
    ok "SIG$sig: run.sh, catalog-service, order-service and PostgreSQL all stopped ($(echo $pids | wc -w) PIDs)"
  else
    tail -20 "$log"
    bad "SIG$sig: still running after ${STOP_TIMEOUT_S}s:$(describe $left)"
  fi
  if [ "$rc" = "$want" ]; then ok "SIG$sig: run.sh exited with $rc"
  else bad "SIG$sig: run.sh exit status '${rc:-still running}', expected $want"; fi
  if grep -q 'stopping PostgreSQL' "$log"; then ok "SIG$sig: the cleanup reached its last step"
  else tail -20 "$log"; bad "SIG$sig: the cleanup did not reach 'stopping PostgreSQL'"; fi
  # Nothing answers on the ports any more.
  for p in "$cport" "$oport" "$caport" "$oaport"; do port_taken "$p" && bad "SIG$sig: port $p still open"; done
  # After a failure, leave a clean slate for the next signal: the database by pg_ctl, the rest by PID.
  if [ -n "$left" ]; then "$PG_SCRIPT" stop "$RUN_TMP/run/pg" >/dev/null 2>&1; fi
  for p in $left; do alive_pid "$p" && kill -KILL "$p" 2>/dev/null; done
  run_pid=""
  leftover=""
done
finish
