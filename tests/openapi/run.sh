#!/usr/bin/env bash
# run.sh (ctest check_openapi) - lints every OpenAPI document of the services with @redocly/cli,
# pinned in tests/openapi/package-lock.json (installed by .ci/run's npm loop, or here when
# missing): the public documents of both services and the catalog's internal one. Zero errors
# are required; warnings are printed. Config: tests/openapi/redocly.yaml.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
if [ ! -x node_modules/.bin/redocly ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
docs=("$root/catalog-service/openapi.json" "$root/catalog-service/openapi-internal.json"
      "$root/order-service/openapi.json" "$root/order-service/openapi-internal.json")
# --format=stylish: one line per problem; the exit status is non-zero on any error.
NO_UPDATE_NOTIFIER=1 REDOCLY_TELEMETRY=off timeout 300 node_modules/.bin/redocly lint \
  --config "$here/redocly.yaml" --format=stylish "${docs[@]}"
echo "check_openapi: ${#docs[@]} documents, zero errors"
