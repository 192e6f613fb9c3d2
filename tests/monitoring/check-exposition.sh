#!/usr/bin/env bash
# check-exposition.sh URL SERVICE - scrapes URL (a service's /metrics, e.g.
# http://127.0.0.1:9000/metrics on its admin port) and checks it: `promtool check metrics` (format
# and naming lint) and tests/monitoring/exposition.mjs (exactly the metrics, types and labels that
# docs/operations.md documents for SERVICE: catalog-service or order-service).
# For the services' own tests once they implement the contract; run.sh checks it on a fake target.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
url=${1:?usage: check-exposition.sh URL SERVICE}
svc=${2:?usage: check-exposition.sh URL SERVICE}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
if ! curl -sf --max-time 5 "$url" -o "$tmp"; then echo "FAIL  $svc: GET $url failed"; exit 1; fi
rc=0
if out=$(promtool check metrics <"$tmp" 2>&1); then echo "PASS  $svc: promtool check metrics"
else echo "$out" | sed 's/^/      /'; echo "FAIL  $svc: promtool check metrics"; rc=1; fi
node "$here/exposition.mjs" "$svc" "$tmp" || rc=1
exit $rc
