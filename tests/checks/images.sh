#!/usr/bin/env bash
# images.sh - build both container images with podman and prove them:
#   - size <= IMAGE_MAX_BYTES (30 MB), numeric non-root user, EXPOSE 8000, no shell inside;
#   - on a fresh database (the ctest PostgreSQL fixture, set up with the roles: scripts/db-setup.sh):
#     the migration container (catalog image, `--migrate`, as the owner bookstore_owner) runs,
#     concurrently with the order image's, and again (idempotent);
#   - one container per service, --network host on free ports, read-only root filesystem, all
#     capabilities dropped, with the environment k8s/base/{catalog,orders}.env + the Secrets' DATABASE_URL give
#     (each service as its own login role, catalog_app / orders_app, as in Kubernetes);
#   - start -> /ready 200 time measured; tests/smoke.sh passes against the containers;
#   - `podman stop` (SIGTERM to PID 1) ends each container with status 0;
#   - the Kubernetes pod specs themselves (rendered k8s/: init container `--migrate`, env from the
#     ConfigMap and the Secrets bookstore-db-owner/-catalog/-orders, securityContext) run under
#     `podman kube play` (host network, 1 replica each): migrations applied by the owner, both
#     ready and connected as their own roles, no capabilities, the smoke story passes.
# Figures are printed and written to $BUILD_DIR/image-figures.txt (used in README).
# Without podman this FAILS (it does not pass silently): install podman runc debootstrap catatonit.
#
# Isolation: several runs of this check may share the machine (other build folders, a CI clone).
# Every podman object (containers, pods, secret, volume, image tag) and database this run uses is
# named after RUN_ID, and all of them are removed on every exit path.
set -uo pipefail
. "$(dirname "$0")/lib/checks.bash"

IMAGE_MAX_BYTES=${IMAGE_MAX_BYTES:-30000000}
TAG=$(awk '/^  - name: catalog-service$/ {f = 1; next} f && /newTag:/ {gsub(/[" ]|newTag:/, ""); print; exit}' "$SOURCE_DIR/k8s/base/kustomization.yaml")
TAG=${TAG:-0.1.0}
run_tmp images
# The images get the release tag $TAG (what a user deploys) and a per-run tag; everything this run
# starts uses the per-run tag, so a concurrent run building $TAG from another tree cannot swap the
# image under it.
RUN_TAG=ci-$RUN_ID
CAT_IMG=localhost/bookstore/catalog-service:$RUN_TAG
ORD_IMG=localhost/bookstore/order-service:$RUN_TAG
figures=$BUILD_DIR/image-figures.txt
DB_IMAGES=bookstore_images_$RUN_ID
DB_KUBEPLAY=bookstore_kubeplay_$RUN_ID
# Bounded waits, generous for a loaded machine (load average 10+ on 2 cores).
READY_TIMEOUT_S=${READY_TIMEOUT_S:-120}
KUBE_READY_TIMEOUT_S=${KUBE_READY_TIMEOUT_S:-240}

