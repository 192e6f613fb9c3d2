#!/usr/bin/env bash
# images.sh - build both container images with podman and prove them:
#   - size <= IMAGE_MAX_BYTES (30 MB), numeric non-root user, EXPOSE 8000, no shell inside;
#   - on a fresh database (the ctest PostgreSQL fixture): the migration container (catalog image,
#     `--migrate`) runs, concurrently with the order image's, and again (idempotent);
#   - one container per service, --network host on free ports, read-only root filesystem, all
#     capabilities dropped, with the environment k8s/configmap.yaml + the Secret's DATABASE_URL give;
#   - start -> /ready 200 time measured; tests/smoke.sh passes against the containers;
#   - `podman stop` (SIGTERM to PID 1) ends each container with status 0.
# Figures are printed and written to $BUILD_DIR/image-figures.txt (used in README).
# Without podman this FAILS (it does not pass silently): install podman runc debootstrap.
set -uo pipefail
. "$(dirname "$0")/lib/checks.bash"

IMAGE_MAX_BYTES=${IMAGE_MAX_BYTES:-30000000}
TAG=$(awk '/name: bookstore\/catalog-service/ {getline; gsub(/[" ]|newTag:/, ""); print; exit}' "$SOURCE_DIR/k8s/kustomization.yaml")
TAG=${TAG:-0.1.0}
CAT_IMG=localhost/bookstore/catalog-service:$TAG
ORD_IMG=localhost/bookstore/order-service:$TAG
figures=$BUILD_DIR/image-figures.txt

command -v podman >/dev/null || die "podman is not installed: cannot build/test images (apt-get install podman runc debootstrap)"
. "$SOURCE_DIR/scripts/podman-env.sh" || die "podman environment/base image could not be prepared"
command -v psql >/dev/null || die "psql is required"

names=()
cleanup() {
  local n
  for n in "${names[@]}"; do podman rm -f -t 2 "$n" >/dev/null 2>&1 || true; done
  # A private server (no ctest fixture) is stopped again.
  if [ -z "${TEST_PG_URL_FILE:-}" ] && [ -d "$TEST_TMPDIR/pg-bookstore_images" ]; then
    "$PG_SCRIPT" stop "$TEST_TMPDIR/pg-bookstore_images"
  fi
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# 1. Build.
for svc in catalog order; do
  img=localhost/bookstore/$svc-service:$TAG
  t0=$(now_ms)
  if podman build --pull=never --network host -q -f "$SOURCE_DIR/docker/$svc.Dockerfile" -t "$img" "$SOURCE_DIR" \
    >"$TEST_TMPDIR/build-$svc.log" 2>&1; then
    ok "build $svc image ($(( ($(now_ms) - t0) / 1000 )) s)"
  else
    tail -30 "$TEST_TMPDIR/build-$svc.log"
    die "podman build docker/$svc.Dockerfile failed"
  fi
done

# 2. Static properties.
: >"$figures"
for img in "$CAT_IMG" "$ORD_IMG"; do
  size=$(podman image inspect --format '{{.Size}}' "$img")
  user=$(podman image inspect --format '{{.Config.User}}' "$img")
  ports=$(podman image inspect --format '{{range $k, $v := .Config.ExposedPorts}}{{$k}} {{end}}' "$img")
  mb=$(awk -v s="$size" 'BEGIN {printf "%.1f", s / 1000000}')
  echo "image $img: $size bytes ($mb MB)" | tee -a "$figures"
  if [ "$size" -le "$IMAGE_MAX_BYTES" ]; then ok "$img is $mb MB <= $((IMAGE_MAX_BYTES / 1000000)) MB"
  else bad "$img is $mb MB > $((IMAGE_MAX_BYTES / 1000000)) MB"; fi
  case $user in 10001:10001) ok "$img runs as $user" ;; *) bad "$img user is '$user', want 10001:10001" ;; esac
  case $ports in *8000/tcp*) ok "$img exposes 8000" ;; *) bad "$img does not EXPOSE 8000 ($ports)" ;; esac
  if podman run --rm --network host --entrypoint /bin/sh "$img" -c true >/dev/null 2>&1; then
    bad "$img contains a shell"
  else
    ok "$img has no shell"
  fi
done

