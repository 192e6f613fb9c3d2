#!/usr/bin/env bash
# k8s_manifests.sh - offline checks of the Kubernetes manifests: every overlay (k8s/overlays/dev,
# prod), the base and the Gateway API variant (tests/k8s/variants/gateway) rendered with
# `kubectl kustomize`; every built-in object validated against the Kubernetes schemas (npm
# kubernetes-models, strict fields), every custom resource (Gateway API, Traefik, Envoy Gateway)
# against its vendored CRD with unknown fields rejected, plus a fixture of invalid Gateway API
# objects that must be rejected; then the policies of tests/k8s/check.mjs (probes on the admin
# port, NetworkPolicy flows, labels, external Secrets, each service's environment == its `--help`
# variables, ...) and the route list deploy/public-routes.txt against the Ingress, the HTTPRoutes
# and the public OpenAPI documents. Installs tests/k8s/node_modules with `npm ci` once.
#
# CRD schemas (tests/k8s/crd.mjs, see tests/k8s/crds/README.md): the upstream CRD files found in
# tests/k8s/crds/, $K8S_CRDS_DIR, <repo>/../shared/vendor/k8s-crds/ or <repo>/../../shared/vendor/k8s-crds/
# (the shared folders skipped with K8S_CRDS_NO_SHARED=1), else the npm packages pinned in
# tests/k8s/package-lock.json; the check prints which source each API group used, and fails when
# a group has neither.
set -uo pipefail
. "$(dirname "$0")/lib/checks.bash"

ensure_k8s_tools || exit 1
command -v kubectl >/dev/null || die "kubectl is not installed (it renders the kustomizations)"
kdir=$SOURCE_DIR/tests/k8s
for b in "$CATALOG_BIN" "$ORDER_BIN"; do [ -x "$b" ] || die "$b not built"; done
run_tmp k8s
"$CATALOG_BIN" --help >"$RUN_TMP/catalog-help.txt" 2>&1 || die "catalog-service --help failed"
"$ORDER_BIN" --help >"$RUN_TMP/order-help.txt" 2>&1 || die "order-service --help failed"

# Each kustomization must also render with kubectl alone (what a platform team runs).
for d in k8s/base k8s/overlays/dev k8s/overlays/prod tests/k8s/variants/gateway; do
  if kubectl kustomize "$SOURCE_DIR/$d" >"$RUN_TMP/$(echo "$d" | tr / -).yaml" 2>"$RUN_TMP/kustomize.err"; then
    ok "kubectl kustomize $d"
  else cat "$RUN_TMP/kustomize.err"; bad "kubectl kustomize $d"; fi
done

node "$kdir/check.mjs" --root "$SOURCE_DIR" --out "$RUN_TMP" \
  --vars "catalog-service=$RUN_TMP/catalog-help.txt" --vars "order-service=$RUN_TMP/order-help.txt" \
  || bad "k8s manifest checks (see FAIL lines above)"
finish