names=()
bg_pids=()
KP_CAT=catalog-service-$RUN_ID KP_ORD=order-service-$RUN_ID KP_VOL=tmp-$RUN_ID
KP_SECRETS=() # podman secrets created for kube play (one per external Secret, named <name>-RUN_ID)
KP_PODS=("$KP_CAT-pod-0" "$KP_ORD-pod-0")
play=$RUN_TMP/kube-play.yaml
cleanup() {
  local n p
  trap - EXIT INT TERM
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in "${names[@]}"; do podman rm -f -t 2 "$n" >/dev/null 2>&1 || true; done
  [ -f "$play" ] && podman kube down "$play" >/dev/null 2>&1
  for n in "${KP_PODS[@]}"; do
    if podman pod exists "$n" 2>/dev/null; then podman pod rm -f -t 2 "$n" >/dev/null 2>&1 || true; fi
  done
  for n in "${KP_SECRETS[@]}"; do podman secret rm "$n" >/dev/null 2>&1 || true; done
  podman volume rm -f "$KP_VOL" >/dev/null 2>&1 || true
  podman rmi "$CAT_IMG" "$ORD_IMG" >/dev/null 2>&1 || true # removes the per-run tags; $TAG stays
  drop_db "$DB_IMAGES"
  drop_db "$DB_KUBEPLAY"
  if [ -z "${TEST_PG_URL_FILE:-}" ]; then # a private server (no ctest fixture) is stopped again
    for n in "$DB_IMAGES" "$DB_KUBEPLAY"; do
      if [ -d "$TEST_TMPDIR/pg-$n" ]; then "$PG_SCRIPT" stop "$TEST_TMPDIR/pg-$n" >/dev/null 2>&1 || true; fi
    done
  fi
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v podman >/dev/null || die "podman is not installed: cannot build/test images (apt-get install podman runc debootstrap catatonit)"
. "$SOURCE_DIR/scripts/podman-env.sh" || die "podman environment/base image could not be prepared"
command -v psql >/dev/null || die "psql is required"

now_ms() { date +%s%3N; }
# started_ms NAME: when the container's process was started (podman's State.StartedAt), epoch ms.
started_ms() {
  local ts
  ts=$(podman inspect --format '{{.State.StartedAt}}' "$1" 2>/dev/null | sed -E 's/ [A-Z]+$//')
  date -d "$ts" +%s%3N 2>/dev/null || now_ms
}

# 1. Build.
for svc in catalog order; do
  img=localhost/bookstore/$svc-service
  t0=$(now_ms)
  if podman build --pull=never --network host -q -f "$SOURCE_DIR/docker/$svc.Dockerfile" \
    -t "$img:$TAG" -t "$img:$RUN_TAG" "$SOURCE_DIR" >"$RUN_TMP/build-$svc.log" 2>&1; then
    ok "build $svc image ($(( ($(now_ms) - t0) / 1000 )) s)"
  else
    tail -30 "$RUN_TMP/build-$svc.log"
    die "podman build docker/$svc.Dockerfile failed"
  fi
done

# 2. Static properties.
: >"$RUN_TMP/figures.txt"
for img in "$CAT_IMG" "$ORD_IMG"; do
  size=$(podman image inspect --format '{{.Size}}' "$img")
  user=$(podman image inspect --format '{{.Config.User}}' "$img")
  ports=$(podman image inspect --format '{{range $k, $v := .Config.ExposedPorts}}{{$k}} {{end}}' "$img")
  mb=$(awk -v s="$size" 'BEGIN {printf "%.1f", s / 1000000}')
  echo "image ${img%:*}:$TAG: $size bytes ($mb MB)" | tee -a "$RUN_TMP/figures.txt"
  if [ "$size" -le "$IMAGE_MAX_BYTES" ]; then ok "$img is $mb MB <= $((IMAGE_MAX_BYTES / 1000000)) MB"
  else bad "$img is $mb MB > $((IMAGE_MAX_BYTES / 1000000)) MB"; fi
  case $user in 10001:10001) ok "$img runs as $user" ;; *) bad "$img user is '$user', want 10001:10001" ;; esac
  case $ports in *8000/tcp*) ok "$img exposes 8000" ;; *) bad "$img does not EXPOSE 8000 ($ports)" ;; esac
  n=bs-shell-$RUN_ID; names+=("$n")
  if podman run --rm --name "$n" --network host --entrypoint /bin/sh "$img" -c true >/dev/null 2>&1; then
    bad "$img contains a shell"
  else
    ok "$img has no shell"
  fi
done

# 3. Database and migrations (both images at once: advisory lock; then again: idempotent).
db_url=$(fresh_db "$DB_IMAGES") || die "cannot create a test database"
eval "$(db_role_urls "$DB_IMAGES")" || die "no role URLs for $DB_IMAGES"
svc_db_url() { if [ "$1" = catalog ]; then echo "$DATABASE_URL_CATALOG"; else echo "$DATABASE_URL_ORDERS"; fi; }
run_migrate() { # IMAGE NAME
  podman run --rm --network host --read-only --cap-drop ALL --security-opt no-new-privileges \
    --name "$2" -e DATABASE_URL="$db_url" "$1" --migrate >"$RUN_TMP/$2.log" 2>&1
}
ma=bs-migrate-a-$RUN_ID mb=bs-migrate-b-$RUN_ID mc=bs-migrate-c-$RUN_ID
names+=("$ma" "$mb" "$mc")
run_migrate "$CAT_IMG" "$ma" & pa=$!
run_migrate "$ORD_IMG" "$mb" & pb=$!
bg_pids+=("$pa" "$pb")
ra=0; rb=0
wait "$pa" || ra=$?
wait "$pb" || rb=$?
if [ "$ra" = 0 ] && [ "$rb" = 0 ]; then ok "two concurrent migration containers succeed"
else cat "$RUN_TMP/$ma.log" "$RUN_TMP/$mb.log"; bad "concurrent migrations failed ($ra/$rb)"; fi
if run_migrate "$CAT_IMG" "$mc"; then ok "re-running the migration container is a no-op success"
else cat "$RUN_TMP/$mc.log"; bad "migration re-run failed"; fi
if [ "$(psql "$db_url" -Atc "select to_regclass('books') is not null and to_regclass('orders') is not null")" = t ]; then
  ok "schema present after migration"
