#!/usr/bin/env bash
# podman-env.sh - make podman usable on a machine without a Docker engine or registry access.
#
# Source it (`. scripts/podman-env.sh`) or run it (`scripts/podman-env.sh [print]`).
# - Writes a containers.conf (runc runtime, cgroupfs manager, no default ulimits: the default crun
#   runtime fails on cgroups/rlimits here) under $PODMAN_ENV_DIR (default $HOME/.cache/bookstore-podman)
#   and exports CONTAINERS_CONF pointing at it.
# - Ensures the build base image docker.io/library/debian:bookworm-slim exists. When it does not
#   (no registry reachable), it is created once with debootstrap --variant=minbase from the apt mirror
#   configured on this machine and `podman import`ed; the rootfs tarball is cached so a later import
#   takes seconds. On a normal machine with registry access the image is simply pulled by podman.
# Returns non-zero (when run) or leaves PODMAN_ENV_OK=0 (when sourced) if podman is unavailable.
# Serialised with flock so concurrent callers (parallel ctest) create the base image only once.

podman_env_main() {
  local dir conf base mirror rootfs tarball lock
  dir=${PODMAN_ENV_DIR:-${HOME:-/root}/.cache/bookstore-podman}
  conf=$dir/containers.conf
  base=docker.io/library/debian:bookworm-slim
  PODMAN_ENV_OK=0
  if ! command -v podman >/dev/null 2>&1; then
    echo "podman-env: podman is not installed (apt-get install podman runc debootstrap)" >&2
    return 1
  fi
  mkdir -p "$dir" || return 1
  # `podman kube play` builds its pause image from catatonit (scripts/bootstrap.sh installs it; a
  # test must not run apt-get: concurrent runs would fight over the dpkg lock).
  if ! command -v catatonit >/dev/null 2>&1 && [ ! -x /usr/libexec/podman/catatonit ]; then
    echo "podman-env: catatonit is not installed; podman kube play will fail (apt-get install catatonit)" >&2
  fi
  if [ ! -f "$conf" ]; then
    cat >"$conf.tmp" <<'EOF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
    mv "$conf.tmp" "$conf"
  fi
  export CONTAINERS_CONF=$conf

  lock=$dir/base.lock
  exec 9>"$lock"
  flock 9
  if ! podman image exists "$base"; then
    # Try a normal pull first only when explicitly allowed (CI machines here have no registry).
    if [ "${PODMAN_TRY_PULL:-0}" = 1 ] && podman pull "$base" >/dev/null 2>&1; then
      :
    else
      tarball=$dir/debian-bookworm-minbase.tar
      if [ ! -s "$tarball" ]; then
        if ! command -v debootstrap >/dev/null 2>&1; then
          echo "podman-env: $base missing and debootstrap not installed" >&2
          flock -u 9; return 1
        fi
        mirror=${DEBIAN_MIRROR:-}
        if [ -z "$mirror" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
          mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
        fi
        if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
          mirror=$(awk '/^deb / && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
        fi
        mirror=${mirror:-http://deb.debian.org/debian}
        rootfs=$dir/rootfs.$$
        rm -rf "$rootfs"
        echo "podman-env: creating $base with debootstrap from $mirror (once, ~1-3 min)" >&2
        if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1; then
          tail -20 "$dir/debootstrap.log" >&2
          rm -rf "$rootfs"; flock -u 9; return 1
        fi
        # Make apt inside the image use the same mirror and drop caches (smaller base).
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$rootfs"
      fi
      if ! podman import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' "$tarball" "$base" >/dev/null; then
        echo "podman-env: podman import failed" >&2
        flock -u 9; return 1
      fi
    fi
  fi
  flock -u 9
  export PODMAN_ENV_OK=1
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  podman_env_main || exit 1
  if [ "${1:-}" = print ]; then echo "export CONTAINERS_CONF=$CONTAINERS_CONF"; fi
  exit 0
else
  podman_env_main
fi
