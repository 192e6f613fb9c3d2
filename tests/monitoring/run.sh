#!/usr/bin/env bash
# run.sh - monitoring as code, checked (ctest check_monitoring; no C service or database needed):
#   1. generated files up to date (deploy/prometheus/rules.yml, the dashboard ConfigMap);
#   2. strict CRD-schema validation of the Component's objects (tests/k8s/crd.mjs: upstream Prometheus
#      Operator CRD files when found, else the pinned npm package; see tests/k8s/crds/README.md),
#      rules.yml == PrometheusRule spec, alert annotations + runbook anchors, metric names documented;
#   3. promtool check rules (alerts, and every dashboard expression as a recording rule);
#   4. promtool test rules (each alert fires / stays silent) and mutants proving those tests bite;
#   5. a real Prometheus through scripts/prometheus.sh against fake targets serving the documented
#      metrics: every target up, request rates, rules loaded, scale down by rewriting the targets, a dead
#      target seen as down, check-exposition.sh passing on a good scrape and failing on a broken one,
#      stop by PID.
# Installs tests/monitoring/node_modules and tests/k8s/node_modules with `npm ci` when missing. Needs promtool/prometheus (Debian
# `prometheus`), node, curl, jq.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=${TEST_TMPDIR:-$root/build/test-tmp}/monitoring-$$
mkdir -p "$tmp"
failed=0 passed=0
ok() { echo "PASS  $*"; passed=$((passed + 1)); }
bad() { echo "FAIL  $*"; failed=$((failed + 1)); }
# run NAME CMD...: one step; its own PASS/FAIL lines are shown, the step counts once.
run() {
  local name=$1 out rc
  shift
  out=$("$@" 2>&1); rc=$?
  [ -n "$out" ] && echo "$out" | sed 's/^/    /'
  if [ $rc = 0 ]; then ok "$name"; else bad "$name"; fi
  return $rc
}

for t in promtool prometheus node curl jq; do
  command -v "$t" >/dev/null || { bad "$t is not installed (scripts/bootstrap.sh installs it)"; echo "0 passed, 1 failed"; exit 1; }