else
  bad "books/orders tables missing after migration"
fi

scripts_token() { bash "$SOURCE_DIR/scripts/token.sh" "$@"; }
# 4. One container per service, the manifests' environment, hardened like the pod spec.
start_container() { # SVC IMAGE PORT NAME [extra -e ...]
  local svc=$1 img=$2 port=$3 name=$4 envs=() kv
  shift 4
  while IFS= read -r kv; do
    # Per process on the shared host network: the ports; BASE_PATH and CATALOG_BASE_PATH left out
    # (the smoke story calls the catalog at its root, as with `make run`).
    case $kv in PORT=*|ADMIN_PORT=*|BASE_PATH=*|CATALOG_BASE_PATH=*|CATALOG_SERVICE_URL=*) ;; *) envs+=(-e "$kv") ;; esac
  done < <(bash "$SOURCE_DIR/scripts/cluster.sh" manifest-env "$svc")
  # Authentication on (docs/auth.md): a dev JWKS given inline (no mount) and an internal token.
  [ -s "$RUN_TMP/auth/jwks.json" ] || bash "$SOURCE_DIR/scripts/devkeys.sh" "$RUN_TMP/auth" >/dev/null
  envs+=(-e "AUTH_JWKS=$(cat "$RUN_TMP/auth/jwks.json")" -e AUTH_ISSUER=http://localhost/dev
         -e AUTH_AUDIENCE=bookstore -e "INTERNAL_API_TOKEN=images-check-internal-token-0123456789abcdef")
  # Host network: each container needs its own admin port (the default 9000 would collide).
  podman run -d --network host --read-only --cap-drop ALL --security-opt no-new-privileges \
    --name "$name" "${envs[@]}" -e PORT="$port" -e ADMIN_PORT="$(free_port)" \
    -e DATABASE_URL="$(svc_db_url "$svc")" "$@" "$img" >/dev/null
}
cat_port=$(free_port); ord_port=$(free_port)
while [ "$ord_port" = "$cat_port" ]; do ord_port=$(free_port); done
cat_name=bs-catalog-$RUN_ID; ord_name=bs-order-$RUN_ID
names+=("$cat_name" "$ord_name")

t0=$(now_ms)
start_container catalog "$CAT_IMG" "$cat_port" "$cat_name" || bad "catalog container did not start"
if wait_200 "http://127.0.0.1:$cat_port/ready" "$READY_TIMEOUT_S"; then
  t1=$(now_ms); ms=$(( t1 - t0 )); ps=$(( t1 - $(started_ms "$cat_name") ))
  ok "catalog container: podman run -> /ready 200 in $ms ms (process start -> ready $ps ms)"
  echo "catalog-service start->ready: $ms ms from podman run, $ps ms from container start" >>"$RUN_TMP/figures.txt"
else
  podman logs "$cat_name" 2>&1 | tail -20; bad "catalog container never became ready (${READY_TIMEOUT_S} s)"
fi
t0=$(now_ms)
start_container order "$ORD_IMG" "$ord_port" "$ord_name" -e CATALOG_SERVICE_URL="http://127.0.0.1:$cat_port" \
  || bad "order container did not start"
if wait_200 "http://127.0.0.1:$ord_port/ready" "$READY_TIMEOUT_S"; then
  t1=$(now_ms); ms=$(( t1 - t0 )); ps=$(( t1 - $(started_ms "$ord_name") ))
  ok "order container: podman run -> /ready 200 in $ms ms (process start -> ready $ps ms)"
  echo "order-service start->ready: $ms ms from podman run, $ps ms from container start" >>"$RUN_TMP/figures.txt"
else
  podman logs "$ord_name" 2>&1 | tail -20; bad "order container never became ready (${READY_TIMEOUT_S} s)"
fi

