#!/usr/bin/env bash
# bootstrap.sh [SET...] - makes sure the Debian packages of the named sets are installed.
#
# Sets (each includes what it builds on; several may be named; no argument = all):
#   run      build and run the two services (make run, make build): compiler, cmake, the C
#            libraries, PostgreSQL, curl, jq
#   cluster  run + the local cluster (make up): nginx, Prometheus
#   bench    run + the load tools (make bench): wrk (pgbench comes with postgresql-contrib)
#   deploy   cluster + image builds and manifest checks: podman & co., node/npm
#   test     deploy + everything else the tests use (make test, .ci/run): clang for the fuzzer
#   all      every set
#
# As root: installs only what dpkg reports missing (apt-get update once, then apt-get install),
# so on a prepared machine it does nothing and takes a fraction of a second. As another user: prints
# the one apt command to run and exits 1 if anything is missing. SKIP_BOOTSTRAP=1 skips all of it
# (for machines that provide the tools some other way).
#
# As root it also makes sure the `postgres` user can reach the repository (PostgreSQL refuses to
# run as root, so the private test/run servers under build/ and .run/ run as `postgres`): directories
# above the repository that lack the "others may traverse" bit (e.g. /root, mode 700) get `o+x`.
set -euo pipefail

[ "${SKIP_BOOTSTRAP:-0}" = 1 ] && exit 0
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Add a new package to the smallest set that needs it.
set_run=(
  build-essential cmake pkg-config
  libmicrohttpd-dev libpq-dev libjansson-dev libcurl4-openssl-dev check
  libcjose-dev libssl-dev openssl
  postgresql postgresql-contrib
  curl jq
)
set_cluster=(nginx-light prometheus) # prometheus: make up starts it; promtool for the tests
set_bench=(wrk)
set_deploy=(podman runc debootstrap catatonit nodejs npm)
set_test=(clang libclang-rt-14-dev chromium) # chromium: tests/checks/docs_browser.sh

packages=()
add_set() {
  case $1 in
  run) packages+=("${set_run[@]}") ;;
  cluster) add_set run; packages+=("${set_cluster[@]}") ;;
  bench) add_set run; packages+=("${set_bench[@]}") ;;
  deploy) add_set cluster; packages+=("${set_deploy[@]}") ;;
  test) add_set deploy; packages+=("${set_test[@]}") ;;
  all) add_set test; add_set bench ;;
  *) echo "bootstrap: unknown package set '$1' (run, cluster, bench, deploy, test, all)" >&2; exit 2 ;;
  esac
}
[ $# -gt 0 ] || set -- all
for s in "$@"; do add_set "$s"; done
# shellcheck disable=SC2207
packages=($(printf '%s\n' "${packages[@]}" | awk '!seen[$0]++'))

# Packages whose job a binary from elsewhere may already do (e.g. NodeSource's nodejs ships npm and
# conflicts with Debian's npm package): skip them when the command exists.
declare -A provided_by=([nodejs]=node [npm]=npm)

missing=()
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${packages[@]}" 2>/dev/null || true)
for p in "${packages[@]}"; do
  if grep -q "^$p ii" <<<"$installed"; then continue; fi
  if [ -n "${provided_by[$p]:-}" ] && command -v "${provided_by[$p]}" >/dev/null 2>&1; then continue; fi
  missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The postgres user must be able to traverse to the repository (see the header comment).
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 \
   && ! runuser -u postgres -- test -x "$repo" 2>/dev/null; then
  d=$repo
  while [ "$d" != / ]; do
    if [ "$(stat -c %A "$d" | cut -c10)" != x ] && [ "$(stat -c %A "$d" | cut -c10)" != t ]; then
      echo "bootstrap: chmod o+x $d (so the postgres user can reach $repo)"
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
fi
exit 0
