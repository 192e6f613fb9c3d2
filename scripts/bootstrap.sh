#!/usr/bin/env bash
# bootstrap.sh - makes sure the Debian packages the suite needs are installed.
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

packages=(
  build-essential cmake pkg-config
  libmicrohttpd-dev libpq-dev libjansson-dev libcurl4-openssl-dev check
  libcjose-dev libssl-dev openssl
  postgresql postgresql-contrib
  curl jq wrk nginx-light
  clang libclang-rt-14-dev
  podman runc debootstrap catatonit
  nodejs npm
  prometheus
)

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
