#!/usr/bin/env bash
# k8s_manifests.sh - render k8s/ offline (no kubectl here), validate every object against the
# Kubernetes API schemas (npm kubernetes-models, strict fields), and run the policy checks in
# tests/k8s/check.mjs: probes, resources, security context, pinned images, Service selectors, Ingress
# backends, ConfigMap/Secret keys, the local nginx mirror, and the environment each container gets ==
# the variables its service lists in `--help`. Installs tests/k8s/node_modules with `npm ci` once.
set -uo pipefail
. "$(dirname "$0")/lib/checks.bash"

ensure_k8s_tools || exit 1
kdir=$SOURCE_DIR/tests/k8s
for b in "$CATALOG_BIN" "$ORDER_BIN"; do [ -x "$b" ] || die "$b not built"; done
"$CATALOG_BIN" --help >"$TEST_TMPDIR/catalog-help.txt" 2>&1 || die "catalog-service --help failed"
"$ORDER_BIN" --help >"$TEST_TMPDIR/order-help.txt" 2>&1 || die "order-service --help failed"

node "$kdir/check.mjs" --dir "$SOURCE_DIR/k8s" --render "$TEST_TMPDIR/k8s-rendered.yaml" \
  --vars "catalog-service=$TEST_TMPDIR/catalog-help.txt" --vars "order-service=$TEST_TMPDIR/order-help.txt" \
  --nginx "$SOURCE_DIR/deploy/nginx/bookstore.conf.tmpl" || bad "k8s manifest checks (see FAIL lines above)"

# The local nginx template must be a valid nginx configuration once filled in.
if command -v nginx >/dev/null; then
  d=$TEST_TMPDIR/nginx-syntax
  mkdir -p "$d/logs" "$d/nginx-tmp"
  sed -e "s#@DIR@#$d#g; s#@PORT@#18080#; s#@LIMIT_RPS@#1000#" \
      -e 's#^@CATALOG_SERVERS@$#        server 127.0.0.1:1;#; s#^@ORDER_SERVERS@$#        server 127.0.0.1:2;#' \
      -e 's#^@LIMITS@$#        limit_req zone=bookstore_rps burst=5000 nodelay;#' \
      "$SOURCE_DIR/deploy/nginx/bookstore.conf.tmpl" >"$d/nginx.conf"
  if nginx -t -q -p "$d" -c "$d/nginx.conf" 2>"$d/err"; then ok "deploy/nginx template is valid nginx syntax"
  else cat "$d/err"; bad "deploy/nginx template fails nginx -t"; fi
else
  echo "SKIP  nginx not installed: template syntax not checked"
fi
finish