rss() { # NAME -> VmRSS of the container's PID 1 in KiB
  local pid
  pid=$(podman inspect --format '{{.State.Pid}}' "$1" 2>/dev/null) || return 0
  awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null
}
users=$(psql "$db_url" -Atc "select string_agg(distinct usename, ',' order by usename) from pg_stat_activity
  where datname = current_database() and pid <> pg_backend_pid()")
if [ "$users" = catalog_app,orders_app ]; then ok "the containers connect as catalog_app and orders_app"
else bad "the containers' database users are '$users', want catalog_app,orders_app"; fi
echo "RSS idle: catalog $(rss "$cat_name") KiB, order $(rss "$ord_name") KiB" | tee -a "$RUN_TMP/figures.txt"

# 5. The smoke story against the containers, with tokens from scripts/token.sh signed by this run's
# dev key (the containers' AUTH_JWKS).
if BOOKSTORE_ADMIN_TOKEN=$(AUTH_DEV_KEYS=$RUN_TMP/auth scripts_token --role admin --iss http://localhost/dev) \
   BOOKSTORE_CUSTOMER_TOKEN=$(AUTH_DEV_KEYS=$RUN_TMP/auth scripts_token --role customer --iss http://localhost/dev) \
   CATALOG_URL=http://127.0.0.1:$cat_port ORDER_URL=http://127.0.0.1:$ord_port bash "$SOURCE_DIR/tests/smoke.sh"; then
  ok "tests/smoke.sh against the containers"
else
  podman logs "$cat_name" 2>&1 | tail -5; podman logs "$ord_name" 2>&1 | tail -5
  bad "tests/smoke.sh against the containers"
fi
echo "RSS after smoke: catalog $(rss "$cat_name") KiB, order $(rss "$ord_name") KiB" | tee -a "$RUN_TMP/figures.txt"

# 6. Graceful stop: SIGTERM to PID 1 ends with status 0 well before the kill deadline.
for n in "$ord_name" "$cat_name"; do
  t0=$(now_ms)
  podman stop -t 15 "$n" >/dev/null 2>&1
  code=$(podman inspect --format '{{.State.ExitCode}}' "$n" 2>/dev/null)
  ms=$(( $(now_ms) - t0 ))
  if [ "$code" = 0 ]; then ok "$n stopped on SIGTERM with status 0 in $ms ms"
  else podman logs "$n" 2>&1 | tail -5; bad "$n exit status after SIGTERM: $code"; fi
done

# 7. The manifests' pod specs under `podman kube play`. Names are per run (Deployments
# catalog-service-$RUN_ID / order-service-$RUN_ID -> pods <name>-pod-0, containers
# <pod>-<container>; secrets bookstore-db-{owner,catalog,orders}-$RUN_ID and
# bookstore-internal-token-$RUN_ID; volume tmp-$RUN_ID); see kube-play-local.mjs.
kube_diag() {
  local p
  for p in "${KP_PODS[@]}"; do
    echo "--- pod $p"
    podman ps -a --filter "pod=$p" --format '{{.Names}} {{.Status}}' 2>&1
    podman logs --tail 5 "$p-${p%-"$RUN_ID"-pod-0}" 2>&1
  done
  cat "$RUN_TMP/kube-play.log"
}
kube_play() {
  local kp_db kc ko rendered=$RUN_TMP/k8s-rendered.yaml secret_dir=$RUN_TMP/kube-play-secrets n pid capeff f users
  ensure_k8s_tools || { bad "kube play: npm tools unavailable"; return; }
  command -v catatonit >/dev/null || [ -x /usr/libexec/podman/catatonit ] \
    || { bad "kube play needs catatonit (podman's pause binary): apt-get install catatonit"; return; }
  kp_db=$(fresh_db "$DB_KUBEPLAY") || { bad "kube play: no database"; return; }
  # The Secrets bookstore-db-catalog/-orders hold the login roles' URLs, bookstore-db-owner the owner's.
  export KUBE_PLAY_DATABASE_URL_CATALOG KUBE_PLAY_DATABASE_URL_ORDERS
  KUBE_PLAY_DATABASE_URL_CATALOG=$(eval "$(db_role_urls "$DB_KUBEPLAY")"; echo "$DATABASE_URL_CATALOG")
  KUBE_PLAY_DATABASE_URL_ORDERS=$(eval "$(db_role_urls "$DB_KUBEPLAY")"; echo "$DATABASE_URL_ORDERS")
  kc=$(free_port); ko=$(free_port)
  while [ "$ko" = "$kc" ]; do ko=$(free_port); done
  # Both pods share the host network: distinct admin ports (ADMIN_PORT in their ConfigMaps).
  export KUBE_PLAY_ADMIN_PORTS KUBE_PLAY_AUTH_JWKS
  [ -s "$RUN_TMP/auth/jwks.json" ] || bash "$SOURCE_DIR/scripts/devkeys.sh" "$RUN_TMP/auth" >/dev/null
  KUBE_PLAY_AUTH_JWKS=$(cat "$RUN_TMP/auth/jwks.json")
  KUBE_PLAY_ADMIN_PORTS="$(free_port),$(free_port)"
  if ! node "$SOURCE_DIR/tests/k8s/check.mjs" --dir "$SOURCE_DIR/k8s" --render-only --render "$rendered" ||
    ! node "$SOURCE_DIR/tests/k8s/kube-play-local.mjs" "$rendered" "$play" "$secret_dir" "$kp_db" "$kc" "$ko" \
      "$RUN_ID" "$RUN_TAG"; then
    bad "kube play: rendering failed"; return
  fi
  for f in "$secret_dir"/*.json; do
    n=$(basename "$f" .json)
    podman secret create "$n" "$f" >/dev/null || { bad "kube play: podman secret create $n failed"; return; }
    KP_SECRETS+=("$n")
  done
  if ! podman kube play "$play" >"$RUN_TMP/kube-play.log" 2>&1; then
    cat "$RUN_TMP/kube-play.log"; bad "podman kube play of the k8s/ Deployments failed"; return
  fi
  if wait_200 "http://127.0.0.1:$kc/ready" "$KUBE_READY_TIMEOUT_S" && wait_200 "http://127.0.0.1:$ko/ready" "$KUBE_READY_TIMEOUT_S"; then
    ok "kube play: catalog-service and order-service pods (init container --migrate, ConfigMap + Secret env) ready"
  else
    kube_diag; bad "kube play: pods not ready within ${KUBE_READY_TIMEOUT_S} s"; return
  fi
  if [ "$(psql "$kp_db" -Atc "select count(*) > 0 and (select tableowner from pg_tables where tablename = 'books') = 'bookstore_owner' from schema_migrations" 2>/dev/null)" = t ]; then
    ok "kube play: the migrate init container applied the migrations as the owner"
  else bad "kube play: no migrations recorded, or not by bookstore_owner (init container did not run?)"; fi
  users=$(psql "$kp_db" -Atc "select string_agg(distinct usename, ',' order by usename) from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid()")
  if [ "$users" = catalog_app,orders_app ]; then ok "kube play: the pods connect as catalog_app and orders_app (Secrets bookstore-db-catalog/-orders)"
  else bad "kube play: the pods' database users are '$users', want catalog_app,orders_app"; fi
  for n in "$KP_CAT-pod-0-catalog-service" "$KP_ORD-pod-0-order-service"; do
    pid=$(podman inspect --format '{{.State.Pid}}' "$n" 2>/dev/null)
    capeff=$(awk '/^CapEff/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    if [ "$(podman inspect --format '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}' "$n")" = "10001:10001 true" ] &&
      [ "$capeff" = 0000000000000000 ] && [ "$(awk '/^Uid/ {print $2}' "/proc/$pid/status")" = 10001 ]; then
      ok "kube play: $n runs as uid 10001, read-only root, no capabilities (CapEff $capeff)"
    else
      bad "kube play: $n security context not applied (user/readonly/CapEff=$capeff)"
    fi
  done
  # Tokens for the manifests' issuer and audience, signed by the dev key whose JWKS the pods got.
  iss=$(bash "$SOURCE_DIR/scripts/cluster.sh" manifest-env catalog | sed -n 's/^AUTH_ISSUER=//p')
  aud=$(bash "$SOURCE_DIR/scripts/cluster.sh" manifest-env catalog | sed -n 's/^AUTH_AUDIENCE=//p')
  if BOOKSTORE_ADMIN_TOKEN=$(AUTH_DEV_KEYS=$RUN_TMP/auth scripts_token --role admin --iss "$iss" --aud "$aud") \
     BOOKSTORE_CUSTOMER_TOKEN=$(AUTH_DEV_KEYS=$RUN_TMP/auth scripts_token --role customer --iss "$iss" --aud "$aud") \
     CATALOG_URL=http://127.0.0.1:$kc ORDER_URL=http://127.0.0.1:$ko bash "$SOURCE_DIR/tests/smoke.sh" >"$RUN_TMP/kube-play-smoke.log" 2>&1; then
    ok "kube play: tests/smoke.sh against the pods"
  else cat "$RUN_TMP/kube-play-smoke.log"; kube_diag; bad "kube play: smoke failed"; fi
}
kube_play

cleanup
# Nothing of this run may be left behind.
left=$(podman ps -a --format '{{.Names}}' 2>/dev/null | grep -F -- "$RUN_ID" || true)
left+=$(podman pod ps --format '{{.Name}}' 2>/dev/null | grep -F -- "$RUN_ID" || true)
if [ -z "$left" ]; then ok "no container or pod of this run is left"; else bad "left behind: $left"; fi
mv "$RUN_TMP/figures.txt" "$figures.tmp.$RUN_ID" && mv "$figures.tmp.$RUN_ID" "$figures"
cat "$figures"
finish
