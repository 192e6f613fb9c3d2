#!/usr/bin/env bash
# prom-up.sh - asks a running Prometheus (HTTP API) whether it scrapes what it should. Reusable by
# scripts/cluster.sh's check and by tests once the services expose the metrics of docs/operations.md.
#
#   tests/monitoring/prom-up.sh URL [options] SERVICE=N...
#     every SERVICE (the `job` label) has exactly N targets and all of them are up == 1
#   options:
#     --timeout S   keep asking for up to S seconds (wall clock) before failing (default 60)
#     --rates       also: every SERVICE has a non-zero request rate,
#                   sum by (job) (rate(http_requests_total[1m])) > 0 (send some traffic first)
#     --rules       also: every alert of deploy/prometheus/rules.yml is loaded, with health "ok"
#     --down        expect the opposite of up: every target of each SERVICE is up == 0 (N of them)
# Prints PASS/FAIL lines; exit 0 when everything holds. Needs curl and jq.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
url=${1:?usage: prom-up.sh URL [--timeout S] [--rates] [--rules] [--down] SERVICE=N...}
shift
timeout_s=60 rates=0 rules=0 want_up=1
specs=()
while [ $# -gt 0 ]; do
  case $1 in
  --timeout) timeout_s=$2; shift 2 ;;
  --rates) rates=1; shift ;;
  --rules) rules=1; shift ;;
  --down) want_up=0; shift ;;
  *=*) specs+=("$1"); shift ;;
  *) echo "prom-up.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ ${#specs[@]} -gt 0 ] || { echo "prom-up.sh: name at least one SERVICE=N" >&2; exit 2; }

query() { # PROMQL -> JSON result array (empty array on any error)
  curl -s --max-time 5 --get --data-urlencode "query=$1" "$url/api/v1/query" 2>/dev/null \
    | jq -c 'if .status == "success" then .data.result else [] end' 2>/dev/null || echo '[]'
}

# One round of every check; prints the failures to stdout (nothing = all good).
round() {
  local spec svc n total good r
  for spec in "${specs[@]}"; do
    svc=${spec%%=*} n=${spec#*=}
    r=$(query "up{job=\"$svc\"}")
    total=$(jq 'length' <<<"$r")
    good=$(jq --arg v "$want_up" '[.[] | select(.value[1] == $v)] | length' <<<"$r")
    if [ "$total" != "$n" ] || [ "$good" != "$n" ]; then
      echo "$svc: $good of $total targets have up == $want_up, want $n of $n ($(jq -c '[.[] | {pod: .metric.pod, instance: .metric.instance, up: .value[1]}]' <<<"$r"))"
    fi
    if [ "$rates" = 1 ]; then
      r=$(query "sum by (job) (rate(http_requests_total{job=\"$svc\"}[1m])) > 0")
      [ "$(jq 'length' <<<"$r")" = 1 ] || echo "$svc: no non-zero request rate (sum by (job) (rate(http_requests_total[1m])))"
    fi
  done
  if [ "$rules" = 1 ]; then
    local want have
    want=$(grep -oE '^ *- alert: [A-Za-z0-9_]+' "$ROOT/deploy/prometheus/rules.yml" | awk '{print $3}' | sort)
    have=$(curl -s --max-time 5 "$url/api/v1/rules?type=alert" 2>/dev/null \
      | jq -r '.data.groups[].rules[] | select(.health == "ok") | .name' 2>/dev/null | sort)
    [ "$want" = "$have" ] || echo "alert rules loaded with health ok differ from deploy/prometheus/rules.yml: $(comm -3 <(echo "$want") <(echo "$have") | tr -s '\t\n' '  ')"
  fi
}

end=$(( $(date +%s) + timeout_s ))
while :; do
  problems=$(round)
  [ -z "$problems" ] && break
  [ "$(date +%s)" -lt "$end" ] || break
  sleep 1
done
if [ -n "$problems" ]; then
  while IFS= read -r l; do echo "FAIL  $l"; done <<<"$problems"
  exit 1
fi
for spec in "${specs[@]}"; do
  echo "PASS  ${spec%%=*}: ${spec#*=} target(s), all up == $want_up$([ "$rates" = 1 ] && echo ', request rate > 0')"
done
[ "$rules" = 1 ] && echo "PASS  every alert of deploy/prometheus/rules.yml is loaded (health ok)"
exit 0