done
if [ ! -d "$here/node_modules/ajv" ] || [ ! -d "$here/node_modules/yaml" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || { bad "npm ci in tests/monitoring"; exit 1; }
fi
# The CRD validator (tests/k8s/crd.mjs) and its npm fallback packages live in tests/k8s.
kdir=$root/tests/k8s
if [ ! -d "$kdir/node_modules/yaml" ] || [ ! -f "$kdir/node_modules/.package-lock.json" ] ||
  [ "$kdir/package-lock.json" -nt "$kdir/node_modules/.package-lock.json" ]; then
  (cd "$kdir" && npm ci --no-audit --no-fund --loglevel=error) || { bad "npm ci in tests/k8s"; exit 1; }
fi

# ---- static checks ---------------------------------------------------------------------------------
run "generated files are up to date" node "$here/generate.mjs" --check
run "schemas, identity, runbooks, metric names" node "$here/check.mjs" --dashboard-rules "$tmp/dashboard-rules.yml"
run "promtool check rules deploy/prometheus/rules.yml" promtool check rules "$root/deploy/prometheus/rules.yml"
run "promtool check rules: every dashboard expression parses" promtool check rules "$tmp/dashboard-rules.yml"
run "promtool test rules tests/monitoring/alerts.test.yml" promtool test rules "$here/alerts.test.yml"
run "alert tests catch broken alerts (mutants)" node "$here/mutants.mjs" "$tmp/mutants"

# ---- a real Prometheus against fake targets ------------------------------------------------------
pids=()
prom=$tmp/prometheus
cleanup() {
  "$root/scripts/prometheus.sh" stop "$prom" >/dev/null 2>&1
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
# fake SERVICE NAME [--drop METRIC]: starts a fake target (its PID kept for cleanup); its port is
# written to $tmp/NAME.port. Not in a $(...) subshell, so the PID reaches `pids`.
fake() {
  local svc=$1 name=$2
  shift 2
  node "$here/fake-target.mjs" "$svc" "$tmp/$name.port" "$@" >"$tmp/$name.log" 2>&1 &
  pids+=($!)
}
wait_port() { # NAME -> its port on stdout, within 20 s
  local end=$(( $(date +%s) + 20 ))
  until [ -s "$tmp/$1.port" ]; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.1
  done
  cat "$tmp/$1.port"
}
fake catalog-service c1; fake catalog-service c2; fake order-service o1
fake order-service o-broken --drop recovery_backlog
o1_pid=${pids[2]}
c1=$(wait_port c1) && c2=$(wait_port c2) && o1=$(wait_port o1) && bad_o=$(wait_port o-broken) \
  || { bad "fake targets did not start"; echo "$passed passed, $failed failed"; exit 1; }

run "check-exposition.sh passes on catalog-service" "$here/check-exposition.sh" "http://127.0.0.1:$c1/metrics" catalog-service
run "check-exposition.sh passes on order-service" "$here/check-exposition.sh" "http://127.0.0.1:$o1/metrics" order-service
if "$here/check-exposition.sh" "http://127.0.0.1:$bad_o/metrics" order-service >"$tmp/broken.out" 2>&1; then
  bad "check-exposition.sh accepted a scrape without recovery_backlog"
elif grep -q 'recovery_backlog (gauge) is not exposed' "$tmp/broken.out"; then ok "check-exposition.sh rejects a scrape without recovery_backlog"
else cat "$tmp/broken.out"; bad "check-exposition.sh failed for another reason than the missing metric"; fi

# Targets first (as cluster.sh may write them before start), then start.
"$root/scripts/prometheus.sh" sd "$prom/targets/catalog-service.json" "127.0.0.1:$c1" "127.0.0.1:$c2"
"$root/scripts/prometheus.sh" sd "$prom/targets/order-service.json" "127.0.0.1:$o1"
if url=$(PROMETHEUS_SCRAPE_INTERVAL=1s "$root/scripts/prometheus.sh" start "$prom"); then
  ok "scripts/prometheus.sh start printed $url"
  run "promtool check config on the generated configuration" promtool check config "$prom/prometheus.yml"
  [ "$("$root/scripts/prometheus.sh" url "$prom")" = "$url" ] && ok "scripts/prometheus.sh url" || bad "scripts/prometheus.sh url"
  run "every replica up, request rates > 0, rules loaded" "$here/prom-up.sh" "$url" --timeout 60 --rates --rules catalog-service=2 order-service=1
  # job/pod labels as documented
  pods=$(curl -s --get --data-urlencode 'query=up' "$url/api/v1/query" | jq -r '[.data.result[].metric | "\(.job)/\(.pod)"] | sort | join(" ")')
  [ "$pods" = "catalog-service/catalog-service-1 catalog-service/catalog-service-2 order-service/order-service-1" ] \
    && ok "targets labelled job=service, pod=service-N ($pods)" || bad "target labels: got '$pods'"
  # Scale down: rewrite the targets; Prometheus drops the removed replica by itself.
  "$root/scripts/prometheus.sh" sd "$prom/targets/catalog-service.json" "127.0.0.1:$c2"
  run "after sd with one catalog target, exactly one is scraped" "$here/prom-up.sh" "$url" --timeout 30 catalog-service=1 order-service=1
  # A dead target (a port nobody listens on: a fake that was stopped) is seen as down.
  kill "$o1_pid" 2>/dev/null; wait "$o1_pid" 2>/dev/null
  run "a stopped order replica is seen as up == 0" "$here/prom-up.sh" "$url" --timeout 30 --down order-service=1
  if "$here/prom-up.sh" "$url" --timeout 2 order-service=1 >/dev/null; then bad "prom-up.sh passed with a dead target"
  else ok "prom-up.sh fails while a target is down"; fi
  read -r ppid _ <"$prom/prometheus.pid"
  "$root/scripts/prometheus.sh" stop "$prom"
  pstate=$(awk '{print $3}' "/proc/$ppid/stat" 2>/dev/null) # gone, or a zombie (Z) awaiting its reaper
  if { [ -n "$pstate" ] && [ "$pstate" != Z ]; } || [ -e "$prom/prometheus.pid" ]; then bad "scripts/prometheus.sh stop left pid $ppid"
  else ok "scripts/prometheus.sh stop ended pid $ppid"; fi
else
  bad "scripts/prometheus.sh start"; tail -20 "$prom/prometheus.log" 2>/dev/null
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
