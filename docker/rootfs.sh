#!/bin/sh
# rootfs.sh BINARY DEST - assemble the complete filesystem of a `scratch` runtime image under DEST.
#
# Runs in the Dockerfile build stage (Debian). DEST receives:
#   /usr/local/bin/<name>          the stripped binary
#   every shared library it loads  (the ldd closure + the ELF interpreter, paths preserved)
#   /etc/ssl/certs/ca-certificates.crt, /etc/nsswitch.conf, /etc/hosts-free name resolution files
#   /etc/passwd, /etc/group        root + the numeric non-root user 10001 ("app")
#   /migrations                    db/migrations (read by `<binary> --migrate`, MIGRATIONS_DIR)
#   /tmp                           an empty sticky directory (mounted as emptyDir on Kubernetes)
# No shell and no package manager end up in DEST. Fails (exit 1) on any missing piece.
set -eu
bin=$1
dest=$2
name=$(basename "$bin")

mkdir -p "$dest/usr/local/bin" "$dest/etc/ssl/certs" "$dest/tmp" "$dest/migrations"
chmod 1777 "$dest/tmp"
cp "$bin" "$dest/usr/local/bin/$name"
strip --strip-unneeded "$dest/usr/local/bin/$name"
chmod 0755 "$dest/usr/local/bin/$name"

# Shared-library closure: ldd resolves it transitively. Copy the real files (-L) under the path the
# loader will look for, and keep the interpreter at the absolute path recorded in the ELF header.
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
[ -n "$libs" ] || { echo "rootfs.sh: ldd found no libraries for $bin" >&2; exit 1; }
if ldd "$bin" | grep -q 'not found'; then ldd "$bin" >&2; exit 1; fi
for lib in $libs; do
	mkdir -p "$dest$(dirname "$lib")"
	cp -L "$lib" "$dest$lib"
done

# TLS trust store (libcurl/libpq verify peers with it), name resolution and users.
cp -L /etc/ssl/certs/ca-certificates.crt "$dest/etc/ssl/certs/ca-certificates.crt"
cat >"$dest/etc/nsswitch.conf" <<'NSS'
passwd:   files
group:    files
hosts:    files dns
networks: files
services: files
NSS
printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:10001:10001:app:/nonexistent:/sbin/nologin\n' >"$dest/etc/passwd"
printf 'root:x:0:\napp:x:10001:\n' >"$dest/etc/group"
# Kubernetes mounts its own /etc/hosts and /etc/resolv.conf; podman does too. Leave placeholders so
# the files exist for a plain `podman run` without them.
printf '127.0.0.1 localhost\n::1 localhost\n' >"$dest/etc/hosts"
: >"$dest/etc/resolv.conf"

# Migrations: every numbered SQL file of the repository (both services' schemas live in one chain).
cp /src/db/migrations/*.sql "$dest/migrations/"
chmod 0644 "$dest/migrations/"*.sql

echo "rootfs.sh: $name closure:" && (cd "$dest" && find . -type f | sort | xargs du -k | sort -n | tail -40)
du -sk "$dest"