# 3. Database and migrations (both images at once: advisory lock; then again: idempotent).
db_url=$(fresh_db bookstore_images) || die "cannot create a test database"
run_migrate() { # IMAGE NAME
  podman run --rm --network host --read-only --cap-drop ALL --security-opt no-new-privileges \
    --name "$2" -e DATABASE_URL="$db_url" "$1" --migrate >"$TEST_TMPDIR/$2.log" 2>&1
}
names+=(bs-migrate-a-$$ bs-migrate-b-$$ bs-migrate-c-$$)
run_migrate "$CAT_IMG" "bs-migrate-a-$$" & pa=$!
run_migrate "$ORD_IMG" "bs-migrate-b-$$" & pb=$!
ra=0; rb=0
wait "$pa" || ra=$?
wait "$pb" || rb=$?
if [ "$ra" = 0 ] && [ "$rb" = 0 ]; then ok "two concurrent migration containers succeed"
else cat "$TEST_TMPDIR/bs-migrate-a-$$.log" "$TEST_TMPDIR/bs-migrate-b-$$.log"; bad "concurrent migrations failed ($ra/$rb)"; fi
if run_migrate "$CAT_IMG" "bs-migrate-c-$$"; then ok "re-running the migration container is a no-op success"
else cat "$TEST_TMPDIR/bs-migrate-c-$$.log"; bad "migration re-run failed"; fi
if [ "$(psql "$db_url" -Atc "select to_regclass('books') is not null and to_regclass('orders') is not null")" = t ]; then
  ok "schema present after migration"
else
  bad "books/orders tables missing after migration"
fi

# 4. One container per service, the manifests' environment, hardened like the pod spec.
start_container() { # SVC IMAGE PORT NAME [extra -e ...]
  local svc=$1 img=$2 port=$3 name=$4 envs=() kv
  shift 4
  while IFS= read -r kv; do
    case $kv in PORT=*|CATALOG_SERVICE_URL=*) ;; *) envs+=(-e "$kv") ;; esac
  done < <(bash "$SOURCE_DIR/scripts/cluster.sh" manifest-env "$svc")
  podman run -d --network host --read-only --cap-drop ALL --security-opt no-new-privileges \
    --name "$name" "${envs[@]}" -e PORT="$port" -e DATABASE_URL="$db_url" "$@" "$img" >/dev/null
}
cat_port=$(free_port); ord_port=$(free_port)
while [ "$ord_port" = "$cat_port" ]; do ord_port=$(free_port); done
cat_name=bs-catalog-$$; ord_name=bs-order-$$
names+=("$cat_name" "$ord_name")

t0=$(now_ms)
start_container catalog "$CAT_IMG" "$cat_port" "$cat_name" || bad "catalog container did not start"
if wait_200 "http://127.0.0.1:$cat_port/ready" 30; then
  ms=$(( $(now_ms) - t0 ))
  ok "catalog container: podman run -> /ready 200 in $ms ms"
  echo "catalog-service start->ready: $ms ms (podman run to first /ready 200)" >>"$figures"
else
  podman logs "$cat_name" 2>&1 | tail -20; bad "catalog container never became ready"
fi
t0=$(now_ms)
start_container order "$ORD_IMG" "$ord_port" "$ord_name" -e CATALOG_SERVICE_URL="http://127.0.0.1:$cat_port" \
  || bad "order container did not start"
if wait_200 "http://127.0.0.1:$ord_port/ready" 30; then
  ms=$(( $(now_ms) - t0 ))
  ok "order container: podman run -> /ready 200 in $ms ms"
  echo "order-service start->ready: $ms ms (podman run to first /ready 200)" >>"$figures"
else
  podman logs "$ord_name" 2>&1 | tail -20; bad "order container never became ready"
fi

rss() { # NAME -> VmRSS of the container's PID 1 in KiB
  local pid
  pid=$(podman inspect --format '{{.State.Pid}}' "$1" 2>/dev/null) || return 0
  awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null
}
echo "RSS idle: catalog $(rss "$cat_name") KiB, order $(rss "$ord_name") KiB" | tee -a "$figures"

# 5. The smoke story against the containers.
if CATALOG_URL=http://127.0.0.1:$cat_port ORDER_URL=http://127.0.0.1:$ord_port bash "$SOURCE_DIR/tests/smoke.sh"; then
  ok "tests/smoke.sh against the containers"
else
  podman logs "$cat_name" 2>&1 | tail -5; podman logs "$ord_name" 2>&1 | tail -5
  bad "tests/smoke.sh against the containers"
fi
echo "RSS after smoke: catalog $(rss "$cat_name") KiB, order $(rss "$ord_name") KiB" | tee -a "$figures"

# 6. Graceful stop: SIGTERM to PID 1 ends with status 0 well before the kill deadline.
for n in "$ord_name" "$cat_name"; do
  t0=$(now_ms)
  podman stop -t 15 "$n" >/dev/null 2>&1
  code=$(podman inspect --format '{{.State.ExitCode}}' "$n" 2>/dev/null)
  ms=$(( $(now_ms) - t0 ))
  if [ "$code" = 0 ]; then ok "$n stopped on SIGTERM with status 0 in $ms ms"
  else podman logs "$n" 2>&1 | tail -5; bad "$n exit status after SIGTERM: $code"; fi
done

psql "$(cat "${TEST_PG_URL_FILE:-/dev/null}" 2>/dev/null || echo "${db_url%/*}/postgres")" -qc \
  "drop database if exists bookstore_images with (force)" >/dev/null 2>&1 || true
cat "$figures"
finish
